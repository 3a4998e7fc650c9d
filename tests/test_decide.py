"""Table-driven tests of the pure decision core."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from shared.core.decide import concerns, decide, impacted_accounts
from shared.core.failback import decide_failback
from shared.core.model import Group, Phase, Signal
from shared.core.preflight import likely_needs
from shared.core.state import GroupState
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
    state,
)

DEFAULT = group()


@dataclass(frozen=True)
class Case:
    """One row: the signals applied in order, and what the last one must decide."""

    signals: tuple[Signal, ...]
    action: str
    active: str
    grp: Group = DEFAULT
    unready: frozenset[str] = frozenset()
    reason_has: str = ""


CASES = {
    "incident on the active region fails over to the secondary": Case(
        (incident(),), "failed_over", WEST.name, reason_has="VT0X-1AB"
    ),
    "incident on the standby region is recorded, no move": Case(
        (incident(regions=("West US",)),), "recorded", EAST.name
    ),
    "Global with includeGlobal impacts every account: blocked": Case(
        (incident(regions=("Global",)),), "blocked", EAST.name, reason_has="impacted by"
    ),
    "Global without includeGlobal touches nothing": Case(
        (incident(regions=("Global", "West US")),),
        "recorded",
        EAST.name,
        grp=group(include_global=False),
    ),
    "maintenance is recorded, not failed over by default": Case(
        (incident(incident_type="Maintenance"),), "recorded", EAST.name, reason_has="not in"
    ),
    "maintenance fails over when the policy lists it": Case(
        (incident(incident_type="maintenance"),),
        "failed_over",
        WEST.name,
        grp=group(failover_on=frozenset({"incident", "maintenance"})),
    ),
    "planned maintenance is not impacting yet": Case(
        (incident(incident_type="Maintenance", phase=Phase.PLANNED),),
        "recorded",
        EAST.name,
        grp=group(failover_on=frozenset({"maintenance"})),
    ),
    "a second update of the same incident is recorded": Case(
        (incident(), incident(update="2", minutes=5)), "recorded", WEST.name
    ),
    "the same update again is a duplicate": Case((incident(), incident()), "duplicate", WEST.name),
    "an older update after a newer one is a duplicate": Case(
        (incident(update="2", minutes=5), incident(update="1")), "duplicate", WEST.name
    ),
    "resolution with manual failback stays and says so": Case(
        (incident(), incident(phase=Phase.RESOLVED, update="2", minutes=30)),
        "recorded",
        WEST.name,
        reason_has="failback is manual",
    ),
    "a stale active update after resolution changes nothing": Case(
        (incident(), incident(phase=Phase.RESOLVED, update="2", minutes=30), incident()),
        "duplicate",
        WEST.name,
    ),
    "RCA after resolution is not a new outage": Case(
        (
            incident(),
            incident(phase=Phase.RESOLVED, update="2", minutes=30),
            incident(phase=Phase.RCA, update="3", minutes=600),
        ),
        "recorded",
        WEST.name,
    ),
    "resolution seen first closes the incident: the late activation is stale": Case(
        (incident(phase=Phase.RESOLVED, update="2", minutes=30), incident()),
        "duplicate",
        EAST.name,
    ),
    "standby not ready: blocked": Case(
        (incident(),),
        "blocked",
        EAST.name,
        unready=frozenset({WEST.name}),
        reason_has="readiness",
    ),
    "first unimpacted ready account in priority order wins": Case(
        (incident(regions=("West US",), tracking_id="W"), incident(tracking_id="E")),
        "failed_over",
        CENTRAL.name,
        grp=group(EAST, WEST, CENTRAL),
    ),
    "both standbys impacted: blocked": Case(
        (
            incident(regions=("West US", "Central US"), tracking_id="W"),
            incident(tracking_id="E"),
        ),
        "blocked",
        EAST.name,
        grp=group(EAST, WEST, CENTRAL),
    ),
    "standby incident resolving unblocks the pending failover": Case(
        (
            incident(regions=("West US",), tracking_id="W"),
            incident(tracking_id="E", minutes=1),
            incident(regions=("West US",), tracking_id="W", phase=Phase.RESOLVED, minutes=2),
        ),
        "failed_over",
        WEST.name,
    ),
    "service name match is a case-insensitive substring": Case(
        (incident(service="AZURE VIDEO INDEXER"),), "failed_over", WEST.name
    ),
    "resource health unavailable on the active account fails over": Case(
        (resource_health(EAST),), "failed_over", WEST.name
    ),
    "resource health degraded is recorded by default": Case(
        (resource_health(EAST, "Degraded"),), "recorded", EAST.name
    ),
    "resource health degraded fails over when the policy lists it": Case(
        (resource_health(EAST, "Degraded"),),
        "failed_over",
        WEST.name,
        grp=group(failover_on_resource_health=frozenset({"unavailable", "degraded"})),
    ),
    "resource health degraded on the standby blocks a move into it": Case(
        (resource_health(WEST, "Degraded"), incident(minutes=1)), "blocked", EAST.name
    ),
    "resource health available closes the resource incident": Case(
        (
            resource_health(WEST),
            resource_health(WEST, "Available", minutes=1, update="rh-2"),
            incident(minutes=2),
        ),
        "failed_over",
        WEST.name,
    ),
    "synthetic test alert is ignored by default": Case(
        (incident(synthetic=True),), "ignored", EAST.name, reason_has="acceptSynthetic"
    ),
    "synthetic test alert is acted on with acceptSynthetic": Case(
        (incident(synthetic=True),), "failed_over", WEST.name, grp=group(accept_synthetic=True)
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_decision_table(case: Case) -> None:
    """Each row's signals, applied in order, end in the row's action and active account."""
    current = state(case.grp, readiness={name: failing() for name in case.unready})
    decision = None

    for signal in case.signals:
        decision = decide(signal, case.grp, current, T0 + timedelta(hours=1), "d")
        current = decision.new_state or current

    assert decision is not None
    assert (case.action, case.active) == (decision.action, current.active)
    assert case.reason_has in decision.reason


def test_pinned_group_suppresses_failover() -> None:
    """A pin in force turns a failover into `suppressed` and keeps the account."""
    grp = group()
    pinned = state(grp, pinned=True, actor="oncall", pin_expires=T0 + timedelta(hours=2))

    decision = decide(incident(), grp, pinned, T0 + timedelta(minutes=1), "d")

    assert ("suppressed", EAST.name) == (decision.action, decision.to_account)
    assert "pinned by oncall" in decision.reason


def test_expired_pin_does_not_suppress() -> None:
    """After its expiry a pin no longer holds the group, and the move clears it."""
    grp = group()
    pinned = state(grp, pinned=True, pin_expires=T0 + timedelta(minutes=5))

    decision = decide(incident(), grp, pinned, T0 + timedelta(minutes=6), "d")

    assert decision.new_state is not None
    assert ("failed_over", False) == (decision.action, decision.new_state.pinned)


def test_failover_bumps_version_and_records_evidence() -> None:
    """A move bumps the version, sets since/reason, and its audit line carries the evidence."""
    grp = group()
    now = T0 + timedelta(minutes=3)

    decision = decide(incident(), grp, state(grp), now, "delivery-1")

    assert decision.new_state is not None
    assert (2, now) == (decision.new_state.version, decision.new_state.since)
    (record,) = decision.audit
    expected = ("failed_over", "VT0X-1AB", "1", ("East US",), ("Azure AI Video Indexer",), 2)
    actual = (
        record.action,
        record.tracking_id,
        record.communication_id,
        record.regions,
        record.services,
        record.version,
    )
    assert expected == actual
    assert "delivery-1.failed_over" == record.record_id


def test_no_change_decisions_leave_state_alone() -> None:
    """Duplicates and ignored alerts return no new state, so nothing is written."""
    grp = group()
    first = decide(incident(), grp, state(grp), T0, "a")
    assert first.new_state is not None

    again = decide(incident(), grp, first.new_state, T0, "b")
    synthetic = decide(incident(synthetic=True), grp, state(grp), T0, "c")

    assert (None, None) == (again.new_state, synthetic.new_state)


def test_impacted_accounts_match_display_names() -> None:
    """ "East US" matches location eastus; "East US 2" does not."""
    grp = group(EAST, WEST, CENTRAL)

    east = impacted_accounts(incident(regions=("East US",)), grp)
    east2 = impacted_accounts(incident(regions=("East US 2",)), grp)

    assert (frozenset({EAST.name}), frozenset()) == (east, east2)


def test_other_services_do_not_concern_the_group() -> None:
    """An incident of another service in our region does not touch the group."""
    grp = group()

    actual = concerns(incident(service="App Service \\ Web Apps"), grp, state(grp))

    assert actual is False


def test_tracked_incident_concerns_the_group_even_without_regions() -> None:
    """A resolution listing no regions still reaches the group that tracks the incident."""
    grp = group()
    opened = decide(incident(), grp, state(grp), T0, "a").new_state
    assert opened is not None
    bare = replace(incident(phase=Phase.RESOLVED, update="2", minutes=5), services=())

    closed = decide(bare, grp, opened, T0 + timedelta(minutes=5), "b")

    assert closed.new_state is not None
    assert concerns(bare, grp, opened) is True
    assert frozenset({EAST.name}) == closed.new_state.incidents["VT0X-1AB"].impacted
    assert closed.new_state.incidents["VT0X-1AB"].open is False


def _failed_over(grp: Group, *, resolved_minutes: float) -> GroupState:
    """Failed over at T0+1 by the controller's clock; the resolution applied at T0+resolved."""
    current = state(grp, readiness={EAST.name: passing(), WEST.name: passing()})
    for signal, at in (
        (incident(), 1),
        (incident(phase=Phase.RESOLVED, update="2", minutes=resolved_minutes), resolved_minutes),
    ):
        now = T0 + timedelta(minutes=at)
        current = decide(signal, grp, current, now, "x").new_state or current
    return current


