"""The incident lifecycle on the pure core: payload times only order updates; everything the
controller measures (closed, impact ended, retention, stable window) is on its own clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.core.decide import decide
from shared.core.failback import decide_failback
from shared.core.lifecycle import Arrival, arrival, known_update, tidy
from shared.core.manual import ManualRequest, UnsafeTargetError, decide_manual
from shared.core.model import Group, ImpactedService, Phase, Signal, Timekeeping
from shared.core.state import Decision, GroupState, IncidentStatus, KnownUpdate
from tests.core import EAST, T0, WEST, group, incident, passing, resource_health, state

DAY = timedelta(days=1)
YEAR = timedelta(days=365)
CLOCK = Timekeeping()
AUTO = group(failback="auto", failback_stable_minutes=30, min_dwell_minutes=0)


def at(offset: timedelta) -> datetime:
    """The controller's clock, `offset` after T0."""
    return T0 + offset


def sent(signal: Signal, when: datetime) -> Signal:
    """The signal with this payload event time."""
    return replace(signal, event_time=when)


def apply(
    grp: Group,
    current: GroupState,
    signal: Signal,
    now: datetime,
    newest: KnownUpdate | None = None,
) -> tuple[Decision, GroupState]:
    """Decide one delivery at controller time `now`; the state after it."""
    decision = decide(signal, grp, current, now, f"d{now.timestamp()}", newest=newest)
    return decision, decision.new_state or current


def kept(signal: Signal, now: datetime) -> KnownUpdate:
    """The signal kept as its incident's newest update at `now`."""
    return known_update(signal, Arrival(signal.event_time), now, ("video indexer",))


def ready(grp: Group) -> GroupState:
    """The group's initial state with every account's probes passing for a long time."""
    return state(grp, readiness={a.name: passing(T0 - 30 * DAY) for a in grp.accounts})


ACTIVATION = incident()
RESOLUTION = incident(phase=Phase.RESOLVED, update="2", minutes=30)
RCA = incident(phase=Phase.RCA, update="3", minutes=60 * 24 * 12)


def test_a_resolution_applied_long_after_its_event_time_is_recorded_and_closes() -> None:
    """A resolution whose event time is a year before the controller's clock closes the
    incident, stamped with the controller's clock, and is not pruned by its own decision."""
    grp = group()
    _, opened = apply(grp, state(grp), ACTIVATION, at(timedelta()))

    decision, closed = apply(grp, opened, RESOLUTION, at(YEAR))

    found = closed.incidents["VT0X-1AB"]
    assert ("recorded", IncidentStatus.CLOSED, at(YEAR)) == (
        decision.action,
        found.status,
        found.closed_at,
    )


def test_an_rca_weeks_after_a_resolution_keeps_the_incident_closed() -> None:
    """An RCA stamped now for a resolution applied a year ago is recorded and reopens nothing;
    the incident keeps the controller time it closed at."""
    grp = group()
    _, opened = apply(grp, state(grp), ACTIVATION, at(timedelta()))
    _, closed = apply(grp, opened, RESOLUTION, at(timedelta(minutes=30)))

    decision, after = apply(grp, closed, sent(RCA, at(YEAR)), at(YEAR))

    found = after.incidents["VT0X-1AB"]
    assert ("recorded", IncidentStatus.CLOSED, at(timedelta(minutes=30))) == (
        decision.action,
        found.status,
        found.closed_at,
    )
    assert WEST.name == after.active


@pytest.mark.parametrize(
    "later",
    [timedelta(minutes=1), 8 * DAY, 59 * DAY],
    ids=["a minute later", "after the details are compacted", "just inside the retention"],
)
def test_a_redelivered_activation_never_reopens_a_closed_incident(later: timedelta) -> None:
    """Re-delivering the activation at any time within the retention is a duplicate, whether
    the incident is kept in full or only as a tombstone; no move, no reopening."""
    grp = group()
    _, opened = apply(grp, state(grp), ACTIVATION, at(timedelta()))
    _, closed = apply(grp, opened, RESOLUTION, at(timedelta(minutes=30)))
    # Another incident's decision at that time tidies the group's closed incidents.
    _, tidied = apply(grp, closed, incident("OTHER", ("Central US",)), at(later))

    decision, after = apply(grp, tidied, ACTIVATION, at(later))

    assert ("duplicate", WEST.name, closed.version) == (
        decision.action,
        after.active,
        after.version,
    )
    assert after.incidents["VT0X-1AB"].status.closed


