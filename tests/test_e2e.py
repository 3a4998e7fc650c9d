"""End to end over real sockets: the local host serving function_app, on real Azurite."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devhost.azurite import Azurite
from tests import alertfactory as af
from tests import apicontract as api
from tests.hosting import ROOT, HostProcess

EXAMPLES = ROOT / "examples"


def post(host: HostProcess, route: str, body: bytes) -> requests.Response:
    """POST raw bytes, as an action group does."""
    headers = {"Content-Type": "application/json"}
    return api.post(f"{host.url}/{route}", data=body, headers=headers, timeout=30)


def history(host: HostProcess) -> list[dict[str, object]]:
    """The whole audit trail, newest first."""
    records = api.get(f"{host.url}/history?limit=1000", timeout=30).json()["records"]
    assert isinstance(records, list)
    return records


@pytest.fixture
def host(azurite: Azurite, table_name: str) -> Iterator[HostProcess]:
    """The demo configuration served by the local host on the suite's Azurite."""
    with HostProcess(azurite.connection_string, table_name) as running:
        yield running


def test_readme_walkthrough(host: HostProcess) -> None:
    """The README's walk-through: fail over, duplicate, resolve, ignore, reject — as documented."""
    incident = (EXAMPLES / "servicehealth-incident-eastus.json").read_bytes()
    resolved = (EXAMPLES / "servicehealth-incident-eastus-resolved.json").read_bytes()
    before = api.get(f"{host.url}/active-account", timeout=30)

    first = post(host, "alerts", incident)
    after = api.get(f"{host.url}/active-account", timeout=30)
    again = post(host, "alerts", incident)
    resolution = post(host, "alerts", resolved)
    status = api.get(f"{host.url}/status", timeout=30).json()["groups"][0]
    metric = post(host, "alerts", (EXAMPLES / "metric-alert.json").read_bytes())
    audited = len(history(host))
    garbage = post(host, "alerts", b"not json")

    assert (200, "failed_over") == (first.status_code, first.json()["outcome"])
    assert ("contoso-eastus", "contoso-westus") == (
        before.json()["account"]["name"],
        after.json()["account"]["name"],
    )
    assert before.headers["ETag"] != after.headers["ETag"]
    assert "duplicate" == again.json()["outcome"]
    assert "recorded" == resolution.json()["outcome"]
    assert (status["openIncidents"], len(status["closedIncidents"])) == ([], 1)
    assert "ignored" == metric.json()["outcome"]
    assert (400, "InvalidAlert") == (garbage.status_code, garbage.json()["error"])
    assert audited == len(history(host))


def test_conditional_get_over_http(host: HostProcess) -> None:
    """If-None-Match with the current ETag is a 304 over the wire."""
    first = api.get(f"{host.url}/active-account", timeout=30)

    second = api.get(
        f"{host.url}/active-account", headers={"If-None-Match": first.headers["ETag"]}, timeout=30
    )

    assert (200, 304) == (first.status_code, second.status_code)
    assert first.headers["Cache-Control"] == second.headers["Cache-Control"]


def test_concurrent_deliveries_make_exactly_one_transition(host: HostProcess) -> None:
    """Twelve simultaneous deliveries of one alert: all 200, one move, one move record."""
    body = af.to_body(af.service_health())
    senders = 12
    barrier = threading.Barrier(senders, timeout=30)
    responses: list[requests.Response] = []
    lock = threading.Lock()

    def deliver() -> None:
        barrier.wait()
        response = post(host, "alerts", body)
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=deliver) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    refused = [r.text for r in responses if r.status_code != 200]
    warnings = [line for line in host.output.splitlines() if "WARNING" in line or "ERROR" in line]
    assert [200] * senders == [r.status_code for r in responses], (refused, warnings[-5:])
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert ["duplicate"] * (senders - 1) + ["failed_over"] == outcomes
    moves = [r for r in history(host) if r["action"] == "failed_over"]
    assert 1 == len(moves)
    active = api.get(f"{host.url}/active-account", timeout=30).json()
    assert ("contoso-westus", 2) == (active["account"]["name"], active["version"])


def test_storage_outage_answers_503_then_the_redelivery_applies_once(
    tmp_path: Path, table_name: str
) -> None:
    """Azurite stopped: 503 + Retry-After within 10 s; back up: the re-delivery applies once."""
    body = af.to_body(af.service_health())
    with (
        Azurite(location=tmp_path) as storage,
        HostProcess(storage.connection_string, table_name) as host,
    ):
        assert 200 == api.get(f"{host.url}/health", timeout=30).status_code
        storage.stop()

        started = time.monotonic()
        refused = post(host, "alerts", body)
        elapsed = time.monotonic() - started
        health = api.get(f"{host.url}/health", timeout=30)

        storage.start()
        applied = post(host, "alerts", body)
        redelivered = post(host, "alerts", body)

        assert (503, "10") == (refused.status_code, refused.headers.get("Retry-After"))
        assert elapsed < 10, f"503 took {elapsed:.1f} s"
        assert (503, "Retry-After") == (
            health.status_code,
            "Retry-After" if "Retry-After" in health.headers else "",
        )
        assert ("failed_over", "duplicate") == (
            applied.json()["outcome"],
            redelivered.json()["outcome"],
        )
        assert 1 == sum(r["action"] == "failed_over" for r in history(host))


def test_invalid_configuration_stops_the_host_naming_the_key(
    azurite: Azurite, table_name: str
) -> None:
    """A typo in FAILOVER_CONFIG fails the start with the bad key's path."""
    config = json.loads((ROOT / "devhost" / "demo-config.json").read_text())
    config["policy"]["failbak"] = "auto"

    with pytest.raises(RuntimeError, match=r"policy\.failbak"):
        HostProcess(
            azurite.connection_string, table_name, FAILOVER_CONFIG=json.dumps(config)
        ).__enter__()
