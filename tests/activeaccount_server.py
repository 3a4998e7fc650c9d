"""A real local HTTP server speaking `GET /api/active-account` as the app does, for client tests.

It mirrors shared/http_api.py's `active_account` and shared/api_views.py's `state_view` and
`etag_of`: the same body, a strong ETag `"<group>.v<version>[.pinned]"`, Cache-Control max-age,
304 on a matching If-None-Match, 404 UnknownGroup. The client's contract test on the real app
keeps the two honest.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

GROUP = "default"
SUB = "/subscriptions/9b2c4e71-5d3a-4f0e-8c6b-2a7d1e9f4c30/resourceGroups/rg-video"
ACCOUNTS = {
    "contoso-eastus": ("3377bbfd-a83c-486f-8108-e85cdbc7d561", "eastus", "primary"),
    "contoso-westus": ("01a8623c-48f4-4a18-b9de-164b6f8cfc57", "westus", "secondary"),
}


def view(
    name: str = "contoso-eastus", version: int = 1, *, pinned: bool = False, group: str = GROUP
) -> dict[str, object]:
    """The 200 body for `name` active at `version`, shaped as `state_view` shapes it."""
    account_id, location, role = ACCOUNTS[name]
    return {
        "group": group,
        "account": {
            "name": name,
            "accountId": account_id,
            "location": location,
            "resourceId": f"{SUB}/providers/Microsoft.VideoIndexer/accounts/{name}",
        },
        "role": role,
        "since": f"2026-11-20T10:{version:02d}:00+00:00",
        "reason": f"version {version}",
        "version": version,
        "pinned": pinned,
    }


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]


@dataclass
class _State:
    body: dict[str, object]
    max_age: int
    status: int | None = None  # answer this status (with an error body) instead
    raw: bytes | None = None  # answer 200 with these bytes instead of the JSON view
    gate: threading.Event | None = None  # hold every answer until set
    others: dict[str, dict[str, object]] = field(default_factory=dict)  # other groups' bodies
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        state = self.server.state
        target = urlsplit(self.path)
        with state.lock:
            state.seen.append(Seen(self.path, dict(self.headers.items())))
            body, max_age, status, raw, gate = (
                dict(state.body),
                state.max_age,
                state.status,
                state.raw,
                state.gate,
            )
        if gate is not None:
            gate.wait(timeout=10)  # bounded, so a broken test cannot wedge the suite
        if target.path != "/api/active-account":
            self._answer(404, {"error": "NotFound", "message": "no such route"})
            return
        if status is not None:
            self._answer(status, {"error": "StorageUnavailable", "message": "scripted failure"})
            return
        group = parse_qs(target.query).get("group", [GROUP])[0]
        body = state.others.get(group, body)
        if group != body["group"]:
            message = f"unknown group {group!r}; configured: {body['group']}"
            self._answer(404, {"error": "UnknownGroup", "message": message})
            return
        etag = f'"{body["group"]}.v{body["version"]}{".pinned" if body["pinned"] else ""}"'
        headers = {"ETag": etag, "Cache-Control": f"max-age={max_age}"}
        tags = [
            t.strip().removeprefix("W/") for t in self.headers.get("If-None-Match", "").split(",")
        ]
        if etag in tags or "*" in tags:
            self._answer(304, None, headers)
            return
        self._answer(200, body, headers, raw)

    def _answer(
        self,
        status: int,
        body: object,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> None:
        data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 304:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class ActiveAccountServer:
    """The endpoint on 127.0.0.1 and a free port; `.url` is the base the client is given."""

    def __init__(
        self,
        body: dict[str, object] | None = None,
        *,
        max_age: int = 10,
        others: list[dict[str, object]] = (),  # type: ignore[assignment]
    ) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State(body=body or view(), max_age=max_age)
        self._server.state.others = {str(o["group"]): o for o in others}
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL, `http://127.0.0.1:<port>/api`."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api"

    @property
    def seen(self) -> list[Seen]:
        """Every request so far, in order."""
        with self._server.state.lock:
            return list(self._server.state.seen)

    def serve(
        self,
        body: dict[str, object] | None = None,
        *,
        status: int | None = None,
        raw: bytes | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        """Answer from now on with this body, a failure status, raw bytes, or held by a gate."""
        with self._server.state.lock:
            if body is not None:
                self._server.state.body = body
            self._server.state.status = status
            self._server.state.raw = raw
            self._server.state.gate = gate

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        gate = self._server.state.gate
        if gate is not None:
            gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