def test_closed_incidents_become_tombstones_then_are_forgotten() -> None:
    """Details go after `detail`; the tombstone (key and last update) after `retention`,
    both counted from the controller's last update of the incident."""
    grp = group()
    _, opened = apply(grp, state(grp), ACTIVATION, at(timedelta()))
    _, closed = apply(grp, opened, RESOLUTION, at(timedelta(minutes=30)))

    week = tidy(closed.incidents, at(CLOCK.detail + DAY), CLOCK)
    gone = tidy(week, at(CLOCK.retention + DAY), CLOCK)

    tomb = week["VT0X-1AB"]
    assert (IncidentStatus.TOMBSTONE, "2", frozenset(), "") == (
        tomb.status,
        tomb.update_id,
        tomb.impacted,
        tomb.title,
    )
    assert {} == gone


def test_tidying_never_touches_open_incidents_and_is_bounded() -> None:
    """Open incidents stay whatever their age; at most 50 closed ones change per decision."""
    grp = group()
    current = state(grp)
    for n in range(60):
        key = f"OLD-{n}"
        current = apply(grp, current, incident(key, ("Central US",)), at(timedelta()))[1]
        resolved = incident(key, ("Central US",), phase=Phase.RESOLVED, update="2")
        current = apply(grp, current, resolved, at(timedelta()))[1]
    _, current = apply(grp, current, incident("STILL-OPEN", ("West US",)), at(timedelta()))

    once = tidy(current.incidents, at(YEAR), CLOCK)
    twice = tidy(once, at(YEAR), CLOCK)

    assert (11, 1) == (len(once), len(twice))
    assert ["STILL-OPEN"] == list(twice)


def test_a_resolution_first_dated_years_ago_still_stops_its_late_activation() -> None:
    """The resolution arrives first, its event time years old; the activation that arrives
    ten days later is older than it: nothing moves."""
    grp = group()
    old = at(-3 * YEAR)
    _, resolved = apply(grp, state(grp), sent(RESOLUTION, old), at(timedelta()))

    decision, after = apply(grp, resolved, sent(ACTIVATION, old - DAY), at(10 * DAY))

    assert ("duplicate", EAST.name) == (decision.action, after.active)


def test_a_kept_resolution_that_named_no_region_stops_its_late_activation() -> None:
    """A region-less resolution touched no group; kept by tracking id as the incident's newest
    update, it makes the activation that arrives after it a duplicate that names it."""
    grp = group()
    bare = replace(RESOLUTION, services=())

    decision, after = apply(grp, state(grp), ACTIVATION, at(DAY), kept(bare, at(timedelta())))

    assert ("duplicate", EAST.name) == (decision.action, after.active)
    assert "older than 2 (resolved" in decision.reason


def test_a_newer_update_that_named_no_group_makes_older_ones_stale() -> None:
    """The newest update names no region of the group: an older one that does is stale."""
    grp = group()
    elsewhere = incident(regions=("Brazil South",), update="2", minutes=10)

    decision, after = apply(grp, state(grp), ACTIVATION, at(DAY), kept(elsewhere, at(DAY)))

    assert ("duplicate", EAST.name, {}) == (decision.action, after.active, after.incidents)


def test_a_group_that_missed_the_newest_update_gets_it_applied() -> None:
    """A group that holds the incident open while a newer resolution is kept elsewhere gets
    that resolution applied on the next delivery of the incident, even an older one."""
    grp = group()
    _, opened = apply(grp, state(grp), ACTIVATION, at(timedelta()))

    decision, after = apply(grp, opened, ACTIVATION, at(DAY), kept(RESOLUTION, at(timedelta())))

    assert ("recorded", IncidentStatus.CLOSED) == (
        decision.action,
        after.incidents["VT0X-1AB"].status,
    )
    assert "which this group had missed" in decision.reason