# (group, minutes after the resolution was applied at T0+10, expected target); the move was at
# T0+1.
FAILBACK = {
    "manual policy never fails back": (group(), 240, None),
    "auto fails back once stable": (
        group(failback="auto", failback_stable_minutes=30, min_dwell_minutes=10),
        30,
        EAST.name,
    ),
    "auto waits for the stable period": (
        group(failback="auto", failback_stable_minutes=30, min_dwell_minutes=0),
        29,
        None,
    ),
    "auto waits for the minimum dwell": (
        group(failback="auto", failback_stable_minutes=0, min_dwell_minutes=60),
        49,
        None,
    ),
}


@pytest.mark.parametrize(("grp", "minutes", "expected"), FAILBACK.values(), ids=FAILBACK.keys())
def test_failback_policy(grp: Group, minutes: float, expected: str | None) -> None:
    """Failback happens only with `auto`, after both the stable period and the dwell time."""
    current = _failed_over(grp, resolved_minutes=10)
    assert WEST.name == current.active

    decision = decide_failback(grp, current, T0 + timedelta(minutes=10 + minutes), "f")

    assert expected == (decision.to_account if decision else None)


def test_failback_never_targets_an_impacted_account() -> None:
    """An open incident on the primary keeps auto failback away from it."""
    grp = group(failback="auto", failback_stable_minutes=0, min_dwell_minutes=0)
    current = decide(incident(), grp, state(grp), T0, "a").new_state
    assert current is not None

    decision = decide_failback(grp, current, T0 + timedelta(days=1), "b")

    assert decision is None


LIKELY = {
    "a failover-worthy incident: the accounts it spares": (incident(), {WEST.name}),
    "maintenance is not failover-worthy": (incident(incident_type="Maintenance"), set()),
    "a resolution opens nothing": (incident(phase=Phase.RESOLVED, update="2"), set()),
    "Resource Health Unavailable on east": (resource_health(EAST), {WEST.name}),
    "Resource Health Degraded is recorded only": (resource_health(EAST, "Degraded"), set()),
    "an incident elsewhere": (incident(regions=("Japan East",)), set()),
}


@pytest.mark.parametrize(("signal", "expected"), LIKELY.values(), ids=LIKELY.keys())
def test_likely_needs_names_the_possible_targets_of_a_failover(
    signal: Signal, expected: set[str]
) -> None:
    """Before any state is read, the accounts a decision on this signal may want probed."""
    assert frozenset(expected) == likely_needs(signal, DEFAULT)
