"""One contract, two stores: the in-memory fake and TableStateStore on real Azurite."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableServiceClient

from shared.adapters.memory_store import InMemoryStateStore
from shared.adapters.table_store import TableStateStore
from shared.app.errors import ConflictError
from shared.app.ports import StateStore
from shared.core.decide import decide
from shared.core.failover import initial_state
from shared.core.fanout import FanoutJob
from shared.core.lifecycle import Arrival, known_update, tombstone
from shared.core.listing import ActiveSummary
from shared.core.model import Phase, Signal, SignalKind
from shared.core.state import AuditRecord, GroupState, IncidentStatus, KnownUpdate
from tests.core import (
    CENTRAL,
    EAST,
    T0,
    WEST,
    failing,
    group,
    incident,
    passing,
    resource_health,
)

GRP = group(name="tenant-a")
OTHER = group(EAST, WEST, CENTRAL, name="tenant-b")
CONFIG_GROUPS = (GRP, OTHER)


@pytest.fixture(params=["in-memory", "azurite"])
def store(
    request: pytest.FixtureRequest,
) -> Iterator[StateStore]:
    """The store under contract: the fake, or the real adapter on a fresh Azurite table."""
    if request.param == "in-memory":
        yield InMemoryStateStore()
        return
    service: TableServiceClient = request.getfixturevalue("table_service")
    name: str = request.getfixturevalue("table_name")
    yield TableStateStore(service.get_table_client(name))
    service.delete_table(name)


def audit(group_name: str, record_id: str, minutes: float = 0) -> AuditRecord:
    """A minimal audit line."""
    return AuditRecord(
        group=group_name,
        time=T0 + timedelta(minutes=minutes),
        action="recorded",
        from_account=EAST.name,
        to_account=EAST.name,
        reason=f"line {record_id}",
        actor="test",
        record_id=record_id,
        regions=("East US",),
        services=("Azure AI Video Indexer",),
    )


def failed_over(start: GroupState) -> GroupState:
    """The state after a Service Health incident and a Resource Health event on east."""
    first = decide(incident(), GRP, start, T0, "a").new_state
    assert first is not None
    second = decide(resource_health(EAST), GRP, first, T0, "b").new_state
    assert second is not None
    return second


def moved_and_pinned(created: GroupState) -> GroupState:
    """`created` failed over, pinned for an hour, with a readiness row per account."""
    return replace(
        failed_over(created),
        pinned=True,
        pin_expires=T0 + timedelta(hours=1),
        readiness={EAST.name: failing(3), WEST.name: passing()},
    )


def test_unknown_group_loads_as_none(store: StateStore) -> None:
    """A group never saved reads as None."""
    assert store.load_group("nobody") is None


def test_saved_state_reads_back_equal(store: StateStore) -> None:
    """Active account, version, pin and incidents round-trip exactly."""
    created = store.save(GRP, None, initial_state(GRP, T0), [])
    moved = replace(moved_and_pinned(created), blocked_since=T0)

    saved = store.save(GRP, created, moved, [])
    loaded = store.load_group(GRP.name)

    assert loaded is not None
    assert replace(moved, etag=None) == replace(loaded, etag=None)
    assert saved.etag == loaded.etag


def test_load_active_is_the_state_without_incidents_or_readiness(store: StateStore) -> None:
    """The point read returns every active-account field and the ETag, and no ledger."""
    created = store.save(GRP, None, initial_state(GRP, T0), [])
    moved = moved_and_pinned(created)
    saved = store.save(GRP, created, moved, [])
    head = store.load_active(GRP.name)

    assert store.load_active("nobody") is None
    assert moved.incidents  # so the comparison below shows they are left out
    assert replace(saved, incidents={}, readiness={}) == head


def test_readiness_updates_replace_the_previous_probe(store: StateStore) -> None:
    """A later readiness record of an account replaces the earlier one."""
    created = store.save(
        GRP, None, replace(initial_state(GRP, T0), readiness={EAST.name: passing()}), []
    )

    store.save(GRP, created, replace(created, readiness={EAST.name: failing(2)}), [])

    loaded = store.load_group(GRP.name)
    assert loaded is not None
    assert {EAST.name: failing(2)} == loaded.readiness


def test_an_incident_that_reopens_loses_its_closed_time(store: StateStore) -> None:
    """Fields a newer incident record no longer has are gone after the save, not merged."""
    created = store.save(GRP, None, initial_state(GRP, T0), [])
    opened = failed_over(created)
    incident_key = "VT0X-1AB"
    closed = replace(opened.incidents[incident_key], status=IncidentStatus.CLOSED, closed_at=T0)
    first = store.save(GRP, created, replace(opened, incidents={incident_key: closed}), [])

    store.save(
        GRP, first, replace(first, incidents={incident_key: opened.incidents[incident_key]}), []
    )

    loaded = store.load_group(GRP.name)
    assert loaded is not None
    assert (True, None) == (
        loaded.incidents[incident_key].open,
        loaded.incidents[incident_key].closed_at,
    )


def test_a_tombstone_and_the_impact_ended_times_round_trip(store: StateStore) -> None:
    """A compacted incident keeps its key, last update and times; impact-ended times survive."""
    created = store.save(GRP, None, initial_state(GRP, T0), [])
    opened = store.save(GRP, created, failed_over(created), [])
    key = "VT0X-1AB"
    small = tombstone(replace(opened.incidents[key], closed_at=T0, clamped_updates=("future-1",)))
    ended = {EAST.name: T0 + timedelta(minutes=3)}

    store.save(
        GRP,
        opened,
        replace(opened, incidents={**opened.incidents, key: small}, impact_ended=ended),
        [],
    )

    loaded = store.load_group(GRP.name)
    assert loaded is not None
    assert (small, ended) == (loaded.incidents[key], loaded.impact_ended)
    assert (IncidentStatus.TOMBSTONE, frozenset(), "") == (
        small.status,
        small.impacted,
        small.title,
    )


def test_the_mode_and_a_shadow_placement_round_trip(store: StateStore) -> None:
    """The mode and the would-be placement survive, beside the flag apps read."""
    shadow_group = replace(GRP, policy=replace(GRP.policy, mode="shadow"))
    created = store.save(GRP, None, initial_state(GRP, T0), [])
    start = initial_state(shadow_group, T0)
    assert start.shadow is not None
    would = replace(
        start.shadow,
        account=WEST.name,
        since=T0 + timedelta(minutes=1),
        reason="would have moved",
        auto_moves=(T0 + timedelta(minutes=1),),
        blocked_since=T0,
        apart_since=T0 + timedelta(minutes=1),
    )

    store.save(shadow_group, created, replace(start, shadow=would), [])
    loaded = store.load_active(GRP.name)

    assert loaded is not None
    assert ("shadow", would, EAST.name) == (loaded.mode, loaded.shadow, loaded.active)


@pytest.mark.parametrize(
    "event_time",
    [
        datetime(1601, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
    ids=["earliest", "latest"],
)
def test_the_extreme_times_table_storage_holds_round_trip(
    store: StateStore, event_time: datetime
) -> None:
    """Event times at both ends of Table Storage's range are stored and read back whole."""
    created = store.save(GRP, None, initial_state(GRP, T0), [])
    opened = store.save(GRP, created, failed_over(created), [])
    key = "VT0X-1AB"
    extreme = replace(opened.incidents[key], event_time=event_time)

    store.save(GRP, opened, replace(opened, incidents={**opened.incidents, key: extreme}), [])

    loaded = store.load_group(GRP.name)
    assert loaded is not None
    assert event_time == loaded.incidents[key].event_time