@pytest.mark.parametrize(
    "ahead",
    [DAY, 3 * YEAR, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - T0],
    ids=["a day", "three years", "9999-12-31"],
)
def test_an_update_from_the_future_cannot_block_the_genuine_ones_after_it(
    ahead: timedelta,
) -> None:
    """An activation stamped far ahead is ordered as received; the genuine resolution sent a
    few minutes later closes the incident, and re-delivering the future update, even once the
    clock has passed its stamp, changes nothing."""
    grp = group()
    future = sent(ACTIVATION, at(ahead))
    opened_decision, opened = apply(grp, state(grp), future, at(timedelta()))
    resolution = sent(RESOLUTION, at(timedelta(minutes=5)))

    closed_decision, closed = apply(grp, opened, resolution, at(timedelta(minutes=5)))
    again, after = apply(grp, closed, future, at(min(ahead + DAY, 100 * YEAR)))

    assert ("failed_over", "recorded", "duplicate") == (
        opened_decision.action,
        closed_decision.action,
        again.action,
    )
    assert "ordered as received" in opened_decision.reason
    assert after.incidents["VT0X-1AB"].status.closed


def test_a_small_skew_within_the_bound_keeps_the_payload_order() -> None:
    """Event times up to the bound ahead are trusted as sent."""
    signal = sent(ACTIVATION, at(timedelta(minutes=14)))

    came = arrival(signal, at(timedelta()), CLOCK)

    assert (at(timedelta(minutes=14)), False) == (came.when, came.clamped)


def test_resource_health_available_from_the_far_future_does_not_hide_a_real_outage() -> None:
    """An Available stamped 9999-12-31 is ordered as received; the genuine Unavailable after it
    fails over."""
    grp = group()
    bogus = sent(resource_health(EAST, "Available"), datetime(9999, 12, 31, tzinfo=UTC))
    _, first = apply(grp, state(grp), bogus, at(timedelta()))
    real = resource_health(EAST, "Unavailable", minutes=1, update="rh-2")

    decision, after = apply(grp, first, real, at(timedelta(minutes=1)))

    assert ("failed_over", WEST.name) == (decision.action, after.active)


def _on_secondary(grp: Group) -> GroupState:
    _, moved = apply(grp, ready(grp), ACTIVATION, at(timedelta()))
    assert WEST.name == moved.active
    return moved


def test_an_update_that_drops_the_primary_region_starts_the_stable_window() -> None:
    """Impact ends when an Active update no longer names the primary's region: that moment,
    by the controller's clock, starts failbackStableMinutes."""
    moved = _on_secondary(AUTO)
    dropped = incident(regions=("Central US",), update="2", minutes=5)
    decision, freed = apply(AUTO, moved, dropped, at(timedelta(hours=1)))

    early = decide_failback(AUTO, freed, at(timedelta(hours=1, minutes=29)), "f1")
    due = decide_failback(AUTO, freed, at(timedelta(hours=1, minutes=30)), "f2")

    assert "impact on contoso-eastus ended now" in decision.reason
    assert at(timedelta(hours=1)) == freed.impact_ended[EAST.name]
    assert (None, "failed_back") == (early, due.action if due else None)


def test_failback_counts_the_window_from_when_the_resolution_was_applied() -> None:
    """A resolution whose event time is long past starts the window when it is applied."""
    moved = _on_secondary(AUTO)
    _, resolved = apply(AUTO, moved, RESOLUTION, at(timedelta(hours=2)))

    early = decide_failback(AUTO, resolved, at(timedelta(hours=2, minutes=29)), "f1")
    due = decide_failback(AUTO, resolved, at(timedelta(hours=2, minutes=30)), "f2")

    assert (None, "failed_back") == (early, due.action if due else None)
    assert due is not None
    assert "its impact ended at" in due.reason


