"""A real local webhook receiver that records requests and answers from a script."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, or a hang until the receiver stops, or a dropped line."""

    status: int = 200
    retry_after: str | None = None
    hang: bool = False  # never answer; the client's read timeout must end the wait
    drop: bool = False  # close the connection without answering


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str  # with the query string
    headers: dict[str, str]
    body: object


@dataclass
class _State:
    script: list[Reply]
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self, received: Received) -> Reply:
        # The last reply repeats, so [Reply(503)] means "always 503".
        with self.lock:
            self.requests.append(received)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


class _Server(ThreadingHTTPServer):
    state: _State


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        received = Received(
            path=self.path, headers=dict(self.headers.items()), body=json.loads(raw or b"null")
        )
        reply = self.server.state.next_reply(received)
        if reply.hang:
            # Bounded, so a broken test cannot wedge the suite; the receiver releases it on stop.
            self.server.state.release.wait(timeout=10)
            self.close_connection = True
            return
        if reply.drop:
            self.close_connection = True
            return
        answer = b'{"ok": true}'
        self.send_response(reply.status)
        if reply.retry_after is not None:
            self.send_header("Retry-After", reply.retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1 and a free port, serving from a thread."""

    def __init__(self, *script: Reply) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State(list(script) or [Reply()])
        # A short poll keeps stopping quick; the default 0.5 s would dominate the suite's time.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        """The receiver's base URL, without a trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[Received]:
        """Every request received so far, in order."""
        with self._server.state.lock:
            return list(self._server.state.requests)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.state.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
