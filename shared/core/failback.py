"""Automatic failback: back to a higher-priority account once it has been stable. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from shared.core.failover import auto_moves_today, failover_causes, moved
from shared.core.lifecycle import held
from shared.core.model import Group, ReadinessStatus
from shared.core.records import audit_record
from shared.core.state import Decision, GroupState


def decide_failback(
    group: Group,
    state: GroupState,
    now: datetime,
    delivery_id: str,
) -> Decision | None:
    """With `failback: auto`, move back to a higher-priority account once it has been stable.

    Stable, by the controller's clock: no open incident holds it (Resource Health Unknown
    counts), its impact ended at least `failbackStableMinutes` ago, and its probes have passed
    throughout that time. Never sooner than `minDwellMinutes` after the last move, and never
    past the day's cap of automatic moves.
    """
    policy = group.policy
    if policy.failback != "auto" or state.pin_in_force(now) or failover_causes(state):
        return None
    if now - state.since < timedelta(minutes=policy.min_dwell_minutes):
        return None
    if auto_moves_today(state, now) >= policy.max_auto_moves_per_day:
        return None
    names = [a.name for a in group.accounts]
    higher = names[: names.index(state.active)] if state.active in names else names
    stable = timedelta(minutes=policy.failback_stable_minutes)
    holding = held(state.incidents)
    for name in higher:
        if name in holding or not _passing_since(state, name, now - stable):
            continue
        ended = impact_ended_at(state, name)
        if ended is not None and now - ended < stable:
            continue
        since = f"its impact ended at {ended.isoformat()}" if ended else "no incident impacted it"
        reason = (
            f"failback to {name}: {since}, and it has been free of impact with passing probes "
            f"for at least {policy.failback_stable_minutes} min (failback: auto)"
        )
        new_state = moved(state, name, reason, "failback", now)
        audit = audit_record(
            state.group, "failed_back", state.active, name, reason, now, delivery_id
        )
        audit = replace(audit, actor="failback", version=new_state.version)
        return Decision(
            state.group, "failed_back", state.active, name, reason, new_state, (audit,), notify=True
        )
    return None


def impact_ended_at(state: GroupState, name: str) -> datetime | None:
    """When the controller last saw impact on account `name` end, if it ever did."""
    return state.impact_ended.get(name)


def _passing_since(state: GroupState, name: str, start: datetime) -> bool:
    """True when the account's probes have passed from `start` (or earlier) until now."""
    readiness = state.readiness.get(name)
    if readiness is None or readiness.status is ReadinessStatus.UNKNOWN or not readiness.ready:
        return False
    return readiness.passing_since is not None and readiness.passing_since <= start
