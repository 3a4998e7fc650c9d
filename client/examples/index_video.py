"""Index a video on whichever Video Indexer account vi-failover says is active.

    export VI_FAILOVER_FUNCTION_KEY=...          # the function key of GET /api/active-account
    python client/examples/index_video.py \\
        --endpoint https://<app>.azurewebsites.net/api --group default \\
        --storage-account <state account> \\
        --video-url https://example.com/clip.mp4 --name clip [--dry-run]

The flag is read once, in a session, so the upload goes to one account even if a failover
happens meanwhile. The ARM token comes from DefaultAzureCredential (`pip install
azure-identity`), whose identity needs Contributor on the VI accounts and, with
`--storage-account`, Storage Table Data Reader on the state account. `--dry-run` prints the
upload instead of sending it, and needs no Azure credential unless the table is read.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import requests
from vi_failover_client import (
    AccessTokenError,
    ActiveAccountClient,
    ActiveAccountError,
    TableSource,
    access_token,
    data_plane_url,
)

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

FUNCTION_KEY_VARIABLE = "VI_FAILOVER_FUNCTION_KEY"
UPLOAD_TIMEOUT_SECONDS = 60


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--endpoint",
        action="append",
        default=[],
        help="base URL of a vi-failover app, e.g. https://app.azurewebsites.net/api (repeatable)",
    )
    parser.add_argument("--group", help="the group to read (default: the app's only group)")
    parser.add_argument(
        "--storage-account",
        help="the state storage account, read directly (RA-GZRS secondary too) as a fallback",
    )
    parser.add_argument("--table", default="FailoverState", help="the state table's name")
    parser.add_argument(
        "--last-known-good",
        type=Path,
        help="a file kept with the last value read, used when every live source fails",
    )
    parser.add_argument("--video-url", required=True, help="a URL VI can download the video from")
    parser.add_argument("--name", required=True, help="the video's name in VI")
    parser.add_argument("--vi-base-url", default="https://api.videoindexer.ai")
    parser.add_argument("--arm-base-url", default="https://management.azure.com")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the upload request instead of sending it"
    )
    args = parser.parse_args(argv)
    if not args.endpoint and not args.storage_account:
        parser.error("give --endpoint or --storage-account (or both)")
    return args


def default_credential() -> TokenCredential:
    """DefaultAzureCredential, imported only when a token is needed: azure-identity is optional."""
    try:
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415
    except ImportError:
        sys.exit(
            "this example needs azure-identity for Azure credentials: pip install azure-identity"
        )
    return DefaultAzureCredential()


def main(argv: Sequence[str] | None = None) -> int:
    """Read the active account, then upload the video to it (or print the upload)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    table = (
        TableSource.for_account(args.storage_account, default_credential(), table_name=args.table)
        if args.storage_account
        else None
    )
    client = ActiveAccountClient(
        group=args.group,
        endpoints=args.endpoint,
        function_key=os.environ.get(FUNCTION_KEY_VARIABLE),
        table=table,
        last_known_good=args.last_known_good,
    )
    try:
        with client, client.session() as account:
            print(
                f"active account of {account.group}: {account.name} ({account.location}), "
                f"version {account.version}, from {account.source}"
                + (", STALE: no live source confirmed it" if account.stale else "")
            )
            url = f"{data_plane_url(account, args.vi_base_url)}/Videos"
            params = {"name": args.name, "videoUrl": args.video_url, "privacy": "Private"}
            if args.dry_run:
                # The token is never printed: it opens the account to whoever reads the output.
                print(f"POST {url}?{urlencode(params)}&accessToken=<Contributor token from ARM>")
                return 0
            token = access_token(account, default_credential(), arm_base_url=args.arm_base_url)
            response = requests.post(
                url, params={**params, "accessToken": token}, timeout=UPLOAD_TIMEOUT_SECONDS
            )
    except (ActiveAccountError, AccessTokenError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except requests.RequestException as exc:
        # The exception's text quotes the URL, token included: name only what kind it is.
        print(f"error: the VI upload failed ({type(exc).__name__})", file=sys.stderr)
        return 1
    if not response.ok:
        print(f"error: VI answered {response.status_code}: {response.text[:500]}", file=sys.stderr)
        return 1
    video = response.json()
    print(f"indexing video {video.get('id')} ({video.get('state')}) on {account.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
