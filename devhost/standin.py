"""A stand-in for ARM and the Video Indexer API on 127.0.0.1: a development tool, never deployed.

It speaks their wire format for the calls a readiness probe and an app make: ARM's GET of a
`Microsoft.VideoIndexer/accounts` resource and its `generateAccessToken` action (a JWT-shaped
token with the permission and an hour's `exp`); VI's `GET /{location}/Accounts/{accountId}/Videos`,
an upload (`POST …/Videos?name=&videoUrl=`) and `GET …/Videos/{id}/Index`, with the token as a
bearer header or the `accessToken` query parameter. Each account's behaviour can be switched at
run time: `POST /_standin/accounts/{name}` with `{"behaviour": …}`, or
`python -m devhost.standin set contoso-westus unhealthy`.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import requests

from devhost.paths import DEMO_CONFIG
from devhost.processes import interrupt_on_stop_signals
from devhost.server import LocalServer
from devhost.standin_accounts import BEHAVIOURS, Accounts
from devhost.standin_http import StandInHandler, StandInState
from devhost.standin_wire import Options
from shared.core.config import load_config
from shared.core.model import Account

logger = logging.getLogger(__name__)

DEFAULT_PORT = 7072


class AzureStandIn:
    """ARM and the VI API for `accounts`, on one local port; a development and test tool."""

    def __init__(
        self,
        accounts: Sequence[Account],
        *,
        port: int = 0,
        arm_token: str | None = None,  # None: any bearer token passes ARM's check
        slow_seconds: float = 4.0,  # "slow" answers after this; above the probe's 3 s default
        hang_seconds: float = 30.0,
        retry_after_seconds: int = 1,
        token_lifetime_seconds: float = 3600.0,  # VI's access tokens last an hour
    ) -> None:
        options = Options(
            arm_token, slow_seconds, hang_seconds, retry_after_seconds, token_lifetime_seconds
        )
        self._accounts = Accounts(accounts, logger)
        # Binds now, so port 0 is resolved and a port in use fails here, not in the thread.
        self._state = StandInState(self._accounts, options)
        self._server = LocalServer(("127.0.0.1", port), StandInHandler, self._state, logger)

    @classmethod
    def from_config(cls, value: str, **options: Any) -> Self:
        """The accounts of every group in a FAILOVER_CONFIG (JSON text or a file path)."""
        config = load_config(value)
        return cls([a for g in config.groups for a in g.accounts], **options)

    @property
    def port(self) -> int:
        """The bound port."""
        return self._server.port

    @property
    def url(self) -> str:
        """Base URL for both ARM_BASE_URL and VI_BASE_URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def accounts(self) -> tuple[Account, ...]:
        """The accounts served, each once."""
        return self._accounts.accounts

    @property
    def requests_seen(self) -> list[tuple[str, str]]:
        """(method, path with query) of every request so far, oldest first."""
        return self._state.seen

    @property
    def issued_tokens(self) -> list[str]:
        """Every VI access token handed out, so tests can check none leaks."""
        return self._accounts.issued_tokens

    def behaviours(self) -> dict[str, str]:
        """Account name → its current behaviour."""
        return self._accounts.behaviours()

    def set_behaviour(self, name: str, behaviour: str) -> None:
        """Switch one account's behaviour; raises UnknownAccountError or UnknownBehaviourError."""
        self._accounts.set_behaviour(name, behaviour)

    def serve_forever(self) -> None:
        """Serve in this thread until `shutdown()` is called from another."""
        self._server.serve()

    def start_in_thread(self) -> int:
        """Serve from a daemon thread; return the bound port."""
        self._server.serve_in_thread("standin")
        return self.port

    def shutdown(self) -> None:
        """Release held requests, stop serving, end open connections and free the port."""
        self._state.stopping.set()
        self._server.close(socket.SHUT_RDWR)

    def __enter__(self) -> Self:
        self.start_in_thread()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()


# --- python -m devhost.standin -----------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    try:
        standin = AzureStandIn.from_config(args.config, port=args.port)
    except (ValueError, OSError) as exc:  # invalid FAILOVER_CONFIG, or the port is taken
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    interrupt_on_stop_signals()
    names = ", ".join(a.name for a in standin.accounts)
    print(f"ARM + VI stand-in on {standin.url} for {names}; Ctrl-C stops it.", flush=True)
    try:
        standin.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin.shutdown()
    return 0


def _client(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/") + "/_standin/accounts"
    try:
        if args.command == "set":
            reply = requests.post(
                f"{url}/{args.name}", json={"behaviour": args.behaviour}, timeout=5
            )
        else:
            reply = requests.get(url, timeout=5)
        body = reply.json()
    except (requests.RequestException, ValueError) as exc:
        print(f"error: no stand-in answers at {args.url} ({type(exc).__name__})", file=sys.stderr)
        return 1
    if reply.status_code != 200:
        print(f"error: {body['error']['message']}", file=sys.stderr)
        return 1
    if args.command == "set":
        print(f"{body['name']}: {body['behaviour']} ({BEHAVIOURS.get(body['behaviour'], '?')})")
    else:
        for account in body["accounts"]:
            print(f"{account['name']:<24} {account['behaviour']:<20} {account['location']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`serve`, `set NAME BEHAVIOUR` or `list`; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m devhost.standin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    default_url = os.environ.get("STANDIN_URL", f"http://127.0.0.1:{DEFAULT_PORT}")
    serve = commands.add_parser("serve", help="run the stand-in in the foreground")
    serve.add_argument("--port", type=int, default=os.environ.get("STANDIN_PORT") or DEFAULT_PORT)
    serve.add_argument("--config", default=os.environ.get("FAILOVER_CONFIG", str(DEMO_CONFIG)))
    change = commands.add_parser("set", help="switch one account's behaviour")
    change.add_argument("name")
    change.add_argument("behaviour", help=f"one of: {', '.join(BEHAVIOURS)}")
    listing = commands.add_parser("list", help="show every account and its behaviour")
    for command in (change, listing):
        command.add_argument("--url", default=default_url, help=f"(default: {default_url})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return _serve(args) if args.command == "serve" else _client(args)


if __name__ == "__main__":
    sys.exit(main())
