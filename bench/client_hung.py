"""The client's figures with every source hung: `get()` after the first value (it must never
wait on the network), and the first `get()` of a new client, bounded by its ready_timeout."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from azure.core.credentials import AzureNamedKeyCredential
from vi_failover_client import ActiveAccountClient, ActiveAccountUnavailableError, TableSource

from bench.results import Figure
from bench.stats import summary

HUNG_P99_GOAL_MS = 1.0
READY_TIMEOUT_S = 0.5
FIRST_GET_GOAL_S = READY_TIMEOUT_S + 0.25
THREADS = 4
BODY = {
    "group": "hung",
    "account": {
        "name": "contoso-eastus",
        "accountId": "3377bbfd-a83c-486f-8108-e85cdbc7d561",
        "location": "eastus",
        "resourceId": "/subscriptions/9b2c4e71-5d3a-4f0e-8c6b-2a7d1e9f4c30/resourceGroups/rg"
        "/providers/Microsoft.VideoIndexer/accounts/contoso-eastus",
    },
    "role": "primary",
    "since": "2026-11-20T10:00:00+00:00",
    "reason": "bench",
    "version": 1,
    "pinned": False,
}


class _Clock:
    """Monotonic seconds that move only when told: every get() finds the value due."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def client_hung(calls: int) -> list[Figure]:
    """get() from THREADS threads while every source hangs; then a new client's first get()."""
    release = threading.Event()
    with _endpoint(release) as (url, hang), _silent() as primary, _silent() as secondary:
        table = TableSource(
            primary_endpoint=f"http://127.0.0.1:{primary}/devstoreaccount1",
            secondary_endpoint=f"http://127.0.0.1:{secondary}/devstoreaccount1",
            credential=AzureNamedKeyCredential("devstoreaccount1", "a2V5"),
            table_name="Hung",
        )
        clock = _Clock()
        client = ActiveAccountClient(
            group="hung",
            endpoints=[url],
            table=table,
            ttl=1.0,
            timeout=0.5,
            refresh_deadline=1.0,  # outlasts the measurement: the refresh stays in flight
            clock=clock,
        )
        client.wait_until_ready(10)  # the check: the endpoint answers, the table never does
        hang.set()
        clock.now += 2.0  # past the TTL: every get() finds the value due and starts a refresh
        samples = _read_in_threads(client, calls)
        in_flight = client.status().refreshing
        started = time.perf_counter()
        first = ActiveAccountClient(
            group="hung", endpoints=[url], table=table, timeout=30, ready_timeout=READY_TIMEOUT_S
        )
        try:
            first.get()
            raised = False
        except ActiveAccountUnavailableError:
            raised = True
        first_get = time.perf_counter() - started
        release.set()
        client.close()
        first.close()
    hung = summary(samples, 1000)
    return [
        Figure(
            "client.hung_get.p99_ms",
            "client get() with every source hung, p99",
            hung["p99"],
            "ms",
            HUNG_P99_GOAL_MS,
            f"< {HUNG_P99_GOAL_MS:g} ms",
            {**hung, "threads": THREADS, "refresh_in_flight": in_flight},
        ),
        Figure(
            "client.first_get_hung_s",
            f"first get() with every source hung (ready_timeout {READY_TIMEOUT_S:g} s)",
            first_get,
            "s",
            FIRST_GET_GOAL_S,
            f"≤ {FIRST_GET_GOAL_S:g} s",
            {"raised_unavailable": raised},
        ),
    ]


def _read_in_threads(client: ActiveAccountClient, calls: int) -> list[float]:
    per_thread = max(1, calls // THREADS)
    results: list[list[float]] = [[] for _ in range(THREADS)]
    start = threading.Barrier(THREADS)

    def read(into: list[float]) -> None:
        start.wait(timeout=30)
        for _ in range(per_thread):
            began = time.perf_counter()
            client.get()
            into.append(time.perf_counter() - began)

    threads = [threading.Thread(target=read, args=(r,)) for r in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return [s for r in results for s in r]


@contextmanager
def _endpoint(release: threading.Event) -> Iterator[tuple[str, threading.Event]]:
    """An active-account endpoint that answers until `hang` is set, then holds every request."""
    hang = threading.Event()
    data = json.dumps(BODY).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if hang.is_set():
                release.wait(timeout=120)
                self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api", hang
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def _silent() -> Iterator[int]:
    """A port that accepts connections into its backlog and never answers: a hung table."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
