"""The client reads what the app writes, holds it, and refreshes it in the background: reads never
wait on the network once a value is held, whatever the sources do.

Real parts throughout: the app under the local host on Azurite for the contract, Azurite
instances as table primary and secondary, and a local HTTP server speaking the endpoint's wire
format, held by events when a test needs a hung source. The client's TTL runs on a fake clock.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.credentials import AzureNamedKeyCredential
from azure.data.tables import TableClient
from vi_failover_client import (
    ActiveAccount,
    ActiveAccountClient,
    ActiveAccountUnavailableError,
    Problem,
    TableSource,
)
from vi_failover_client.refresh import SourceState, interval, order

from devhost.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite
from shared.adapters.table_store import TableStateStore
from shared.core.decide import decide
from shared.core.failover import initial_state
from tests import alertfactory as af
from tests.activeaccount_server import ActiveAccountServer, view
from tests.clientkit import FakeClock, as_view, dead_table, dead_url, table_endpoint
from tests.core import T0, group, incident
from tests.hosting import HostProcess

FUNCTION_KEY = "fk-client-7d2e91c4b0a34f6e"
MASTER_KEY = "mk-client-1b8f03d5e7a94c22"


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves."""
    return FakeClock()


@pytest.fixture
def endpoint() -> Iterator[ActiveAccountServer]:
    """The active-account endpoint's wire format on a local port: contoso-eastus, version 1."""
    with ActiveAccountServer() as server:
        yield server


def client_of(*urls: str, **options: Any) -> ActiveAccountClient:
    """A client of these endpoints for group default that never draws jitter."""
    return ActiveAccountClient(group="default", endpoints=list(urls), draw=lambda: 0.0, **options)


# --- the contract: what the app writes ---------------------------------------------------------


def test_the_client_reads_what_the_app_serves_and_stores(azurite: Azurite, table_name: str) -> None:
    """After a failover and a pin, the endpoint and the table both read as the app's own view."""
    keys = {"LOCAL_FUNCTION_KEY": FUNCTION_KEY, "LOCAL_MASTER_KEY": MASTER_KEY}
    table = TableSource.from_connection_string(azurite.connection_string, table_name=table_name)
    with HostProcess(azurite.connection_string, table_name, **keys) as host:
        key = {"x-functions-key": FUNCTION_KEY}
        moved = requests.post(
            f"{host.url}/alerts",
            data=af.to_body(af.service_health()),
            headers={**key, "Content-Type": "application/json"},
            timeout=30,
        ).json()
        pinned = requests.post(
            f"{host.url}/failover",
            json={"pin": True, "pinMinutes": 60, "reason": "client contract"},
            headers={"x-functions-key": MASTER_KEY},
            timeout=30,
        ).json()
        served = requests.get(f"{host.url}/active-account?group=default", headers=key, timeout=30)
        with client_of(host.url, function_key=FUNCTION_KEY) as client:
            through_endpoint = client.get()
        with ActiveAccountClient(group="default", table=table) as client:
            from_table = client.get()

    assert ("failed_over", "pinned") == (moved["outcome"], pinned["outcome"])
    assert ("contoso-westus", True) == (served.json()["account"]["name"], served.json()["pinned"])
    assert served.json() == as_view(through_endpoint)
    assert served.json() == as_view(from_table)
    assert (f"endpoint:{host.url}", served.headers["ETag"]) == (
        through_endpoint.source,
        through_endpoint.etag,
    )
    assert ("table:primary", False, False) == (
        from_table.source,
        from_table.stale,
        through_endpoint.stale,
    )


# --- the fallback chain ------------------------------------------------------------------------


