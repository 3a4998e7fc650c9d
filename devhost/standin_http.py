"""The stand-in's HTTP side: routing ARM, VI and control requests, and sending their replies."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from devhost.server import LocalHandler
from devhost.standin_accounts import Accounts, UnknownAccountError, UnknownBehaviourError
from devhost.standin_reply import Reply
from devhost.standin_videos import VideoRequest
from devhost.standin_wire import Options, arm_reply, vi_reply

_ARM_PATH = re.compile(
    r"(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.VideoIndexer/accounts/[^/]+)"
    r"(/generateAccessToken)?/?",
    re.IGNORECASE,
)
_VI_PATH = re.compile(r"/([^/]+)/Accounts/([^/]+)/Videos(?:/([^/]+)/Index)?/?", re.IGNORECASE)
_CONTROL_PATH = re.compile(r"/_standin/accounts(?:/([^/]+))?/?")


@dataclass(frozen=True)
class StandInState:
    """What the stand-in's handler threads share: the accounts, the options, every request."""

    accounts: Accounts
    options: Options
    stopping: threading.Event = field(default_factory=threading.Event)  # set: let held ones go
    _seen: list[tuple[str, str]] = field(default_factory=list)
    _seen_lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, method: str, path: str) -> None:
        """Record a request."""
        with self._seen_lock:
            self._seen.append((method, path))

    @property
    def seen(self) -> list[tuple[str, str]]:
        """(method, path with query) of every request so far, oldest first."""
        with self._seen_lock:
            return list(self._seen)


class StandInHandler(LocalHandler[StandInState]):
    """Serves one connection's requests to ARM, VI or the control endpoint of a stand-in."""

    server_version = "vi-failover-standin"
    timeout = 30.0  # idle keep-alive connections end on their own

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        state = self.context
        url = urlsplit(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        state.saw(self.command, _without_token(self.path))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if found := _CONTROL_PATH.fullmatch(path):
            self._send(_control(state.accounts, self.command, found.group(1), body))
        elif found := _ARM_PATH.fullmatch(path):
            reply = arm_reply(
                state.accounts,
                state.options,
                method=self.command,
                resource_id=found.group(1),
                token_action=found.group(2) is not None,
                versioned="api-version" in query,
                bearer=self._bearer(),
                body=body,
            )
            self._send(reply)
        elif found := _VI_PATH.fullmatch(path):
            location, account_id, video_id = found.groups()
            # VI takes the token as a bearer header or as the accessToken query parameter.
            bearer = self._bearer() or (query.get("accessToken") or [""])[0]
            video = None
            if self.command != "GET" or video_id is not None:
                video = VideoRequest(self.command, video_id, query)
            reply = vi_reply(state.accounts, state.options, location, account_id, bearer, video)
            self._send(reply)
        else:
            message = f"no route for {path}"
            self._send(Reply(404, {"error": {"code": "NotFound", "message": message}}))

    def _bearer(self) -> str:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _send(self, reply: Reply) -> None:
        if reply.delay:
            self.context.stopping.wait(reply.delay)
        if not reply.answer:
            self.close_connection = True  # never answer: the client sees a timeout
            return
        body = reply.body
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": reply.content_type, **reply.headers}
        self.reply(reply.status, list(headers.items()), data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = (self.path or "").partition("?")[0]
        self.local_server.log.debug("stand-in %s %s %s", self.command, path, code)

    def log_message(self, format: str, *args: Any) -> None:
        self.local_server.log.debug("stand-in %s: %s", self.address_string(), format % args)


def _without_token(path: str) -> str:
    """The path as recorded: an accessToken in the query is replaced, as a log would need."""
    return re.sub(r"(accessToken=)[^&]*", r"\1<hidden>", path)


def _control(accounts: Accounts, method: str, name: str | None, body: bytes) -> Reply:
    """`GET /_standin/accounts` lists; `POST /_standin/accounts/{name}` switches a behaviour."""
    if name is None and method == "GET":
        return Reply(200, accounts.listing())
    if name is None or method != "POST":
        return Reply(405, {"error": {"code": "MethodNotAllowed", "message": method}})
    try:
        behaviour = json.loads(body)["behaviour"]
        accounts.set_behaviour(name, str(behaviour))
    except UnknownAccountError as exc:
        return Reply(404, {"error": {"code": "UnknownAccount", "message": str(exc)}})
    except (ValueError, TypeError, KeyError) as exc:
        message = str(exc) if isinstance(exc, UnknownBehaviourError) else "want {behaviour}"
        return Reply(400, {"error": {"code": "InvalidRequest", "message": message}})
    return Reply(200, {"name": name, "behaviour": behaviour})