def kept(signal: Signal, now: datetime) -> KnownUpdate:
    """The signal kept as its incident's newest update at `now`."""
    return known_update(signal, Arrival(signal.event_time), now, ("video indexer",))


def test_the_newest_update_of_an_incident_is_kept_and_read_back_whole(
    store: StateStore,
) -> None:
    """Keeping an older update after a newer one keeps the newer; a read gives it back whole."""
    rca = incident(phase=Phase.RCA, update="3", minutes=90, regions=("East US", "Global"))
    resolved = incident(phase=Phase.RESOLVED, update="2", minutes=30)
    newer = replace(kept(rca, T0), clamped_updates=("future-1",))

    store.remember_newest(newer)
    store.remember_newest(kept(resolved, T0))

    assert newer == store.load_newest(SignalKind.SERVICE_HEALTH, rca.key)
    assert store.load_newest(SignalKind.SERVICE_HEALTH, "OTHER-1") is None


def test_kept_updates_are_forgotten_a_few_at_a_time(store: StateStore) -> None:
    """Updates kept before the cut-off go, at most `limit` per call; newer ones stay."""
    for n in range(3):
        store.remember_newest(kept(incident(tracking_id=f"OLD-{n}"), T0))
    store.remember_newest(kept(incident(tracking_id="NEW-1"), T0 + timedelta(days=9)))
    cut = T0 + timedelta(days=1)

    first = store.forget_newest(cut, 2)
    second = store.forget_newest(cut, 2)

    assert (2, 1) == (first, second)
    remaining = [
        key
        for key in ("OLD-0", "OLD-1", "OLD-2", "NEW-1")
        if store.load_newest(SignalKind.SERVICE_HEALTH, key) is not None
    ]
    assert ["NEW-1"] == remaining