def test_resource_health_unknown_holds_the_account_until_it_reports_available() -> None:
    """Unavailable → Unknown is not recovery: the incident stays open as unknown, no failback,
    manual moves need force; Available starts the stable window."""
    _, down = apply(AUTO, ready(AUTO), resource_health(EAST), at(timedelta()))
    assert WEST.name == down.active
    unknown_signal = resource_health(EAST, "Unknown", minutes=10, update="rh-2")
    decision, unknown = apply(AUTO, down, unknown_signal, at(timedelta(minutes=10)))

    no_failback = decide_failback(AUTO, unknown, at(30 * DAY), "f1")
    with pytest.raises(UnsafeTargetError, match="Unknown"):
        decide_manual(
            ManualRequest(group=AUTO.name, reason="r", actor="oncall", to=EAST.name),
            AUTO,
            unknown,
            at(DAY),
            "m",
        )
    available = resource_health(EAST, "Available", minutes=60 * 24, update="rh-3")
    _, healthy = apply(AUTO, unknown, available, at(DAY))
    early = decide_failback(AUTO, healthy, at(DAY + timedelta(minutes=29)), "f2")
    due = decide_failback(AUTO, healthy, at(DAY + timedelta(minutes=30)), "f3")

    incident_key = EAST.resource_id.lower()
    assert (IncidentStatus.UNKNOWN, None) == (
        unknown.incidents[incident_key].status,
        unknown.incidents[incident_key].closed_at,
    )
    assert "not proven healthy" in decision.reason
    assert (None, None, "failed_back") == (no_failback, early, due.action if due else None)


def test_a_forced_manual_move_into_an_unknown_account_is_allowed() -> None:
    """`force` overrides the Unknown guard, as it does for impacted accounts."""
    moved = _on_secondary(AUTO)
    unknown_signal = resource_health(EAST, "Unknown", minutes=10, update="rh-2")
    _, unknown = apply(AUTO, moved, unknown_signal, at(timedelta(minutes=10)))
    request = ManualRequest(group=AUTO.name, reason="r", actor="oncall", to=EAST.name, force=True)

    decision = decide_manual(request, AUTO, unknown, at(DAY), "m")

    assert ("moved", EAST.name) == (decision.action, decision.to_account)


def test_unknown_health_on_a_standby_does_not_stop_a_failover_into_it() -> None:
    """Leaving an impacted account for one whose health is only unknown (and whose probes
    pass) beats staying: Unknown does not block failover targets."""
    grp = group()
    _, unknown = apply(
        grp, ready(grp), resource_health(WEST, "Unknown", update="rh-w"), at(timedelta())
    )

    decision, after = apply(grp, unknown, ACTIVATION, at(timedelta(minutes=1)))

    assert ("failed_over", WEST.name) == (decision.action, after.active)


def test_unknown_fails_over_when_the_policy_lists_it() -> None:
    """With Unknown in failoverOnResourceHealth, an Unknown active account is left."""
    grp = group(failover_on_resource_health=frozenset({"unavailable", "unknown"}))

    decision, after = apply(grp, ready(grp), resource_health(EAST, "Unknown"), at(timedelta()))

    assert ("failed_over", WEST.name) == (decision.action, after.active)


def test_a_region_less_active_update_of_a_tracked_incident_ends_its_impact() -> None:
    """An Active update naming the service with no regions impacts no account any more."""
    moved = _on_secondary(AUTO)
    bare = replace(
        incident(update="2", minutes=5),
        services=(ImpactedService("Azure AI Video Indexer", ()),),
    )

    decision, after = apply(AUTO, moved, bare, at(timedelta(minutes=5)))

    assert ("recorded", at(timedelta(minutes=5))) == (
        decision.action,
        after.impact_ended[EAST.name],
    )


def test_a_second_available_long_after_the_first_is_recorded() -> None:
    """Resource Health Available, then Available again eight days later (its event time older
    than the clock by as much): recorded, closed, and the incident keeps its first close."""
    grp = group()
    _, down = apply(grp, ready(grp), resource_health(WEST), at(timedelta()))
    available = resource_health(WEST, "Available", minutes=5, update="rh-2")
    _, first = apply(grp, down, available, at(timedelta(minutes=5)))
    again = resource_health(WEST, "Available", minutes=6, update="rh-3")

    decision, after = apply(grp, first, again, at(8 * DAY))

    found = after.incidents[WEST.resource_id.lower()]
    assert ("recorded", IncidentStatus.CLOSED, at(timedelta(minutes=5))) == (
        decision.action,
        found.status,
        found.closed_at,
    )
