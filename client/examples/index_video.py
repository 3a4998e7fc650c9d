"""Index videos on whichever Video Indexer account vi-failover says is active, and read each
video's insights back from the account that holds it, whatever is active by then.

    python client/examples/index_video.py upload --video-url https://example.com/a.mp4 --name a
    python client/examples/index_video.py insights <video id>

Settings come from the VI_FAILOVER_* variables (client/README.md, "Settings"): at least
VI_FAILOVER_URL (and VI_FAILOVER_KEY in Azure). ARM tokens come from DefaultAzureCredential
(`pip install "vi-failover-client[azure]"`), whose identity needs Contributor on the VI accounts;
against the local stand-in of `make run`, VI_FAILOVER_ARM_TOKEN replaces it.

Where each video was uploaded is this app's own business: here a JSON file (`--locations`), in a
real app a column beside the video id. `upload` stores the account's AccountRef there;
`insights` reads it back, so a video uploaded during a failover is found after the failback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import requests
from vi_failover_client import (
    AccessTokenError,
    AccessTokens,
    AccountRef,
    ActiveAccountClient,
    ActiveAccountError,
    InvalidAccountError,
    MissingExtraError,
    Settings,
    data_plane_url,
)

TIMEOUT_SECONDS = 60


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--locations",
        type=Path,
        default=Path("video-locations.json"),
        help="where this app keeps each video's account (default: ./video-locations.json)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    upload = commands.add_parser("upload", help="index a video on the active account")
    upload.add_argument("--video-url", required=True, help="a URL VI can download the video from")
    upload.add_argument("--name", required=True, help="the video's name in VI")
    insights = commands.add_parser("insights", help="read a video's index where it lives")
    insights.add_argument("video_id")
    return parser.parse_args(argv)


def upload(args: argparse.Namespace, settings: Settings, tokens: AccessTokens) -> int:
    """Read the flag once, upload to that account, and remember which account took the video."""
    with ActiveAccountClient.from_env() as client, client.session() as account:
        state = ", STALE: no live source confirmed it lately" if account.stale else ""
        print(f"active account of {account.group}: {account.name} (v{account.version}){state}")
        token = tokens.get(account, permission="Contributor")
        response = requests.post(
            f"{data_plane_url(account, settings.vi_url)}/Videos",
            params={"name": args.name, "videoUrl": args.video_url, "privacy": "Private"},
            headers={"Authorization": f"Bearer {token}"},  # kept out of URLs and their logs
            timeout=TIMEOUT_SECONDS,
        )
        if not response.ok:
            return _failed("upload", response)
        video = response.json()
        locations = _load(args.locations)
        locations[video["id"]] = account.ref.to_dict()
        args.locations.write_text(json.dumps(locations, indent=2) + "\n")
    print(f"uploaded video {video['id']} ({video['state']}) to {account.name}")
    return 0


def insights(args: argparse.Namespace, settings: Settings, tokens: AccessTokens) -> int:
    """Read the video's index from the account it was uploaded to, not the active one."""
    stored = _load(args.locations).get(args.video_id)
    if stored is None:
        print(f"error: no account recorded for video {args.video_id}", file=sys.stderr)
        return 1
    account = AccountRef.from_dict(stored)
    token = tokens.get(account, permission="Reader")
    response = requests.get(
        f"{data_plane_url(account, settings.vi_url)}/Videos/{args.video_id}/Index",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT_SECONDS,
    )
    if not response.ok:
        return _failed("index read", response)
    index = response.json()
    keywords = ", ".join(k["text"] for k in index["videos"][0]["insights"].get("keywords", []))
    print(f"video {index['id']} on {account.name}: {index['state']}; keywords: {keywords or '-'}")
    return 0


def _load(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def _failed(what: str, response: requests.Response) -> int:
    print(
        f"error: VI answered the {what} {response.status_code}: {response.text[:300]}",
        file=sys.stderr,
    )
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
        tokens = AccessTokens(
            settings.arm_credential(),
            arm_base_url=settings.arm_url,
            api_version=settings.api_version,
        )
        command = upload if args.command == "upload" else insights
        return command(args, settings, tokens)
    except (ActiveAccountError, AccessTokenError, InvalidAccountError, MissingExtraError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except ValueError as exc:  # a VI_FAILOVER_* setting
        print(f"error: {exc}", file=sys.stderr)
    except requests.RequestException as exc:
        # The exception's text may quote the URL: name only what kind it is.
        print(f"error: the VI call failed ({type(exc).__name__})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
