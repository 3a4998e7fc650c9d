"""The threaded HTTP/1.1 server under both the local Functions host and the ARM/VI stand-in."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar, cast

POLL_SECONDS = 0.05  # shutdown() waits up to this long for the accept loop to notice
_NO_BODY_STATUSES = frozenset({204, 304})

C = TypeVar("C")


class LocalServer(ThreadingHTTPServer, Generic[C]):
    """Serves `handler` on `address`, bound at once (so port 0 resolves); logs to `log`.

    `context` is what the handler's threads share (routes, accounts, …). The server keeps track
    of open connections, so closing it ends kept-alive ones too.
    """

    daemon_threads = True  # an open keep-alive connection never holds the process up
    block_on_close = False  # a held request must not delay closing
    # socketserver's default backlog of 5 resets connections under a burst of requests.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        context: C,
        log: logging.Logger,
    ) -> None:
        self.context = context
        self.log = log
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._serving = False
        self._thread: threading.Thread | None = None
        super().__init__(address, handler)
        self.authority = "{}:{}".format(*self.socket.getsockname()[:2])

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.server_address[1])

    def serve(self) -> None:
        """Serve in this thread until `close()` is called from another."""
        self._serving = True
        try:
            self.serve_forever(poll_interval=POLL_SECONDS)
        finally:
            self._serving = False

    def serve_in_thread(self, name: str, target: Callable[[], None] | None = None) -> None:
        """Run `target` (default: `serve`) in a daemon thread that `close()` waits for."""
        self._serving = True  # so a `close()` racing the thread's start still waits for it
        self._thread = threading.Thread(target=target or self.serve, name=name, daemon=True)
        self._thread.start()

    def close(self, how: int = socket.SHUT_RD) -> None:
        """Stop accepting, end open connections (`how`), release the port, join the thread.

        The default closes only the read side: a thread idling in readline wakes with EOF, and
        a thread mid-request still writes its response.
        """
        if self._serving:
            self.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # the client closed it first
                connection.shutdown(how)
        self.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        with self._lock:
            self._connections.add(cast(socket.socket, request))
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        with self._lock:
            self._connections.discard(cast(socket.socket, request))
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            self.log.debug("connection from %s ended early", client_address)  # e.g. its timeout
        else:
            self.log.exception("unexpected error serving %s", client_address)


class LocalHandler(BaseHTTPRequestHandler, Generic[C]):
    """HTTP/1.1 with keep-alive for a `LocalServer[C]`, and one way to send a whole response."""

    protocol_version = "HTTP/1.1"  # keep-alive, as Azure's services do
    disable_nagle_algorithm = True  # headers and body are separate writes on a kept-alive socket

    @property
    def local_server(self) -> LocalServer[C]:
        """The server this connection came to."""
        return cast(LocalServer[C], self.server)

    @property
    def context(self) -> C:
        """What the server's handler threads share."""
        return self.local_server.context

    def reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """Send the status, the headers, Content-Length and the body (none where HTTP has none)."""
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        has_body = status >= 200 and status not in _NO_BODY_STATUSES
        if has_body:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if has_body and self.command != "HEAD":
            self.wfile.write(body)
