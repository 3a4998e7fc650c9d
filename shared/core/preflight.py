"""Pre-flight: which accounts a decision needs probed before it is final. Pure.

The core asks, the shell does: `decide` returns a decision with `needs` (account names) when
its target has not been checked in this delivery, or when a failover waits only on standbys
whose last check failed. The shell probes exactly those and decides again with the results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from shared.core.lifecycle import impacted_accounts, status_for
from shared.core.model import Group, ProbeResult, ReadinessStatus, Signal, SignalKind
from shared.core.state import Decision, GroupState, IncidentStatus


@dataclass(frozen=True)
class Preflight:
    """What the shell has probed in this delivery, and how old a stored pass may be to count.

    `checked` are the accounts already tried here, with or without a result (no prober, or
    no answer in time); `trust` is zero for an alert applied within its request, and about two
    readiness ticks for a queued batch, where probing every target would meet ARM's throttling.
    """

    probes: Mapping[str, ProbeResult] = field(default_factory=dict)
    checked: frozenset[str] = frozenset()
    trust: timedelta = timedelta(0)


def trusted(state: GroupState, now: datetime, trust: timedelta) -> frozenset[str]:
    """Accounts whose stored probe passed within `trust` (none when `trust` is zero)."""
    if trust <= timedelta(0):
        return frozenset()
    return frozenset(
        name
        for name, readiness in state.readiness.items()
        if readiness.status is ReadinessStatus.HEALTHY and now - readiness.checked_at <= trust
    )


def likely_needs(signal: Signal, group: Group) -> frozenset[str]:
    """The accounts a decision on this signal may ask to probe, known before any state is read:
    for an update that would fail over, the group's accounts it does not impact (the possible
    targets). The shell starts their probes early, side by side; the decision still asks for
    exactly what it needs."""
    if status_for(signal, group.policy) is not IncidentStatus.OPEN:
        return frozenset()
    policy = group.policy
    if signal.kind is SignalKind.RESOURCE_HEALTH:
        worthy = signal.health.lower() in policy.failover_on_resource_health
    else:
        worthy = signal.incident_type.lower() in policy.failover_on
    if not worthy:
        return frozenset()
    hit = impacted_accounts(signal, group)
    return frozenset(a.name for a in group.accounts if a.name not in hit) if hit else frozenset()


def with_needs(
    decision: Decision, group: Group, state: GroupState, now: datetime, preflight: Preflight
) -> Decision:
    """The decision, with the accounts it needs probed before it may be saved."""
    known = preflight.checked | trusted(state, now, preflight.trust)
    if decision.action == "failed_over":
        if decision.to_account in known:
            return decision
        return replace(decision, needs=frozenset({decision.to_account}))
    after = decision.new_state or state
    incidents = after.incidents.values()
    causes = [i for i in incidents if i.triggers_failover and after.active in i.impacted]
    if decision.action not in ("blocked", "duplicate") or not causes:
        return decision
    blocked = {n for i in after.incidents.values() if i.blocks_target for n in i.impacted}
    unready = after.unready()
    retry = frozenset(
        a.name
        for a in group.accounts
        if a.name in unready
        and a.name not in known
        and a.name != after.active
        and a.name not in blocked
    )
    return replace(decision, needs=retry) if retry else decision
