"""Shadow mode: the core decides as in active mode, records what it would do, moves no flag."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.adapters.memory_store import InMemoryStateStore
from shared.app.unit_of_work import GroupWriter
from shared.core.config import ConfigError, parse_config
from shared.core.decide import decide
from shared.core.manual import ManualRequest, decide_manual
from shared.core.model import Group, Phase, ProbeResult, ReadinessStatus
from shared.core.notification import notification_for, text
from shared.core.shadow import WOULD
from shared.core.state import Decision, GroupState
from shared.core.tick import decide_tick
from shared.http.views import state_view
from tests.core import EAST, T0, WEST, FakeClock, group, incident, passing, state
from tests.test_decide_properties import FAST, GROUP, Lifecycle, ledger, ordered, scenarios
from tests.test_settings import variant

SHADOW = group(mode="shadow")


def configured(top: object = ..., per_group: object = ...) -> Group:
    """The first group of a valid config with `policy.mode` set at the top and/or per group."""
    raw = variant("groups.0.policy", {} if per_group is ... else {"mode": per_group})
    if top is not ...:
        raw["policy"]["mode"] = top
    return parse_config(raw).groups[0]


def saved(decision: Decision) -> GroupState:
    """The state a decision saves (it must save one)."""
    assert decision.new_state is not None
    return decision.new_state


def test_mode_is_active_by_default_and_set_at_the_top_or_per_group() -> None:
    """A group's mode overrides the top level one; without either, the controller acts."""
    modes = (
        configured().policy.mode,
        configured(top="shadow").policy.mode,
        configured(top="shadow", per_group="active").policy.mode,
        configured(per_group="shadow").policy.mode,
    )

    assert ("active", "shadow", "active", "shadow") == modes


@pytest.mark.parametrize(
    ("top", "per_group", "path"),
    [
        ("dry-run", ..., "policy.mode"),
        (..., "Shadow", "groups[0].policy.mode"),
        (..., ["shadow"], "groups[0].policy.mode"),
        (..., None, "groups[0].policy.mode"),
    ],
    ids=["unknown word", "wrong case", "a list", "null"],
)
def test_an_unknown_mode_is_a_config_error_naming_its_path(
    top: object, per_group: object, path: str
) -> None:
    """Only "active" and "shadow" are modes; the error says where the bad value is."""
    with pytest.raises(ConfigError) as caught:
        configured(top, per_group)

    assert f'{path}: must be "active" or "shadow"' in str(caught.value)


def test_an_incident_on_the_active_account_is_a_would_fail_over_and_moves_no_flag() -> None:
    """Same decision as in active mode, under its `would_` name; the flag and version stay."""
    start = state(SHADOW)

    decision = decide(incident(), SHADOW, start, T0, "a")
    after = saved(decision)

    assert after.shadow is not None
    assert ("would_fail_over", EAST.name, WEST.name) == (
        decision.action,
        decision.from_account,
        decision.to_account,
    )
    assert (EAST.name, start.version, WEST.name) == (
        after.active,
        after.version,
        after.shadow.account,
    )
    assert ["would_fail_over"] == [r.action for r in decision.audit]
    assert decision.audit[0].reason.startswith("shadow mode, nothing moved (apps stay on ")
    assert "VT0X-1AB; would have moved to contoso-westus" in decision.audit[0].reason
    assert "VT0X-1AB" in after.incidents  # the controller keeps its own incident state


def test_shadow_and_active_mode_decide_alike() -> None:
    """Over a run of signals, the would-be placement is where active mode puts the flag."""
    signals = [
        incident(),
        incident(update="2", minutes=5, regions=("East US", "West US")),
        incident(update="3", minutes=20, phase=Phase.RESOLVED),
    ]
    active, shadow = state(group()), state(SHADOW)
    actions = []

    for n, signal in enumerate(signals):
        now = T0 + timedelta(minutes=5 * n)
        a = decide(signal, group(), active, now, f"d{n}")
        s = decide(signal, SHADOW, shadow, now, f"d{n}")
        active, shadow = a.new_state or active, s.new_state or shadow
        actions.append((a.action, s.action))

    assert shadow.shadow is not None
    assert (active.active, EAST.name) == (shadow.shadow.account, shadow.active)
    assert [
        ("failed_over", "would_fail_over"),
        ("blocked", "would_block"),
        ("recorded", "recorded"),
    ] == actions