def test_stale_etag_is_a_conflict_and_writes_nothing(store: StateStore) -> None:
    """A save from an outdated read fails, and neither its state nor its audit lands."""
    created = store.save(GRP, None, initial_state(GRP, T0), [])
    store.save(GRP, created, replace(created, reason="first writer"), [audit(GRP.name, "w1")])

    with pytest.raises(ConflictError):
        store.save(GRP, created, replace(created, reason="second writer"), [audit(GRP.name, "w2")])

    loaded = store.load_group(GRP.name)
    assert loaded is not None
    assert "first writer" == loaded.reason
    assert ["w1"] == [r.record_id for r in store.history([GRP.name], 10, unmatched=False)]


def test_creating_an_existing_group_is_a_conflict(store: StateStore) -> None:
    """Two first-time writers: the second one's create fails."""
    store.save(GRP, None, initial_state(GRP, T0), [])

    with pytest.raises(ConflictError):
        store.save(GRP, None, initial_state(GRP, T0), [])


def test_removed_incidents_are_deleted(store: StateStore) -> None:
    """Incidents dropped from the state are gone after the save."""
    created = store.save(GRP, None, initial_state(GRP, T0), [])
    with_incidents = store.save(GRP, created, failed_over(created), [])

    store.save(GRP, with_incidents, replace(with_incidents, incidents={}), [])

    loaded = store.load_group(GRP.name)
    assert loaded is not None
    assert loaded.incidents == {}


def test_groups_tracking_finds_every_holder(store: StateStore) -> None:
    """The groups holding an incident key are found, including resource-id keys."""
    for grp in CONFIG_GROUPS:
        created = store.save(grp, None, initial_state(grp, T0), [])
        after = decide(incident(), grp, created, T0, "x").new_state
        assert after is not None
        after = decide(resource_health(EAST), grp, after, T0, "y").new_state
        assert after is not None
        store.save(grp, created, after, [])

    by_tracking = store.groups_tracking("VT0X-1AB")
    by_resource = store.groups_tracking(EAST.resource_id.lower())
    nobody = store.groups_tracking("NOPE-000")

    assert (
        by_tracking,
        by_resource,
        nobody,
    ) == (["tenant-a", "tenant-b"], ["tenant-a", "tenant-b"], [])


def test_history_is_newest_first_limited_and_merged(store: StateStore) -> None:
    """History merges groups, orders newest first, and honours the limit."""
    store.append_audit([audit(GRP.name, "a1", 1), audit(OTHER.name, "b2", 2)])
    store.append_audit([audit(GRP.name, "a3", 3), audit("", "u4", 4)])

    everything = store.history([GRP.name, OTHER.name], 10, unmatched=True)
    limited = store.history([GRP.name, OTHER.name], 2, unmatched=False)
    one = store.history([OTHER.name], 10, unmatched=False)

    assert ["u4", "a3", "b2", "a1"] == [r.record_id for r in everything]
    assert ["a3", "b2"] == [r.record_id for r in limited]
    assert [audit(OTHER.name, "b2", 2)] == one


def test_appending_the_same_record_twice_keeps_one(store: StateStore) -> None:
    """Audit appends are idempotent per record id."""
    store.append_audit([audit(GRP.name, "same")])
    store.append_audit([audit(GRP.name, "same")])

    assert 1 == len(store.history([GRP.name], 10, unmatched=False))


