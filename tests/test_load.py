"""Load: 1,000 alert deliveries over HTTP from 16 concurrent senders across 20 groups, mixing
duplicates, re-orderings, resolutions and unrelated alerts. Zero 5xx; each group ends where the
pure core puts it when fed the ordered updates; every delivery is in the audit trail.

Re-orderings stay within what the product promises to absorb (README, "Ordering and
duplicates"): re-deliveries at any time, and same-phase updates of one incident in any order.
"""

from __future__ import annotations

import json
import random
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from shared.core.alerts import parse_alert_body
from shared.core.config import parse_config
from shared.core.decide import decide, impacted_accounts
from shared.core.failover import initial_state
from shared.core.model import Group, Signal
from shared.core.state import GroupState
from tests import alertfactory as af
from tests import apicontract as api
from tests.hosting import HostProcess

SENDERS = 16
SUB = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers"
# Five primary regions, four tenants each; secondaries are regions no incident touches.
PAIRS = [
    ("East US", "westus"),
    ("Central US", "southcentralus"),
    ("North Europe", "westeurope"),
    ("Japan East", "japanwest"),
    ("Australia East", "australiasoutheast"),
]
TENANTS_PER_REGION = 4


def config() -> dict[str, object]:
    """20 groups: each a primary in one of five regions and a secondary in its pair."""
    groups = []
    for region, secondary in PAIRS:
        primary = region.replace(" ", "").lower()
        for n in range(TENANTS_PER_REGION):
            name = f"{primary}-tenant{n}"
            groups.append(
                {
                    "name": name,
                    "accounts": [
                        _account(f"{name}-a", primary),
                        _account(f"{name}-b", secondary),
                    ],
                }
            )
    return {"groups": groups}


def _account(name: str, location: str) -> dict[str, str]:
    return {
        "name": name,
        "accountId": f"00000000-0000-0000-0000-{abs(hash(name)) % 10**12:012d}",
        "location": location,
        "resourceId": f"{SUB}/Microsoft.VideoIndexer/accounts/{name}",
    }


@dataclass(frozen=True)
class Plan:
    """What to send: two waves of bodies, and the ordered updates the core should see."""

    opening: list[bytes]
    closing: list[bytes]
    ordered: list[bytes]


def plan(rnd: random.Random) -> Plan:
    """Per region: two Active updates, then Resolved and RCA; plus duplicates and noise."""
    opening_updates: list[bytes] = []
    closing_updates: list[bytes] = []
    for index, (region, _) in enumerate(PAIRS):
        opening_updates += [
            _update(index, region, "Active", 1, f"2026-11-20T10:0{index}:00Z"),
            _update(index, region, "Active", 2, f"2026-11-20T10:1{index}:00Z"),
        ]
        closing_updates += [
            _update(index, region, "Resolved", 3, f"2026-11-20T12:0{index}:00Z"),
            _update(index, region, "RCA", 4, f"2026-11-23T12:0{index}:00Z"),
        ]
    noise = [
        af.to_body(af.metric_alert()),
        af.to_body(af.log_alert()),
        af.to_body(af.budget_alert()),
        af.to_body(
            af.service_health(tracking_id="OTHER-SVC", services=(("App Service", ("East US",)),))
        ),
        af.to_body(
            af.service_health(
                tracking_id="OTHER-RGN", services=(("Video Indexer", ("Brazil South",)),)
            )
        ),
    ]
    opening = [rnd.choice(opening_updates) for _ in range(400)] + opening_updates
    opening += [rnd.choice(noise) for _ in range(100)]
    closing = [rnd.choice(closing_updates) for _ in range(300)] + closing_updates
    closing += [rnd.choice(opening_updates) for _ in range(90)]  # stale re-deliveries
    closing += [rnd.choice(noise) for _ in range(100)]
    rnd.shuffle(opening)
    rnd.shuffle(closing)
    return Plan(opening, closing, opening_updates + closing_updates)