def test_a_blocked_failover_is_a_would_block() -> None:
    """With no account able to take over, shadow mode records that it would have been stuck."""
    unready = replace(
        state(SHADOW), readiness={WEST.name: replace(passing(), status=ReadinessStatus.UNREACHABLE)}
    )

    decision = decide(incident(), SHADOW, unready, T0, "a")

    assert ("would_block", EAST.name) == (decision.action, saved(decision).active)


def test_an_automatic_failback_is_a_would_fail_back() -> None:
    """After the incident closes and the primary is stable, a tick would have failed back."""
    grp = group(mode="shadow", failback="auto", failback_stable_minutes=0, min_dwell_minutes=0)
    moved = saved(decide(incident(), grp, state(grp), T0, "a"))
    resolved = incident(phase=Phase.RESOLVED, update="2", minutes=10)
    closed = saved(decide(resolved, grp, moved, T0 + timedelta(minutes=10), "b"))
    healthy = ProbeResult(ReadinessStatus.HEALTHY, "200", T0 + timedelta(minutes=30))

    back = decide_tick(grp, closed, {EAST.name: healthy}, T0 + timedelta(minutes=30), "t")

    would = saved(back).shadow
    assert would is not None
    assert ("would_fail_back", EAST.name) == (back.action, would.account)
    assert back.reason.startswith(
        "shadow mode, nothing moved (apps stay on contoso-eastus): would have failed back"
    )


def test_a_manual_move_in_shadow_mode_moves_the_flag_and_the_placement_follows() -> None:
    """Operators stay in charge: the flag moves, versioned; an active controller would follow."""
    request = ManualRequest(group="default", reason="drill", actor="ops@contoso", to=WEST.name)

    decision = decide_manual(request, SHADOW, state(SHADOW), T0, "m")
    after = saved(decision)

    assert after.shadow is not None
    assert ("moved", WEST.name, 2, WEST.name) == (
        decision.action,
        after.active,
        after.version,
        after.shadow.account,
    )
    assert ["moved"] == [r.action for r in decision.audit]


def test_a_shadow_decision_pages_as_one() -> None:
    """The notification says it is a shadow decision and that nothing moved."""
    decision = decide(incident(), SHADOW, state(SHADOW), T0, "a")

    page = notification_for(decision, T0)

    assert page is not None
    assert text(page).startswith(
        "vi-failover: group default shadow decision, nothing moved: would have failed over "
        "contoso-eastus → contoso-westus: shadow mode"
    )


def test_status_shows_where_apps_are_and_where_the_controller_would_have_put_them() -> None:
    """The status view carries the mode, the would-be account and since when they differ."""
    clock = FakeClock()
    writer = GroupWriter(InMemoryStateStore(), clock, sleep=lambda _: None)
    writer.apply(SHADOW, "a", lambda s, now: decide(incident(), SHADOW, s, now, "a"))
    clock.now = T0 + timedelta(minutes=3)
    writer.apply(SHADOW, "b", lambda s, now: decide(incident(update="2"), SHADOW, s, now, "b"))

    view = state_view(SHADOW, writer.read(SHADOW), clock.now, detail=True)

    assert {
        "account": EAST.name,
        "mode": "shadow",
        "wouldBeAccount": WEST.name,
        "wouldBeSince": T0.isoformat(),
        "wouldBeReason": "contoso-eastus is impacted by VT0X-1AB; would have moved to "
        "contoso-westus",
        "apartSince": T0.isoformat(),
    } == {
        "account": view["account"]["name"],  # type: ignore[index]
        **{
            k: view[k]
            for k in ("mode", "wouldBeAccount", "wouldBeSince", "wouldBeReason", "apartSince")
        },
    }


