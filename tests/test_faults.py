"""Faults against the real stack (local host + Azurite over TCP): storage stopped, paused
(SIGSTOP) and slow mid-request, and racing writers. Each must answer 503 + Retry-After within
10 s, leave no partial state, lose no audit record, and converge on re-delivery."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devhost.azurite import Azurite
from tests import alertfactory as af
from tests import apicontract as api
from tests.hosting import HostProcess
from tests.tcpproxy import DelayingProxy

ACTION_GROUP_LIMIT = 10.0
INCIDENT = af.to_body(af.service_health())


def post(host: HostProcess, body: bytes) -> tuple[requests.Response, float]:
    """Deliver an alert; the response and how long it took."""
    started = time.monotonic()
    response = api.post(f"{host.url}/alerts", data=body, timeout=30)
    return response, time.monotonic() - started


def audit(host: HostProcess) -> list[dict[str, object]]:
    """The whole audit trail."""
    records = api.get(f"{host.url}/history?limit=1000", timeout=30).json()["records"]
    assert isinstance(records, list)
    return records


def active(host: HostProcess) -> tuple[str, int]:
    """The active account's name and version."""
    body = api.get(f"{host.url}/active-account", timeout=30).json()
    return body["account"]["name"], body["version"]


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Azurite]:
    """An Azurite of the test's own, persisted so it can be stopped and started again."""
    with Azurite(location=tmp_path) as server:
        yield server


def test_paused_storage_answers_503_in_time_and_converges(
    storage: Azurite, table_name: str
) -> None:
    """Storage frozen (SIGSTOP): 503 + Retry-After in under 10 s; afterwards exactly one move."""
    with HostProcess(storage.connection_string, table_name) as host:
        assert ("contoso-eastus", 1) == active(host)
        storage.pause()
        try:
            frozen, took = post(host, INCIDENT)
            health = api.get(f"{host.url}/health", timeout=30)
        finally:
            storage.resume()

        again, _ = post(host, INCIDENT)
        settled, _ = post(host, INCIDENT)

        assert (503, "10") == (frozen.status_code, frozen.headers.get("Retry-After"))
        assert took < ACTION_GROUP_LIMIT, f"503 after {took:.1f} s"
        assert 503 == health.status_code
        assert {again.json()["outcome"], settled.json()["outcome"]} <= {"failed_over", "duplicate"}
        assert ("contoso-westus", 2) == active(host)
        assert 1 == sum(r["action"] == "failed_over" for r in audit(host))


def test_storage_stopped_while_a_request_hangs_converges(storage: Azurite, table_name: str) -> None:
    """Frozen mid-request, then killed: that delivery gets 503; after a restart one move lands."""
    with HostProcess(storage.connection_string, table_name) as host:
        assert ("contoso-eastus", 1) == active(host)
        results: list[tuple[requests.Response, float]] = []
        storage.pause()
        sender = threading.Thread(target=lambda: results.append(post(host, INCIDENT)))
        sender.start()
        time.sleep(1)  # let the delivery reach the frozen storage before it dies
        storage.stop()
        sender.join(timeout=30)
        storage.start()

        retried, _ = post(host, INCIDENT)

        ((hung, took),) = results
        assert (503, True) == (hung.status_code, took < ACTION_GROUP_LIMIT)
        assert "failed_over" == retried.json()["outcome"]
        assert ("contoso-westus", 2) == active(host)
        assert 1 == sum(r["action"] == "failed_over" for r in audit(host))


def test_slow_storage_is_served_then_times_out_within_the_budget(
    storage: Azurite, table_name: str
) -> None:
    """A little latency is absorbed; a lot is a 503 within 10 s; afterwards one move lands."""
    with DelayingProxy(storage.port) as proxy:
        through = proxy.rewrite(storage.connection_string, storage.port)
        with HostProcess(through, table_name) as host:
            proxy.delay = 0.05
            slow_ok, _ = post(host, af.to_body(af.metric_alert()))
            proxy.delay = 5.0
            too_slow, took = post(host, INCIDENT)
            proxy.delay = 0.0

            recovered, _ = post(host, INCIDENT)

            assert (200, 503) == (slow_ok.status_code, too_slow.status_code)
            assert took < ACTION_GROUP_LIMIT, f"503 after {took:.1f} s"
            assert recovered.json()["outcome"] in {"failed_over", "duplicate"}
            assert ("contoso-westus", 2) == active(host)
            assert 1 == sum(r["action"] == "failed_over" for r in audit(host))


def test_racing_different_updates_keep_every_audit_record(
    azurite: Azurite, table_name: str
) -> None:
    """Sixteen concurrent deliveries of eight different updates: each update is audited, and the
    group moves exactly once, never into the region whose incident is open."""
    updates = [
        af.service_health(communication_id=str(5000 + n), event_time=f"2026-11-20T10:{n:02d}:00Z")
        for n in range(8)
    ]
    bodies = [af.to_body(u) for u in updates] * 2
    barrier = threading.Barrier(len(bodies), timeout=30)
    codes: list[int] = []
    lock = threading.Lock()

    def deliver(body: bytes) -> None:
        barrier.wait()
        response = api.post(f"{host.url}/alerts", data=body, timeout=30)
        with lock:
            codes.append(response.status_code)

    with HostProcess(azurite.connection_string, table_name) as host:
        threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        records = audit(host)
        assert [200] * len(bodies) == codes
        assert ("contoso-westus", 2) == active(host)
        assert 1 == sum(r["action"] == "failed_over" for r in records)
        seen = {r["evidence"]["communicationId"] for r in records}  # type: ignore[index]
        assert {str(5000 + n) for n in range(8)} <= seen
        assert len(bodies) == sum(r["group"] == "default" for r in records)
