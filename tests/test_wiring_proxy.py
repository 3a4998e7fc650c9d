"""The storage clients' transport reads the environment's proxy settings once, not on every
call: each is checked here over real sockets, through a local proxy that records what it is
asked to forward."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from azure.core.exceptions import AzureError

from devhost.azurite import ACCOUNT_KEY, free_port
from shared.core.model import Config
from shared.settings import Settings, StorageSettings
from shared.wiring import queue_client, table_client
from tests.core import group


class _Proxy(ThreadingHTTPServer):
    asked: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Proxy

    def _refuse(self) -> None:
        self.server.asked.append(self.requestline)
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = _refuse

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    """A local forward proxy that records each request line and answers 502."""
    server = _Proxy(("127.0.0.1", 0), _Handler)
    server.asked = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _settings() -> Settings:
    port = free_port()  # nothing listens: only the proxy can answer
    endpoints = ";".join(
        f"{kind}Endpoint=http://127.0.0.1:{port}/devstoreaccount1" for kind in ("Table", "Queue")
    )
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
        + endpoints
    )
    return Settings(
        config=Config(groups=(group(),)),
        storage=StorageSettings(connection_string=connection),
        storage_timeout_seconds=2.0,
    )


def _read_table(settings: Settings) -> None:
    table_client(settings).get_entity("g", "active")


def _read_queue(settings: Settings) -> None:
    queue_client(settings).get_queue_properties()


ACTION_GROUP_WAIT_S = 10.0
CALLS: list[Callable[[Settings], None]] = [_read_table, _read_queue]


@pytest.mark.parametrize("call", CALLS, ids=["table", "queue"])
def test_a_storage_call_goes_through_the_environments_proxy(
    call: Callable[[Settings], None], proxy: _Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY set, NO_PROXY not naming the endpoint: the call reaches the proxy, asking
    for the storage endpoint by its absolute URL."""
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    settings = _settings()

    started = time.monotonic()
    with pytest.raises(AzureError):
        call(settings)
    seconds = time.monotonic() - started

    assert proxy.asked, "the proxy was not used"
    # A failing call gives up (after its one retry) well before the action group's 10 s.
    assert seconds < ACTION_GROUP_WAIT_S / 2, f"{seconds:.1f} s"
    assert all(" http://127.0.0.1:" in line for line in proxy.asked), proxy.asked


@pytest.mark.parametrize("call", CALLS, ids=["table", "queue"])
def test_no_proxy_naming_the_endpoint_bypasses_the_proxy(
    call: Callable[[Settings], None], proxy: _Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_PROXY naming the storage host: the call goes straight there (and, as nothing
    listens, fails to connect); the proxy is never asked."""
    for name in ("no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    settings = _settings()

    with pytest.raises(AzureError):
        call(settings)

    assert [] == proxy.asked
