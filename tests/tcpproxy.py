"""A TCP proxy on 127.0.0.1 that can delay every chunk it forwards: slow storage on demand."""

from __future__ import annotations

import selectors
import socket
import threading
import time
from types import TracebackType
from typing import Self


class DelayingProxy:
    """Forwards 127.0.0.1:<port> to a target port, sleeping `delay` seconds per chunk."""

    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self.delay = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def rewrite(self, connection_string: str, target_port: int) -> str:
        """The connection string with the storage port replaced by the proxy's."""
        return connection_string.replace(f":{target_port}/", f":{self.port}/")

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._target, timeout=5)
        except OSError:
            client.close()
            return
        peers = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.2):
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = source.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        client.close()
                        upstream.close()
                        return
                    if self.delay:
                        time.sleep(self.delay)  # the fault being injected: a slow network
                    try:
                        peers[source].sendall(data)
                    except OSError:
                        client.close()
                        upstream.close()
                        return
        client.close()
        upstream.close()