def test_switching_to_active_is_audited_moves_nothing_and_the_next_alert_decides() -> None:
    """The change of mode is its own audit line, moving nothing; the re-sent alert moves."""
    clock = FakeClock()
    store = InMemoryStateStore()
    writer = GroupWriter(store, clock, sleep=lambda _: None)
    active = group()
    writer.apply(SHADOW, "a", lambda s, now: decide(incident(), SHADOW, s, now, "a"))
    clock.now = T0 + timedelta(minutes=5)

    again = writer.apply(active, "b", lambda s, now: decide(incident(), active, s, now, "b"))
    switch, move = again.audit

    assert ("mode_changed", EAST.name, EAST.name, 1) == (
        switch.action,
        switch.from_account,
        switch.to_account,
        switch.version,
    )
    assert switch.reason.startswith("policy.mode changed from shadow to active")
    assert "would have put them on contoso-westus); nothing moved" in switch.reason
    assert ("failed_over", WEST.name, 2) == (move.action, move.to_account, move.version)
    after = saved(again)
    assert ("active", None, WEST.name) == (after.mode, after.shadow, after.active)
    assert ["failed_over", "mode_changed", "would_fail_over"] == [
        r.action for r in store.history(["default"], 10, unmatched=False)
    ]


def test_switching_to_shadow_is_audited_and_starts_from_where_apps_are() -> None:
    """Active → shadow: audited once; the would-be placement starts on the flag's account."""
    clock = FakeClock()
    writer = GroupWriter(InMemoryStateStore(), clock, sleep=lambda _: None)
    active = group()
    writer.apply(active, "a", lambda s, now: decide(incident(), active, s, now, "a"))

    tick = writer.apply(SHADOW, "t", lambda s, now: decide_tick(SHADOW, s, {}, now, "t"))
    after = saved(tick)

    assert after.shadow is not None
    assert ("mode_changed", "shadow", WEST.name, WEST.name) == (
        tick.audit[0].action,
        after.mode,
        after.active,
        after.shadow.account,
    )


def test_a_change_of_mode_is_paged_once() -> None:
    """The writer hands the change of mode to the notifier, once; later writes do not."""
    clock = FakeClock()
    told: list[Decision] = []
    writer = GroupWriter(
        InMemoryStateStore(), clock, sleep=lambda _: None, on_realigned=told.append
    )
    active = group()
    writer.apply(SHADOW, "a", lambda s, now: decide(incident(), SHADOW, s, now, "a"))

    writer.apply(active, "t1", lambda s, now: decide_tick(active, s, {}, now, "t1"))
    writer.apply(active, "t2", lambda s, now: decide_tick(active, s, {}, now, "t2"))
    pages = [notification_for(d, T0) for d in told]

    assert ["mode_changed"] == [d.action for d in told]
    assert pages[0] is not None
    assert text(pages[0]).startswith(
        "vi-failover: group default changed mode, stays on contoso-eastus: policy.mode changed "
        "from shadow to active"
    )


@FAST
@given(scenarios(), st.randoms(use_true_random=False), st.integers(0, 6))
def test_any_history_in_shadow_mode_moves_no_flag_and_shadows_active_mode_step_by_step(
    scenario: list[Lifecycle], rnd: random.Random, extra: int
) -> None:
    """Whatever arrives, in any order: apps stay on the primary at version 1, and after every
    delivery the would-be account is where active mode put the flag, with the same action."""
    signals = ordered(scenario) + [s for life in scenario for s in life.updates][:extra]
    rnd.shuffle(signals)
    shadow_group = replace(GROUP, policy=replace(GROUP.policy, mode="shadow"))
    active, shadow = state(GROUP), state(shadow_group)

    for n, signal in enumerate(signals):
        now = T0 + timedelta(hours=12, seconds=n)
        a = decide(signal, GROUP, active, now, f"d{n}")
        s = decide(signal, shadow_group, shadow, now, f"d{n}")
        active, shadow = a.new_state or active, s.new_state or shadow

        assert shadow.shadow is not None
        assert (EAST.name, 1) == (shadow.active, shadow.version)
        assert (active.active, WOULD.get(a.action, a.action)) == (shadow.shadow.account, s.action)
        assert ledger(active) == ledger(shadow)


def test_a_pin_holds_the_would_be_placement_as_it_holds_an_active_controller() -> None:
    """Pinned by an operator, the shadow decision is `suppressed`, as in active mode."""
    pinned = replace(state(SHADOW), pinned=True, actor="ops@contoso")

    decision = decide(incident(), SHADOW, pinned, T0, "a")

    would = saved(decision).shadow
    assert would is not None
    assert ("suppressed", EAST.name) == (decision.action, would.account)
