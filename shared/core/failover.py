"""Whether a group must move, and where: the failover rules. Pure.

A failover-worthy open incident that impacts the active account moves the group to the first
account, in priority order, that no blocking incident impacts and that is ready; none →
`blocked`; pinned → `suppressed` (README, "Decision rules").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from shared.core.model import Account, Group, Signal, SignalKind
from shared.core.records import changed, recorded_reason
from shared.core.shadow import placement_of
from shared.core.state import Decision, GroupState

_DAY = timedelta(days=1)


def initial_state(group: Group, now: datetime) -> GroupState:
    """The state of a group nothing has happened to yet: active on its primary (and, in shadow
    mode, placed there by the controller too)."""
    state = GroupState(
        group=group.name,
        active=group.accounts[0].name,
        version=1,
        since=now,
        reason="initial state: the primary account",
    )
    if group.policy.mode == "active":
        return state
    return replace(state, mode="shadow", shadow=placement_of(state))


def move_if_needed(
    signal: Signal | None,
    group: Group,
    state: GroupState,
    now: datetime,
    delivery_id: str,
) -> Decision:
    """Fail over if a failover-worthy open incident impacts the active account and one may."""
    active = state.active
    causes = failover_causes(state)
    if not causes:
        calm = replace(state, blocked_since=None)
        reason = recorded_reason(signal, group, calm) if signal else "no incident impacts it"
        return changed(signal, calm, "recorded", active, reason, now, delivery_id)
    cause = ", ".join(causes)
    if state.pin_in_force(now):
        until = f" until {state.pin_expires.isoformat()}" if state.pin_expires else ""
        reason = f"{active} is impacted by {cause} but pinned by {state.actor}{until}: not moving"
        return changed(signal, state, "suppressed", active, reason, now, delivery_id)
    waiting = _awaiting_confirmation(group, state)
    if waiting:
        reason = f"{active} is impacted by {cause}; {waiting}"
        return changed(signal, state, "recorded", active, reason, now, delivery_id)
    target, refusals = choose_target(group, state)
    if target is not None:
        reason = f"{active} is impacted by {cause}; moved to {target}"
        new_state = moved(state, target, reason, "alert", now)
        decision = changed(signal, new_state, "failed_over", active, reason, now, delivery_id)
        return replace(decision, notify=True)
    reason = f"{active} is impacted by {cause} but no account can take over: " + "; ".join(refusals)
    blocked = replace(state, blocked_since=state.blocked_since or now)
    decision = changed(signal, blocked, "blocked", active, reason, now, delivery_id)
    return replace(decision, notify=state.blocked_since is None)


def failover_causes(state: GroupState) -> list[str]:
    """Keys of the open, failover-worthy incidents that impact the active account."""
    return sorted(
        i.key
        for i in state.incidents.values()
        if i.triggers_failover and state.active in i.impacted
    )


def choose_target(group: Group, state: GroupState) -> tuple[str | None, list[str]]:
    """The first account in priority order that may take over, and why the others may not."""
    refusals: list[str] = []
    unready = state.unready()
    for account in group.accounts:
        if account.name == state.active:
            continue
        why_not = _why_not_target(account, state, unready)
        if not why_not:
            return account.name, refusals
        refusals.append(f"{account.name} {why_not}")
    return None, refusals


def _awaiting_confirmation(group: Group, state: GroupState) -> str:
    """With confirmWithProbe, a Service Health failover waits for failed probes of the active."""
    needed = group.policy.confirm_with_probe
    causes = [
        i for i in state.incidents.values() if i.triggers_failover and state.active in i.impacted
    ]
    if needed <= 0 or any(i.kind is SignalKind.RESOURCE_HEALTH for i in causes):
        return ""
    readiness = state.readiness.get(state.active)
    failures = readiness.consecutive_failures if readiness else 0
    if failures >= needed:
        return ""
    return (
        f"awaiting probe confirmation: {failures} of {needed} consecutive failed probes "
        f"of {state.active} (confirmWithProbe)"
    )


def _why_not_target(account: Account, state: GroupState, unready: frozenset[str]) -> str:
    blocking = blocking_incidents(state, account.name)
    if blocking:
        return f"is impacted by {', '.join(blocking)}"
    if account.name in unready:
        readiness = state.readiness[account.name]
        return f"failed its latest readiness check ({readiness.status.value}: {readiness.evidence})"
    return ""


def blocking_incidents(state: GroupState, name: str) -> list[str]:
    """Keys of the open incidents that forbid moving into account `name`."""
    return sorted(i.key for i in state.incidents.values() if i.blocks_target and name in i.impacted)


def moved(state: GroupState, to: str, reason: str, actor: str, now: datetime) -> GroupState:
    """The state after an automatic move; it counts towards the day's cap of automatic moves."""
    # A move ends an expired pin; a pin in force never reaches here.
    recent = tuple(t for t in state.auto_moves if now - t < _DAY)
    return replace(
        state,
        active=to,
        version=state.version + 1,
        since=now,
        reason=reason,
        actor=actor,
        pinned=False,
        pin_expires=None,
        auto_moves=(*recent, now),
        blocked_since=None,
    )


def auto_moves_today(state: GroupState, now: datetime) -> int:
    """Automatic moves of the group in the 24 hours before `now`."""
    return sum(1 for t in state.auto_moves if now - t < _DAY)