def test_two_racing_writers_exactly_one_wins(store: StateStore) -> None:
    """Eight writers save from the same read: exactly one lands, the rest conflict."""
    created = store.save(GRP, None, initial_state(GRP, T0), [])
    barrier = threading.Barrier(8, timeout=30)
    results: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        barrier.wait()
        try:
            store.save(GRP, created, replace(created, reason=f"w{n}"), [audit(GRP.name, f"r{n}")])
            outcome = "won"
        except ConflictError:
            outcome = "conflict"
        with lock:
            results.append(outcome)

    _run_all([functools.partial(writer, n) for n in range(8)])

    assert (1, 7) == (results.count("won"), results.count("conflict"))
    assert 1 == len(store.history([GRP.name], 10, unmatched=False))


def test_ping_answers_when_reachable(store: StateStore) -> None:
    """A reachable store pings without error."""
    store.ping()

    assert store.load_group(GRP.name) is None


def test_fanout_jobs_are_found_by_their_update(store: StateStore) -> None:
    """An accepted fan-out is read back by kind, key and update id (keys may hold '/');
    another update of the same incident is not it, and re-recording replaces the record."""
    key = EAST.resource_id.lower()
    job = FanoutJob(
        job="d1",
        kind=SignalKind.RESOURCE_HEALTH,
        key=key,
        update_id="u/1",
        groups=250,
        digest="abc",
        batches=10,
        accepted_at=T0,
    )
    missing_before = store.fanout_job(SignalKind.RESOURCE_HEALTH, key, "u/1")
    store.save_fanout_job(job)
    store.save_fanout_job(replace(job, job="d2", update_id="u/2"))
    store.save_fanout_job(replace(job, job="d3", groups=251))

    assert missing_before is None
    assert replace(job, job="d3", groups=251) == store.fanout_job(
        SignalKind.RESOURCE_HEALTH, key, "u/1"
    )
    assert "d2" == getattr(store.fanout_job(SignalKind.RESOURCE_HEALTH, key, "u/2"), "job", None)
    assert store.fanout_job(SignalKind.SERVICE_HEALTH, key, "u/1") is None


def _run_all(jobs: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def test_old_audit_lines_of_unmatched_alerts_are_forgotten_a_few_at_a_time(
    store: StateStore,
) -> None:
    """Lines of alerts that touched no group, older than the cut-off, go (at most `limit` per
    call); newer ones and every group's lines stay."""
    store.append_audit([audit("", f"old-{n}", minutes=n) for n in range(5)])
    store.append_audit([audit("", "new", minutes=600), audit(GRP.name, "group-old", minutes=1)])
    cut = T0 + timedelta(minutes=300)

    first = store.forget_unmatched(cut, 3)
    second = store.forget_unmatched(cut, 3)

    left = [r.record_id for r in store.history([GRP.name], 10, unmatched=True)]
    assert (3, 2) == (first, second)
    assert ["new", "group-old"] == left


def test_active_summaries_hold_each_written_groups_account_pin_and_block(
    store: StateStore,
) -> None:
    """One query gives every written group's active account, pin and block, and nothing of a
    group never written."""
    created = store.save(GRP, None, initial_state(GRP, T0), [])
    store.save(GRP, created, replace(moved_and_pinned(created), blocked_since=T0), [])
    store.save(OTHER, None, initial_state(OTHER, T0), [])

    summaries = sorted(store.active_summaries(), key=lambda s: s.group)

    assert [
        ActiveSummary(GRP.name, WEST.name, True, T0 + timedelta(hours=1), T0),
        ActiveSummary(OTHER.name, EAST.name, False, None, None),
    ] == summaries


def test_unready_accounts_are_those_whose_latest_check_failed(store: StateStore) -> None:
    """Only failed checks are returned, by group; passing and never-probed accounts are not."""
    created = store.save(GRP, None, initial_state(GRP, T0), [])
    store.save(GRP, created, moved_and_pinned(created), [])  # east failing, west passing
    healthy = replace(initial_state(OTHER, T0), readiness={EAST.name: passing()})
    other = store.save(OTHER, None, healthy, [])
    before = store.unready_accounts()

    store.save(OTHER, other, replace(other, readiness={CENTRAL.name: failing(1)}), [])

    assert {GRP.name: frozenset({EAST.name})} == before
    assert {
        GRP.name: frozenset({EAST.name}),
        OTHER.name: frozenset({CENTRAL.name}),
    } == store.unready_accounts()