def _update(index: int, region: str, stage: str, number: int, when: str) -> bytes:
    payload = af.service_health(
        tracking_id=f"LOAD-{index}",
        services=(("Azure AI Video Indexer", (region,)),),
        stage=stage,
        communication_id=f"{index}0{number}",
        event_time=when,
    )
    return af.to_body(payload)


def expected_states(groups: tuple[Group, ...], ordered: list[bytes]) -> dict[str, GroupState]:
    """Each group's state after the pure core applies the ordered updates once."""
    now = datetime(2026, 11, 24, tzinfo=UTC)
    states = {g.name: initial_state(g, now) for g in groups}
    for body in ordered:
        signal = parse_alert_body(body)
        assert isinstance(signal, Signal)
        for g in groups:
            if impacted_accounts(signal, g) or signal.key in states[g.name].incidents:
                states[g.name] = (
                    decide(signal, g, states[g.name], now, "x").new_state or states[g.name]
                )
    return states


def audit_lines_expected(groups: tuple[Group, ...], bodies: list[bytes]) -> Counter[str]:
    """Audit lines per partition: one per group a delivery touches, else one 'ignored'."""
    expected: Counter[str] = Counter()
    for body in bodies:
        signal = parse_alert_body(body)
        hit = [
            g.name for g in groups if isinstance(signal, Signal) and impacted_accounts(signal, g)
        ]
        expected.update(hit or ["_unmatched"])
    return expected


def test_a_thousand_concurrent_deliveries(
    azurite: Azurite, table_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """1,000 deliveries, 16 senders, 20 groups: no 5xx, the ordered state, a complete audit."""
    raw_config = config()
    groups = parse_config(raw_config).groups
    work = plan(random.Random(20261124))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    with HostProcess(
        azurite.connection_string, table_name, FAILOVER_CONFIG=json.dumps(raw_config)
    ) as host:
        session_local = threading.local()

        def deliver(body: bytes) -> None:
            session = getattr(session_local, "s", None) or api.ContractSession()
            session_local.s = session
            started = time.perf_counter()
            response = session.post(f"{host.url}/alerts", data=body, timeout=60)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[response.status_code] += 1

        started = time.perf_counter()
        for wave in (work.opening, work.closing):
            with ThreadPoolExecutor(max_workers=SENDERS) as pool:
                list(pool.map(deliver, wave))
        duration = time.perf_counter() - started
        status = api.get(f"{host.url}/status", timeout=60).json()["groups"]

    deliveries = len(work.opening) + len(work.closing)
    assert deliveries >= 1000
    assert {200: deliveries} == dict(statuses)
    expected = expected_states(groups, work.ordered)
    actual = {g["group"]: g for g in status}
    for name, state in expected.items():
        closed = {i["key"]: i["phase"] for i in actual[name]["closedIncidents"]}
        want_closed = {k: i.phase.name.lower() for k, i in state.incidents.items() if not i.open}
        assert (state.active, state.version, want_closed, []) == (
            actual[name]["account"]["name"],
            actual[name]["version"],
            closed,
            actual[name]["openIncidents"],
        ), name
    audit_lines = Counter(
        e["PartitionKey"]
        for e in TableServiceClient.from_connection_string(azurite.connection_string)
        .get_table_client(table_name)
        .query_entities("RowKey ge 'audit|' and RowKey lt 'audit}'", select=["PartitionKey"])
    )
    assert audit_lines_expected(groups, work.opening + work.closing) == audit_lines
    with capsys.disabled():  # the figures belong in the CI log, not in captured output
        _report(deliveries, duration, latencies)


def _report(deliveries: int, duration: float, latencies: list[float]) -> None:
    ms = sorted(x * 1000 for x in latencies)
    figures = {
        "deliveries": deliveries,
        "senders": SENDERS,
        "seconds": round(duration, 1),
        "per_second": round(deliveries / duration, 1),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[int(len(ms) * 0.95)], 1),
        "p99_ms": round(ms[int(len(ms) * 0.99)], 1),
        "max_ms": round(ms[-1], 1),
    }
    print(f"\nload: {json.dumps(figures)}")


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
