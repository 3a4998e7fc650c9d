"""The readiness timer's pure decisions: readiness streaks, pending and probe-driven moves,
automatic failback, the daily cap, and what is worth a page."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from shared.core.decide import decide
from shared.core.model import Group, Phase, ProbeResult, ReadinessStatus
from shared.core.readiness import merge_probe
from shared.core.state import GroupState, Readiness
from shared.core.tick import decide_tick
from shared.http.views import outcomes_text
from tests.core import EAST, T0, WEST, group, incident, passing, resource_health, state

HEALTHY = ReadinessStatus.HEALTHY
DOWN = ReadinessStatus.UNREACHABLE


def probe(status: ReadinessStatus, minutes: float = 0, evidence: str = "") -> ProbeResult:
    """A probe result `minutes` after T0."""
    return ProbeResult(status, evidence or f"{status.value} probe", T0 + timedelta(minutes=minutes))


def tick(
    grp: Group, current: GroupState, minutes: float, **statuses: ReadinessStatus
) -> GroupState:
    """One timer tick at T0+minutes with these probe results (east=..., west=...)."""
    names = {"east": EAST.name, "west": WEST.name}
    probes = {names[k]: probe(v, minutes) for k, v in statuses.items()}
    decision = decide_tick(grp, current, probes, T0 + timedelta(minutes=minutes), f"t{minutes}")
    assert decision.new_state is not None
    return decision.new_state


def test_failure_streak_counts_and_a_pass_resets_it() -> None:
    """Consecutive failures count up; a pass resets them and starts `passing_since`."""
    first = merge_probe(None, probe(DOWN, 0))
    second = merge_probe(first, probe(DOWN, 5))
    recovered = merge_probe(second, probe(HEALTHY, 10))
    still = merge_probe(recovered, probe(HEALTHY, 15))

    assert (1, 2, 0) == (
        first.consecutive_failures,
        second.consecutive_failures,
        recovered.consecutive_failures,
    )
    assert (T0 + timedelta(minutes=10), T0 + timedelta(minutes=10)) == (
        recovered.passing_since,
        still.passing_since,
    )
    assert T0 + timedelta(minutes=5) == still.last_failure_at


def test_readiness_changes_are_audited_and_steady_ticks_are_not() -> None:
    """A status change adds an audit line with the evidence; the same status again adds none."""
    grp = group()
    probes = {EAST.name: probe(HEALTHY), WEST.name: probe(DOWN, evidence="503 from VI")}

    first = decide_tick(grp, state(grp), probes, T0, "a")
    assert first.new_state is not None
    second = decide_tick(grp, first.new_state, probes, T0 + timedelta(minutes=5), "b")

    assert ["readiness", "readiness"] == [r.action for r in first.audit]
    assert any("503 from VI" in r.reason for r in first.audit)
    assert () == second.audit


def test_blocked_failover_completes_once_the_standby_is_ready() -> None:
    """An incident blocked by an unready standby moves on the first tick that finds it ready."""
    grp = group()
    unready = tick(grp, state(grp), 0, east=HEALTHY, west=DOWN)
    blocked = decide(incident(minutes=1), grp, unready, T0 + timedelta(minutes=1), "alert")
    assert ("blocked", True) == (blocked.action, blocked.notify)
    assert blocked.new_state is not None

    decision = decide_tick(
        grp, blocked.new_state, {WEST.name: probe(HEALTHY, 5)}, T0 + timedelta(minutes=5), "t"
    )

    assert ("failed_over", WEST.name, True) == (
        decision.action,
        decision.to_account,
        decision.notify,
    )


def test_a_repeated_block_is_not_paged_again() -> None:
    """Only the first blocked decision of a stuck failover is worth a page."""
    grp = group()
    unready = tick(grp, state(grp), 0, west=DOWN)
    first = decide(incident(), grp, unready, T0, "a")
    assert first.new_state is not None

    again = decide(incident(update="2", minutes=5), grp, first.new_state, T0, "b")

    assert ("blocked", "blocked", True, False) == (
        first.action,
        again.action,
        first.notify,
        again.notify,
    )


def test_confirm_with_probe_waits_for_failed_probes_of_the_active_account() -> None:
    """With confirmWithProbe 2, the incident waits until two probes of east have failed."""
    grp = group(confirm_with_probe=2)
    waiting = decide(incident(), grp, state(grp), T0, "a")
    assert waiting.new_state is not None

    one = decide_tick(grp, waiting.new_state, {EAST.name: probe(DOWN, 1)}, T0, "t1")
    assert one.new_state is not None
    two = decide_tick(grp, one.new_state, {EAST.name: probe(DOWN, 6)}, T0, "t2")

    assert ("recorded", "recorded", "failed_over") == (waiting.action, one.action, two.action)
    assert "awaiting probe confirmation: 0 of 2" in waiting.reason


def test_resource_health_needs_no_probe_confirmation() -> None:
    """confirmWithProbe applies to Service Health; Resource Health of the account is direct."""
    grp = group(confirm_with_probe=3)

    decision = decide(resource_health(EAST), grp, state(grp), T0, "a")

    assert "failed_over" == decision.action


@pytest.mark.parametrize(("failures", "expected"), [(2, EAST.name), (3, WEST.name)], ids=["2", "3"])
def test_probe_failures_alone_fail_over_at_the_threshold(failures: int, expected: str) -> None:
    """With failoverOnProbeFailures 3, the third failed probe of east moves the group."""
    grp = group(failover_on_probe_failures=3)
    current = state(grp)

    for n in range(failures):
        current = tick(grp, current, 5 * n, east=DOWN, west=HEALTHY)

    assert expected == current.active


def test_probe_failover_never_moves_into_an_unready_account() -> None:
    """Probe-driven failover needs a ready target too."""
    grp = group(failover_on_probe_failures=1)

    current = tick(grp, state(grp), 0, east=DOWN, west=DOWN)

    assert EAST.name == current.active


def _after_outage(grp: Group, *, east_passing_since: datetime) -> GroupState:
    moved = decide(incident(), grp, state(grp), T0, "a").new_state
    assert moved is not None
    resolved = incident(phase=Phase.RESOLVED, update="2", minutes=10)
    closed = decide(resolved, grp, moved, T0 + timedelta(minutes=10), "b").new_state
    assert closed is not None
    return replace(closed, readiness={EAST.name: passing(east_passing_since)})


def test_auto_failback_needs_probes_passing_throughout_the_stable_period() -> None:
    """East's probes passing for less than failbackStableMinutes keeps the group on west."""
    grp = group(failback="auto", failback_stable_minutes=30, min_dwell_minutes=0)
    now = 60
    recent = _after_outage(grp, east_passing_since=T0 + timedelta(minutes=now - 10))
    long_ago = _after_outage(grp, east_passing_since=T0)

    stays = tick(grp, recent, now)
    returns = tick(grp, long_ago, now)

    assert (WEST.name, EAST.name) == (stays.active, returns.active)