def test_fallback_goes_endpoint_table_primary_secondary_held_value_then_file(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Endpoint down → primary; primary stopped → secondary; both → the held value, stale with
    time; a new client with every source down starts from the file (stale)."""
    table_name = "FailoverState"
    grp = group()
    state = decide(incident(), grp, initial_state(grp, T0), T0, "1").new_state
    assert state is not None
    last_known_good = tmp_path / "active.json"
    with Azurite() as primary, Azurite() as secondary:
        written = TableClient.from_connection_string(primary.connection_string, table_name)
        TableStateStore(written).save(grp, None, state, [])
        # What geo-replication would copy: the primary's entity, as it stands.
        replica = TableClient.from_connection_string(secondary.connection_string, table_name)
        replica.create_table()
        replica.create_entity(written.get_entity("default", "active"))
        table = TableSource(
            primary_endpoint=table_endpoint(primary),
            secondary_endpoint=table_endpoint(secondary),
            credential=AzureNamedKeyCredential(ACCOUNT_NAME, ACCOUNT_KEY),
            table_name=table_name,
        )
        options: dict[str, Any] = {"table": table, "last_known_good": last_known_good}
        client = client_of(dead_url(), ttl=10, max_staleness=60, clock=clock, **options)
        reads = [client.get()]
        primary.stop()
        clock.advance(11)
        client.refresh()
        reads.append(client.get())
        secondary.stop()
        clock.advance(11)
        client.refresh()
        reads.append(client.get())
        clock.advance(60)
        reads.append(client.get())
        client.close()
        with client_of(dead_url(), **options) as restarted:
            from_file = restarted.get()
            file_age = restarted.status().age_seconds

    assert [
        ("table:primary", False),
        ("table:secondary", False),
        ("table:secondary", False),
        ("table:secondary", True),
    ] == [(r.source, r.stale) for r in reads]
    assert {("contoso-westus", 2)} == {(r.name, r.version) for r in reads}
    assert ("last-known-good", True, None) == (from_file.source, from_file.stale, file_age)
    assert as_view(reads[1]) == as_view(from_file)
    assert reads[1].fetched_at == from_file.fetched_at


def test_nothing_read_and_every_source_down_names_every_source(
    tmp_path: Path, endpoint: ActiveAccountServer
) -> None:
    """With no value ever read, the first read raises, listing each source tried and why."""
    endpoint.serve(status=503)
    down = dead_url()
    client = client_of(
        endpoint.url,
        down,
        table=dead_table(),
        last_known_good=tmp_path / "never-written.json",
    )

    with pytest.raises(ActiveAccountUnavailableError) as raised:
        client.get()
    client.close()

    failures = raised.value.failures
    assert [
        f"endpoint:{endpoint.url}",
        f"endpoint:{down}",
        "table:primary",
        "table:secondary",
        f"last-known-good ({tmp_path / 'never-written.json'})",
    ] == [label for label, _ in failures]
    assert "answered 503" == failures[0][1]
    assert "unreachable (Connection refused)" == failures[1][1]
    assert failures[2][1].startswith("unreachable (Connection refused")
    assert "no file yet" == failures[4][1]
    assert all(f"{label}: {why}" in str(raised.value) for label, why in failures)


def test_a_failing_endpoint_hands_over_to_the_next_one(endpoint: ActiveAccountServer) -> None:
    """5xx, hangs past the timeout and malformed answers all move on to the next endpoint."""
    gate = threading.Event()
    scripts: list[dict[str, Any]] = [
        {"status": 503},
        {"raw": b"not json"},
        {"raw": b'{"group": "default", "account": {"name": 7}}'},
        {"gate": gate},
    ]
    reads = []
    with ActiveAccountServer(view("contoso-westus", 2)) as healthy:
        for script in scripts:
            endpoint.serve(**script)
            with client_of(endpoint.url, healthy.url, timeout=0.2) as client:
                reads.append(client.get())
        gate.set()

    assert [f"endpoint:{healthy.url}"] * len(scripts) == [r.source for r in reads]
    assert {("contoso-westus", 2)} == {(r.name, r.version) for r in reads}


# --- reads never wait once a value is held -----------------------------------------------------


def test_with_every_source_hung_reads_return_the_held_value_at_once(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """A refresh held by a hung endpoint and a hung table never holds up a get(), in any thread."""
    client = client_of(endpoint.url, ttl=10, clock=clock, timeout=5, refresh_deadline=5)
    first = client.get()
    gate = threading.Event()
    endpoint.serve(view("contoso-westus", 2), gate=gate)
    clock.advance(11)
    reads: list[ActiveAccount] = []
    lock = threading.Lock()

    def read_many() -> None:
        for _ in range(200):
            account = client.get()
            with lock:
                reads.append(account)

    threads = [threading.Thread(target=read_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    in_flight = client.status().refreshing
    gate.set()
    client.refresh()
    after = client.get()
    client.close()

    assert in_flight
    assert 1600 == len(reads)
    assert {first.version} == {r.version for r in reads}
    assert ("contoso-westus", 2) == (after.name, after.version)


def test_a_due_value_is_refreshed_in_the_background_and_served_meanwhile(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """Past the TTL get() still answers the held value and starts a refresh; on_change sees the
    move, and the next get() serves it."""
    moved = threading.Event()

    def on_change(new: ActiveAccount, old: ActiveAccount | None) -> None:
        if old is not None:
            moved.set()

    client = client_of(endpoint.url, ttl=10, clock=clock, on_change=on_change)
    client.get()
    endpoint.serve(view("contoso-westus", 2))
    clock.advance(4.9)
    within = client.get()
    requests_within = len(endpoint.seen)
    clock.advance(5.2)

    during = client.get()
    seen_move = moved.wait(timeout=10)
    after = client.get()
    client.close()

    assert (1, "contoso-eastus", 1) == (requests_within, within.name, during.version)
    assert seen_move
    assert ("contoso-westus", 2) == (after.name, after.version)


def test_one_deadline_bounds_a_refresh_across_hung_sources(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """Two hung endpoints: the refresh ends within its deadline, the second getting what is left."""
    gate = threading.Event()
    with ActiveAccountServer() as second:
        client = client_of(endpoint.url, second.url, clock=clock, timeout=0.3, refresh_deadline=0.4)
        client.get()
        endpoint.serve(gate=gate)
        second.serve(gate=gate)
        clock.advance(11)

        started = time.monotonic()
        status = client.refresh()
        took = time.monotonic() - started
        gate.set()
        client.close()

    assert took < 2.0
    assert ["timed out after 0.3 s", "timed out after 0.1 s"] == [s.error for s in status.sources]
    assert "contoso-eastus" == (status.account.name if status.account else None)


def test_a_failed_source_is_tried_after_the_healthy_ones_until_its_recheck(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """After the first endpoint fails, refreshes ask the second first; after recheck_after the
    first gets its place back."""
    with ActiveAccountServer() as second:
        client = client_of(endpoint.url, second.url, clock=clock, recheck_after=60)
        client.get()
        endpoint.serve(status=503)
        counts = []
        for _ in range(3):
            clock.advance(11)
            client.refresh()
            counts.append((len(endpoint.seen), len(second.seen)))
        endpoint.serve()
        clock.advance(60)
        client.refresh()
        counts.append((len(endpoint.seen), len(second.seen)))
        source = client.get().source
        client.close()

    # The check reads both; refresh 1 tries the first (503), then the second; 2 and 3 the second.
    assert [(2, 2), (2, 3), (2, 4), (3, 4)] == counts
    assert f"endpoint:{endpoint.url}" == source


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        pytest.param([SourceState("a"), SourceState("b")], [0, 1], id="all healthy"),
        pytest.param([SourceState("a", failed_at=995.0), SourceState("b")], [1, 0], id="a failed"),
        pytest.param(
            [SourceState("a", failed_at=900.0), SourceState("b", failed_at=999.0)],
            [0, 1],
            id="a's failure is old enough to recheck",
        ),
        pytest.param(
            [SourceState("a", failed_at=999.0), SourceState("b", failed_at=998.0)],
            [0, 1],
            id="all failed keep their order",
        ),
    ],
)
def test_the_order_puts_recent_failures_last(
    states: list[SourceState], expected: list[int]
) -> None:
    """order(): sources that answer in configured order, then those that failed lately."""
    assert expected == order(states, now=1000.0, recheck_after=60.0)


@pytest.mark.parametrize(
    ("ttl", "max_age", "jitter", "draw", "expected"),
    [
        pytest.param(10, None, 0.2, 0.0, 10.0, id="ttl"),
        pytest.param(10, 2, 0.2, 0.0, 2.0, id="max-age shorter than ttl wins"),
        pytest.param(1.5, 10, 0.2, 0.0, 1.5, id="ttl shorter than max-age wins"),
        pytest.param(10, None, 0.2, 0.5, 9.0, id="jitter shortens"),
        pytest.param(10, 0, 0.2, 0.0, 1.0, id="max-age 0: at least a second"),
    ],
)
def test_the_refresh_interval_is_the_smaller_of_ttl_and_max_age_less_jitter(
    ttl: float, max_age: float | None, jitter: float, draw: float, expected: float
) -> None:
    """interval(): the endpoint's max-age can shorten the TTL, never lengthen it; jitter spreads."""
    assert expected == pytest.approx(interval(ttl, max_age, jitter, draw))


def test_a_refresh_revalidates_with_the_etag_and_a_304_keeps_the_value(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """Refreshes send If-None-Match with the held ETag; a 304 keeps the value, fresh."""
    client = client_of(endpoint.url, clock=clock)

    first = client.get()
    clock.advance(11)
    client.refresh()
    second = client.get()
    client.close()

    assert [None, '"default.v1"'] == [s.headers.get("If-None-Match") for s in endpoint.seen]
    assert as_view(first) == as_view(second)
    assert (False, '"default.v1"') == (second.stale, second.etag)


def test_a_held_value_outlives_an_outage_and_turns_stale_with_one_warning(
    endpoint: ActiveAccountServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """In an outage the held value serves on, stale past max_staleness, with two warnings in all."""
    caplog.set_level(logging.INFO, logger="vi_failover_client")
    problems: list[Problem] = []
    client = client_of(
        endpoint.url, ttl=10, max_staleness=60, clock=clock, on_problem=problems.append
    )
    first = client.get()
    endpoint.serve(status=503)

    reads = []
    for step in (11, 11, 50, 11):
        clock.advance(step)
        client.refresh()
        reads.append(client.get())
    degraded = client.status()
    endpoint.serve()
    clock.advance(11)
    client.refresh()
    reads.append(client.get())
    client.close()

    assert [False, False, True, True, False] == [r.stale for r in reads]
    assert {first.version} == {r.version for r in reads}
    assert all(r.fetched_at == first.fetched_at for r in reads[:4])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert 2 == len(warnings)
    assert "every live source failed" in warnings[0]
    assert "is now stale" in warnings[1]
    assert ["unavailable"] == [p.kind for p in problems]
    assert (True, ["unavailable"]) == (degraded.stale, [p.kind for p in degraded.problems])
    assert 5 + 1 == len(endpoint.seen)


def test_status_says_what_is_held_from_where_how_old_and_each_sources_last_error(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """status(): the account, its source and age, and the last error of a failing source."""
    down = dead_url()
    client = client_of(down, endpoint.url, clock=clock)
    client.get()
    clock.advance(3)

    status = client.status()
    document = json.loads(json.dumps(status.as_dict()))
    client.close()

    assert (True, f"endpoint:{endpoint.url}", 3.0) == (
        status.ready,
        status.source,
        status.age_seconds,
    )
    assert [
        (f"endpoint:{down}", False, "unreachable (Connection refused)"),
        (f"endpoint:{endpoint.url}", True, None),
    ] == [(s["source"], s["ok"], s["error"]) for s in document["sources"]]
    assert "contoso-eastus" == document["account"]["name"]


def test_last_known_good_is_written_whole_after_each_live_read(
    endpoint: ActiveAccountServer, clock: FakeClock, tmp_path: Path
) -> None:
    """The file holds the latest value and who wrote it, and no temporary file is left beside it."""
    path = tmp_path / "state" / "active.json"
    client = client_of(endpoint.url, last_known_good=path, clock=clock)
    client.get()
    endpoint.serve(view("contoso-westus", 2))
    clock.advance(11)
    client.refresh()

    latest = client.get()
    client.close()

    saved = json.loads(path.read_text())
    assert as_view(latest) == {k: saved[k] for k in as_view(latest)}
    assert (latest.source, latest.etag) == (saved["source"], saved["etag"])
    assert {"source": f"endpoint:{endpoint.url}", "group": "default"} == saved["writer"]
    assert ["active.json"] == [p.name for p in path.parent.iterdir()]


def test_an_unwritable_last_known_good_file_does_not_fail_reads(
    endpoint: ActiveAccountServer,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A file that cannot be saved is warned about once; the reads still succeed."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    client = client_of(endpoint.url, last_known_good=blocker / "active.json", clock=clock)

    reads = [client.get()]
    clock.advance(11)
    client.refresh()
    reads.append(client.get())
    client.close()

    assert ["contoso-eastus", "contoso-eastus"] == [r.name for r in reads]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 == len(warnings)
    assert "cannot save the last-known-good file" in warnings[0].getMessage()


# --- changes and sessions ----------------------------------------------------------------------


def test_on_change_fires_once_per_change_with_new_and_old(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """The first read and each later move or pin call on_change once, with (new, old)."""
    changes: list[tuple[str, int, int | None]] = []
    client = client_of(
        endpoint.url,
        clock=clock,
        on_change=lambda new, old: changes.append(
            (new.name, new.version, old.version if old else None)
        ),
    )

    client.get()
    for body in (None, view("contoso-westus", 2), None, view("contoso-westus", 3, pinned=True)):
        if body is not None:
            endpoint.serve(body)
        clock.advance(11)
        client.refresh()
    client.close()

    assert [
        ("contoso-eastus", 1, None),
        ("contoso-westus", 2, 1),
        ("contoso-westus", 3, 2),
    ] == changes


def test_a_session_keeps_one_account_while_the_flag_moves(
    endpoint: ActiveAccountServer, clock: FakeClock
) -> None:
    """A job's session keeps its account after a move; a session opened later gets the new one."""
    client = client_of(endpoint.url, clock=clock)

    with client.session() as job:
        endpoint.serve(view("contoso-westus", 2))
        clock.advance(11)
        client.refresh()
        with client.session() as later_job:
            during = client.get()
        still = job
    client.close()

    assert ("contoso-eastus", 1) == (still.name, still.version)
    assert ("contoso-westus", "contoso-westus") == (during.name, later_job.name)


# --- the first value ---------------------------------------------------------------------------


def test_wait_until_ready_with_every_source_hung_raises_at_its_deadline(
    endpoint: ActiveAccountServer,
) -> None:
    """The first value waits no longer than the app's deadline, then names the silent sources."""
    gate = threading.Event()
    endpoint.serve(gate=gate)
    client = client_of(endpoint.url, timeout=5)

    started = time.monotonic()
    with pytest.raises(ActiveAccountUnavailableError) as raised:
        client.wait_until_ready(0.3)
    took = time.monotonic() - started
    gate.set()
    client.close()

    assert 0.3 <= took < 2.0
    assert [(f"endpoint:{endpoint.url}", "no answer within 0.3 s")] == list(raised.value.failures)


def test_a_hung_source_at_start_holds_the_first_value_only_until_the_deadline(
    endpoint: ActiveAccountServer,
) -> None:
    """With one endpoint hung and one answering, the first get() returns at ready_timeout;
    on_change hears of that first value once the check has ended."""
    gate, announced = threading.Event(), threading.Event()
    changes: list[tuple[str, ActiveAccount | None]] = []

    def on_change(new: ActiveAccount, old: ActiveAccount | None) -> None:
        changes.append((new.name, old))
        announced.set()

    endpoint.serve(gate=gate)
    with ActiveAccountServer(view("contoso-westus", 2)) as healthy:
        client = client_of(
            endpoint.url, healthy.url, timeout=5, ready_timeout=0.3, on_change=on_change
        )

        started = time.monotonic()
        first = client.get()
        took = time.monotonic() - started
        again = client.get()
        gate.set()
        heard = announced.wait(timeout=10)
        client.close()

    assert 0.3 <= took < 2.0
    assert ("contoso-westus", f"endpoint:{healthy.url}") == (first.name, first.source)
    assert again is first
    assert (True, [("contoso-westus", None)]) == (heard, changes)
