"""One account's trouble hurts only its own groups, end to end: the local host with its ARM/VI
stand-in on real Azurite, alerts and reads over real sockets."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.azurite import Azurite
from tests import alertfactory as af
from tests import apicontract as api
from tests.e2e_stack import Stack, stack_on

SUB = "/subscriptions/9b2c4e71-5d3a-4f0e-8c6b-2a7d1e9f4c30/resourceGroups/rg-video/providers"
HANGING = 20
HEALTHY = 20


def account(name: str, location: str, *, resolved: bool = True) -> dict[str, str]:
    """A configured account; `resolved` False leaves accountId and location to ARM."""
    entry = {"name": name, "resourceId": f"{SUB}/Microsoft.VideoIndexer/accounts/{name}"}
    if resolved:
        entry |= {"accountId": f"{abs(hash(name)) % 10**8:08d}-0000-4000-8000-000000000000"}
        entry |= {"location": location}
    return entry


def tenants(names: list[str]) -> list[dict[str, object]]:
    """A group per name: primary in East US, standby in West US."""
    return [
        {"name": n, "accounts": [account(f"{n}-e", "eastus"), account(f"{n}-w", "westus")]}
        for n in names
    ]


@pytest.fixture
def crowd(azurite: Azurite, table_name: str, tmp_path: Path) -> Iterator[Stack]:
    """Forty tenants on East US; the first twenty's standbys hang (the VI API holds the call)."""
    names = [f"hang{n:02d}" for n in range(HANGING)] + [f"ok{n:02d}" for n in range(HEALTHY)]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"groups": tenants(names)}))
    with stack_on(azurite, table_name, str(config)) as stack:
        for n in range(HANGING):
            stack.set_health(f"hang{n:02d}-w", "hang")
        yield stack


def test_healthy_standbys_fail_over_while_other_standbys_hang(crowd: Stack) -> None:
    """One East US incident: the twenty healthy groups move, the twenty whose standby hangs are
    blocked naming the probe's deadline, and the action group has its answer well inside 10 s."""
    started = time.monotonic()
    response = crowd.post(af.service_health())
    elapsed = time.monotonic() - started

    decisions = response.json()["decisions"]
    by_kind = Counter((d["group"][:2], d["action"]) for d in decisions)
    assert 200 == response.status_code
    assert elapsed < 8.0, f"answered after {elapsed:.1f} s"
    assert Counter({("ok", "failed_over"): HEALTHY, ("ha", "blocked"): HANGING}) == by_kind
    blocked = next(d for d in decisions if d["action"] == "blocked")
    assert "did not finish within 3 s" in blocked["reason"]


@pytest.fixture
def unresolvable(azurite: Azurite, table_name: str, tmp_path: Path) -> Iterator[Stack]:
    """Two tenants; one's standby names no accountId/location, and ARM has no such account."""
    groups = tenants(["steady"])
    groups.append(
        {
            "name": "orphan",
            "accounts": [
                account("orphan-e", "eastus"),
                account("orphan-w", "westus", resolved=False),
            ],
        }
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"groups": groups}))
    with stack_on(azurite, table_name, str(config)) as stack:
        stack.set_health("orphan-w", "missing")
        yield stack


def test_an_account_arm_cannot_resolve_hurts_only_its_own_group(unresolvable: Stack) -> None:
    """Reads of both groups answer; an East US incident moves the steady group and answers 503
    ArmUnavailable naming the orphan's account, and a retry moves nothing twice; health stays
    green, because storage is fine."""
    url = unresolvable.host.url

    reads = [
        api.get(f"{url}/active-account", params={"group": g}, timeout=30).status_code
        for g in ("steady", "orphan")
    ]
    first = unresolvable.post(af.service_health())
    retry = unresolvable.post(af.service_health())
    steady = api.get(f"{url}/active-account", params={"group": "steady"}, timeout=30)
    health = api.get(f"{url}/health", timeout=30)

    assert [200, 200] == reads
    assert (503, "ArmUnavailable") == (first.status_code, first.json()["error"])
    assert "orphan-w" in first.json()["message"]
    assert "Retry-After" in first.headers
    assert 503 == retry.status_code
    assert ("steady-w", 2) == (steady.json()["account"]["name"], steady.json()["version"])
    assert 200 == health.status_code
