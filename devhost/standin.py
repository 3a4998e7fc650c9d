"""A stand-in for ARM and the Video Indexer API on 127.0.0.1: a development tool, never deployed.

It speaks their wire format for the calls a readiness probe makes: ARM's GET of a
`Microsoft.VideoIndexer/accounts` resource and its `generateAccessToken` action, and VI's
`GET /{location}/Accounts/{accountId}/Videos`. Each account's behaviour can be switched at run
time: `POST /_standin/accounts/{name}` with `{"behaviour": …}`, or
`python -m devhost.standin set contoso-westus unhealthy`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from shared.core.config import load_config
from shared.core.model import Account

logger = logging.getLogger(__name__)

DEFAULT_PORT = 7072
DEMO_CONFIG = Path(__file__).resolve().parent / "demo-config.json"
TENANT_ID = "00000000-0000-4000-8000-00000000cafe"  # made up: ARM reports one, nobody checks it
BEHAVIOURS = {
    "healthy": "ARM, the token endpoint and the VI API all answer",
    "unhealthy": "the VI API answers 503",
    "slow": "the VI API answers after a delay",
    "throttled": "the VI API answers 429 with Retry-After, every time",
    "throttled-once": "the VI API answers 429 with Retry-After to every other call",
    "unauthorized": "the VI API answers 401",
    "forbidden": "the VI API answers 403",
    "token-down": "generateAccessToken answers 503",
    "token-forbidden": "generateAccessToken answers 403",
    "provisioning-failed": "ARM reports provisioningState Failed",
    "missing": "ARM and the VI API answer 404: the account does not exist",
    "malformed": "the VI API answers 200 with a body that is not JSON",
    "hang": "the VI API holds the request without answering",
}
_ARM_PATH = re.compile(
    r"(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.VideoIndexer/accounts/[^/]+)"
    r"(/generateAccessToken)?/?",
    re.IGNORECASE,
)
_VI_PATH = re.compile(r"/([^/]+)/Accounts/([^/]+)/Videos/?", re.IGNORECASE)
_CONTROL_PATH = re.compile(r"/_standin/accounts(?:/([^/]+))?/?")
# ARM reports display names; the probe must normalise them, so the stand-in does not.
_DISPLAY_NAMES = {
    "eastus": "East US",
    "eastus2": "East US 2",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
    "centralus": "Central US",
    "northeurope": "North Europe",
    "westeurope": "West Europe",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
}


class UnknownAccountError(LookupError):
    """No account of that name is configured in the stand-in."""


class UnknownBehaviourError(ValueError):
    """The behaviour is not one of BEHAVIOURS; the message lists the allowed ones."""


@dataclass(frozen=True)
class _Options:
    arm_token: str | None  # None: any bearer token passes ARM's check
    slow_seconds: float
    hang_seconds: float
    retry_after_seconds: int


@dataclass
class _AccountState:
    account: Account
    behaviour: str = "healthy"
    vi_calls: int = 0  # since the behaviour was set: paces throttled-once


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a held (hang) request must not delay shutdown

    def __init__(
        self, address: tuple[str, int], accounts: Sequence[Account], options: _Options
    ) -> None:
        self.options = options
        self.states: dict[str, _AccountState] = {}
        for account in accounts:
            known = self.states.get(account.name)
            if known is not None and known.account != account:
                raise ValueError(f"two different accounts are both called {account.name!r}")
            self.states[account.name] = _AccountState(account)
        # Indexes: a linear scan per request costs 0.6 ms at 20,000 accounts.
        self._by_resource_id = {s.account.resource_id.lower(): s for s in self.states.values()}
        self._by_data_plane_id = {
            (s.account.location, s.account.account_id.lower()): s for s in self.states.values()
        }
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.seen: list[tuple[str, str]] = []
        self.tokens: dict[str, str] = {}  # issued VI token -> account name
        self.connections: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            logger.debug("stand-in: %s hung up early", client_address)  # e.g. after its timeout
        else:
            logger.exception("stand-in: unexpected error serving %s", client_address)

    def by_resource_id(self, resource_id: str) -> _AccountState | None:
        return self._by_resource_id.get(resource_id.lower())  # ARM ids are case-insensitive

    def by_data_plane_id(self, location: str, account_id: str) -> _AccountState | None:
        return self._by_data_plane_id.get((location.lower(), account_id.lower()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as ARM and VI do
    server_version = "vi-failover-standin"
    timeout = 30.0  # idle keep-alive connections end on their own
    disable_nagle_algorithm = True  # headers and body are separate writes on a kept-alive socket

    @property
    def _server(self) -> _Server:
        return cast(_Server, self.server)

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        url = urlsplit(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        with self._server.lock:
            self._server.seen.append((self.command, self.path))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if found := _CONTROL_PATH.fullmatch(path):
            self._control(found.group(1), body)
        elif found := _ARM_PATH.fullmatch(path):
            self._arm(found.group(1), found.group(2) is not None, "api-version" in query, body)
        elif found := _VI_PATH.fullmatch(path):
            self._vi(found.group(1), found.group(2))
        else:
            self._send(404, {"error": {"code": "NotFound", "message": f"no route for {path}"}})

    def _bearer(self) -> str:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _arm(self, resource_id: str, token_action: bool, versioned: bool, body: bytes) -> None:
        server, bearer = self._server, self._bearer()
        expected = server.options.arm_token
        if not versioned:
            return self._arm_error(
                400, "MissingApiVersionParameter", "The api-version query parameter is required."
            )
        if not bearer or (expected is not None and bearer != expected):
            reason = "has no bearer token" if not bearer else "has an invalid bearer token"
            return self._arm_error(401, "AuthenticationFailed", f"The request {reason}.")
        state = server.by_resource_id(resource_id)
        if state is None or state.behaviour == "missing":
            parts = resource_id.split("/")
            return self._arm_error(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.VideoIndexer/accounts/{parts[-1]}' under resource group "
                f"'{parts[4]}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFoundFix",
            )
        if self.command != ("POST" if token_action else "GET"):
            return self._arm_error(405, "MethodNotAllowed", f"{self.command} is not supported.")
        if not token_action:
            return self._send(200, _arm_resource(state))
        if state.behaviour == "token-down":
            return self._arm_error(503, "ServiceUnavailable", "The service is unavailable.")
        if state.behaviour == "token-forbidden":
            return self._arm_error(
                403,
                "AuthorizationFailed",
                "The client does not have authorization to perform action "
                "'Microsoft.VideoIndexer/accounts/generateAccessToken/action'.",
            )
        if not _valid_token_request(body):
            return self._arm_error(
                400,
                "InvalidRequestContent",
                'Want {"permissionType": "Reader"|"Contributor", "scope": "Account"|…}.',
            )
        token = "vi-standin." + secrets.token_urlsafe(24)  # opaque, like VI's own
        with server.lock:
            server.tokens[token] = state.account.name
        return self._send(200, {"accessToken": token})

    def _arm_error(self, status: int, code: str, message: str) -> None:
        self._send(status, {"error": {"code": code, "message": message}})

    def _vi(self, location: str, account_id: str) -> None:
        server, bearer = self._server, self._bearer()
        if not bearer:
            return self._vi_error(401, "USER_NOT_ALLOWED", "An access token is required.")
        state = server.by_data_plane_id(location, account_id)
        if state is None or state.behaviour == "missing":
            return self._vi_error(
                404, "ACCOUNT_NOT_FOUND", f"No account {account_id} in location {location}."
            )
        with server.lock:
            issued_for = server.tokens.get(bearer)
            state.vi_calls += 1
            calls, behaviour = state.vi_calls, state.behaviour
        if issued_for != state.account.name or behaviour == "unauthorized":
            return self._vi_error(401, "USER_NOT_ALLOWED", "The access token is not valid.")
        if behaviour == "forbidden":
            return self._vi_error(403, "USER_NOT_ALLOWED", "Not allowed to list videos.")
        if behaviour == "unhealthy":
            return self._vi_error(503, "GENERAL", "The service is temporarily unavailable.")
        if behaviour == "throttled" or (behaviour == "throttled-once" and calls % 2 == 1):
            retry_after = {"Retry-After": str(server.options.retry_after_seconds)}
            return self._vi_error(429, "TOO_MANY_REQUESTS", "Rate limit exceeded.", retry_after)
        if behaviour == "hang":
            server.stopping.wait(server.options.hang_seconds)
            self.close_connection = True  # never answer: the client sees a timeout
            return None
        if behaviour == "slow":
            server.stopping.wait(server.options.slow_seconds)
        if behaviour == "malformed":
            return self._send(200, b'{"results": [', content_type="application/json")
        return self._send(
            200, {"results": [], "nextPage": {"pageSize": 1, "skip": 0, "done": True}}
        )

    def _vi_error(
        self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, {"ErrorType": kind, "Message": message}, headers=headers)

    def _control(self, name: str | None, body: bytes) -> None:
        server = self._server
        if name is None and self.command == "GET":
            return self._send(200, _listing(server))
        if name is None or self.command != "POST":
            return self._send(405, {"error": {"code": "MethodNotAllowed", "message": self.command}})
        try:
            behaviour = json.loads(body)["behaviour"]
            _set_behaviour(server, name, str(behaviour))
        except UnknownAccountError as exc:
            return self._send(404, {"error": {"code": "UnknownAccount", "message": str(exc)}})
        except (ValueError, TypeError, KeyError) as exc:
            message = str(exc) if isinstance(exc, UnknownBehaviourError) else "want {behaviour}"
            return self._send(400, {"error": {"code": "InvalidRequest", "message": message}})
        return self._send(200, {"name": name, "behaviour": behaviour})

    def _send(
        self,
        status: int,
        body: object,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json; charset=utf-8",
    ) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": content_type, **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = (self.path or "").partition("?")[0]
        logger.debug("stand-in %s %s %s", self.command, path, code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("stand-in %s: %s", self.address_string(), format % args)


def _valid_token_request(body: bytes) -> bool:
    try:
        request = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(request, dict)
        and request.get("permissionType") in ("Reader", "Contributor")
        and request.get("scope") in ("Account", "Project", "Video")
    )


def _arm_resource(state: _AccountState) -> dict[str, object]:
    account = state.account
    subscription, group = account.resource_id.split("/")[2], account.resource_id.split("/")[4]
    name = account.resource_id.rsplit("/", 1)[1]
    storage = re.sub(r"[^a-z0-9]", "", name.lower())[:22] + "sa"
    failed = state.behaviour == "provisioning-failed"
    return {
        "id": account.resource_id,
        "name": name,
        "type": "Microsoft.VideoIndexer/accounts",
        "location": _DISPLAY_NAMES.get(account.location, account.location),
        "properties": {
            "accountId": account.account_id,
            "accountName": name,
            "provisioningState": "Failed" if failed else "Succeeded",
            "tenantId": TENANT_ID,
            "storageServices": {
                "resourceId": f"/subscriptions/{subscription}/resourceGroups/{group}"
                f"/providers/Microsoft.Storage/storageAccounts/{storage}"
            },
            "publicNetworkAccess": "Enabled",
        },
    }


def _listing(server: _Server) -> dict[str, object]:
    with server.lock:
        accounts = [
            {"name": s.account.name, "behaviour": s.behaviour, "location": s.account.location}
            | {"accountId": s.account.account_id, "resourceId": s.account.resource_id}
            for s in server.states.values()
        ]
    return {"accounts": accounts, "behaviours": BEHAVIOURS}


def _set_behaviour(server: _Server, name: str, behaviour: str) -> None:
    if behaviour not in BEHAVIOURS:
        raise UnknownBehaviourError(
            f"unknown behaviour {behaviour!r}; use one of: {', '.join(BEHAVIOURS)}"
        )
    with server.lock:
        state = server.states.get(name)
        if state is None:
            raise UnknownAccountError(f"no account {name!r}; known: {', '.join(server.states)}")
        state.behaviour, state.vi_calls = behaviour, 0
    logger.info("stand-in: %s is now %s (%s)", name, behaviour, BEHAVIOURS[behaviour])


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
    ) -> None:
        options = _Options(arm_token, slow_seconds, hang_seconds, retry_after_seconds)
        # Binds now, so port 0 is resolved and a port in use fails here, not in the thread.
        self._server = _Server(("127.0.0.1", port), accounts, options)
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(cls, value: str, **options: Any) -> Self:
        """The accounts of every group in a FAILOVER_CONFIG (JSON text or a file path)."""
        config = load_config(value)
        return cls([a for g in config.groups for a in g.accounts], **options)

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for both ARM_BASE_URL and VI_BASE_URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def accounts(self) -> tuple[Account, ...]:
        """The accounts served, each once."""
        return tuple(s.account for s in self._server.states.values())

    @property
    def requests_seen(self) -> list[tuple[str, str]]:
        """(method, path with query) of every request so far, oldest first."""
        with self._server.lock:
            return list(self._server.seen)

    @property
    def issued_tokens(self) -> list[str]:
        """Every VI access token handed out, so tests can check none leaks."""
        with self._server.lock:
            return list(self._server.tokens)

    def behaviours(self) -> dict[str, str]:
        """Account name → its current behaviour."""
        with self._server.lock:
            return {name: s.behaviour for name, s in self._server.states.items()}

    def set_behaviour(self, name: str, behaviour: str) -> None:
        """Switch one account's behaviour; raises UnknownAccountError or UnknownBehaviourError."""
        _set_behaviour(self._server, name, behaviour)

    def serve_forever(self) -> None:
        """Serve in this thread until `shutdown()` is called from another."""
        self._server.serve_forever(poll_interval=0.05)

    def start_in_thread(self) -> int:
        """Serve from a daemon thread; return the bound port."""
        self._thread = threading.Thread(target=self.serve_forever, name="standin", daemon=True)
        self._thread.start()
        return self.port

    def shutdown(self) -> None:
        """Release held requests, stop serving, end open connections and free the port."""
        self._server.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        with self._server.lock:
            connections = list(self._server.connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # the client may have closed it already
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

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


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM takes the same clean path as Ctrl-C


def _serve(args: argparse.Namespace) -> int:
    try:
        standin = AzureStandIn.from_config(args.config, port=args.port)
    except (ValueError, OSError) as exc:  # invalid FAILOVER_CONFIG, or the port is taken
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop_requested)
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