def test_auto_failback_never_happens_with_unknown_readiness() -> None:
    """A primary that was never probed is not known to be stable: no automatic failback."""
    grp = group(failback="auto", failback_stable_minutes=0, min_dwell_minutes=0)
    current = replace(_after_outage(grp, east_passing_since=T0), readiness={})

    after = tick(grp, current, 120)

    assert WEST.name == after.active


def test_daily_cap_stops_automatic_failback_but_not_alert_failover() -> None:
    """At maxAutoMovesPerDay no failback happens; an alert still moves off an impacted account."""
    grp = group(
        failback="auto", failback_stable_minutes=0, min_dwell_minutes=0, max_auto_moves_per_day=1
    )
    outage = _after_outage(grp, east_passing_since=T0 - timedelta(days=1))
    assert 1 == len(outage.auto_moves)

    capped = tick(grp, outage, 120)
    west_incident = incident("W", ("West US",), minutes=130)
    moved = decide(west_incident, grp, capped, T0 + timedelta(minutes=130), "w")

    assert WEST.name == capped.active
    assert ("failed_over", EAST.name) == (moved.action, moved.to_account)


def test_cap_counts_only_the_last_24_hours() -> None:
    """Moves older than a day no longer count towards the cap."""
    grp = group(
        failback="auto", failback_stable_minutes=0, min_dwell_minutes=0, max_auto_moves_per_day=1
    )
    outage = _after_outage(grp, east_passing_since=T0 - timedelta(days=2))

    later = tick(grp, outage, 24 * 60 + 1)

    assert EAST.name == later.active


def test_never_fails_back_while_pinned() -> None:
    """A pin in force holds the group on its account."""
    grp = group(failback="auto", failback_stable_minutes=0, min_dwell_minutes=0)
    outage = replace(_after_outage(grp, east_passing_since=T0 - timedelta(days=1)), pinned=True)

    after = tick(grp, outage, 120)

    assert WEST.name == after.active


def test_unknown_readiness_does_not_block_a_failover() -> None:
    """An account never probed may receive a failover (readiness unknown counts as ready)."""
    grp = group()

    decision = decide(incident(), grp, replace(state(grp), readiness={}), T0, "a")

    assert "failed_over" == decision.action


def test_readiness_record_defaults() -> None:
    """A failing readiness is not ready and says why."""
    readiness = Readiness(DOWN, T0, "connection refused", 1, T0)

    assert (False, "connection refused") == (readiness.ready, readiness.evidence)


def test_a_tick_over_many_groups_logs_one_short_line_of_counts() -> None:
    """1,000 groups: each outcome counted, the most frequent first, at most 10 groups named
    for each, so the line stays short however many groups there are."""
    outcomes = {f"g{n:04d}": "recorded" for n in range(998)}
    outcomes |= {"g0998": "failed_over", "g0999": "blocked"}

    text = outcomes_text(outcomes)

    assert text.startswith("1000 group(s): 998 recorded (g0000, g0001,")
    assert "g0009, and 988 more); 1 blocked (g0999); 1 failed_over (g0998)" in text
    assert len(text) < 300
