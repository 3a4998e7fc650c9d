"""The decision core: signal + group + state + now → decision. Pure: no I/O, no clock.

Rules (README "Decision rules"): a failover-worthy open incident that impacts the active
account moves the group to the first account, in priority order, that no blocking incident
impacts and that is ready; none → `blocked`; pinned → `suppressed`. Updates of one incident
are applied in event order: a duplicate or older update changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from shared.model import (
    Account,
    Action,
    AuditRecord,
    Decision,
    Group,
    GroupState,
    Incident,
    Phase,
    Policy,
    ReadinessStatus,
    Signal,
    SignalKind,
    normalize_region,
)

# Closed incidents are kept this long so late re-deliveries are still recognised as stale.
CLOSED_INCIDENT_RETENTION = timedelta(days=7)
# Bounds the deletes one decision adds to its (≤ 100 operation) storage transaction.
MAX_PRUNED_PER_DECISION = 50
_IMPACTING_HEALTH = frozenset({"unavailable", "degraded"})
_DAY = timedelta(days=1)


def initial_state(group: Group, now: datetime) -> GroupState:
    """The state of a group nothing has happened to yet: active on its primary."""
    return GroupState(
        group=group.name,
        active=group.accounts[0].name,
        version=1,
        since=now,
        reason="initial state: the primary account",
    )


def impacted_accounts(signal: Signal, group: Group) -> frozenset[str]:
    """Names of the group's accounts this signal says are impaired (any phase)."""
    if signal.kind is SignalKind.RESOURCE_HEALTH:
        return frozenset(a.name for a in group.accounts if _same_resource(a, signal))
    policy = group.policy
    regions: set[str] = set()
    for service in signal.services:
        if any(wanted in service.name.lower() for wanted in policy.service_names):
            regions.update(normalize_region(r) for r in service.regions)
    if policy.include_global and "global" in regions:
        return frozenset(a.name for a in group.accounts)
    return frozenset(a.name for a in group.accounts if a.location in regions)


def concerns(signal: Signal, group: Group, state: GroupState | None) -> bool:
    """True when the signal names one of the group's accounts or an incident the group tracks."""
    tracked = state is not None and signal.key in state.incidents
    return tracked or bool(impacted_accounts(signal, group))


def decide(
    signal: Signal,
    group: Group,
    state: GroupState,
    now: datetime,
    delivery_id: str,
) -> Decision:
    """Apply one signal to one group's state and decide whether the group moves."""
    policy = group.policy
    existing = state.incidents.get(signal.key)
    if signal.synthetic and not policy.accept_synthetic:
        reason = "synthetic test alert (IsSynthetic=True); set policy.acceptSynthetic to act on it"
        return _no_change(signal, state, "ignored", reason, now, delivery_id)
    if existing is not None:
        incoming = (signal.event_time, int(signal.phase), signal.update_id)
        if incoming <= existing.order_key():
            return _redelivered(signal, group, state, existing, now, delivery_id)
    incident = _incident(signal, group, existing, now)
    incidents = _pruned({**state.incidents, signal.key: incident}, now)
    updated = replace(state, incidents=incidents)
    return move_if_needed(signal, group, updated, now, delivery_id)


def _redelivered(
    signal: Signal,
    group: Group,
    state: GroupState,
    existing: Incident,
    now: datetime,
    delivery_id: str,
) -> Decision:
    """A duplicate or older update changes nothing, except that it retries a pending failover.

    A failover that was blocked (no ready target) is tried again: readiness may have changed
    since, and the action group's re-delivery is the natural moment to notice.
    """
    if failover_causes(state) and state.blocked_since is not None:
        retried = move_if_needed(signal, group, state, now, delivery_id)
        if retried.action == "failed_over":
            return retried
    if (signal.event_time, int(signal.phase), signal.update_id) == existing.order_key():
        reason = f"update {signal.update_id} of {signal.key} was already applied"
    else:
        reason = (
            f"update {signal.update_id} of {signal.key} is older than the applied update "
            f"{existing.update_id} ({existing.event_time.isoformat()}); it changes nothing"
        )
    return _no_change(signal, state, "duplicate", reason, now, delivery_id)


def decide_failback(
    group: Group,
    state: GroupState,
    now: datetime,
    delivery_id: str,
) -> Decision | None:
    """With `failback: auto`, move back to a higher-priority account once it has been stable.

    Stable: no open incident impacts it, none has for `failbackStableMinutes`, and its probes
    have passed throughout that time. Never sooner than `minDwellMinutes` after the last move,
    and never past the day's cap of automatic moves.
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
    for name in higher:
        if blocking_incidents(state, name) or not _passing_since(state, name, now - stable):
            continue
        last_closed = max(
            (i.closed_at for i in state.incidents.values() if name in i.impacted and i.closed_at),
            default=None,
        )
        if last_closed is not None and now - last_closed < stable:
            continue
        reason = (
            f"failback to {name}: no open incident has impacted it and its probes have passed "
            f"for {policy.failback_stable_minutes} min (failback: auto)"
        )
        new_state = moved(state, name, reason, "failback", now)
        audit = _record(state.group, "failed_back", state.active, name, reason, now, delivery_id)
        audit = replace(audit, actor="failback", version=new_state.version)
        return Decision(
            state.group, "failed_back", state.active, name, reason, new_state, (audit,), notify=True
        )
    return None


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
        reason = _recorded_reason(signal, group, calm) if signal else "no incident impacts it"
        return _changed(signal, calm, "recorded", active, reason, now, delivery_id)
    cause = ", ".join(causes)
    if state.pin_in_force(now):
        until = f" until {state.pin_expires.isoformat()}" if state.pin_expires else ""
        reason = f"{active} is impacted by {cause} but pinned by {state.actor}{until}: not moving"
        return _changed(signal, state, "suppressed", active, reason, now, delivery_id)
    waiting = _awaiting_confirmation(group, state)
    if waiting:
        reason = f"{active} is impacted by {cause}; {waiting}"
        return _changed(signal, state, "recorded", active, reason, now, delivery_id)
    target, refusals = choose_target(group, state)
    if target is not None:
        reason = f"{active} is impacted by {cause}; moved to {target}"
        new_state = moved(state, target, reason, "alert", now)
        decision = _changed(signal, new_state, "failed_over", active, reason, now, delivery_id)
        return replace(decision, notify=True)
    reason = f"{active} is impacted by {cause} but no account can take over: " + "; ".join(refusals)
    blocked = replace(state, blocked_since=state.blocked_since or now)
    decision = _changed(signal, blocked, "blocked", active, reason, now, delivery_id)
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


def _recorded_reason(signal: Signal, group: Group, state: GroupState) -> str:
    incident = state.incidents[signal.key]
    what = f"{signal.kind.value} {signal.key} ({signal.phase.name.lower()})"
    if not incident.impacted:
        return f"{what} no longer impacts any account of {group.name}; recorded"
    impacted = ", ".join(sorted(incident.impacted))
    if signal.phase in (Phase.RESOLVED, Phase.RCA):
        primary = group.accounts[0].name
        if state.active == primary:
            return f"{what} closed for {impacted}; {primary} is active, nothing to do"
        if group.policy.failback == "manual":
            return (
                f"{what} closed for {impacted}; failback is manual: POST /api/failover "
                f"to move back to {primary}"
            )
        return (
            f"{what} closed for {impacted}; automatic failback once it is stable for "
            f"{group.policy.failback_stable_minutes} min"
        )
    if not incident.open:
        return f"{what} for {impacted} is not impacting yet; recorded"
    if not incident.triggers_failover:
        return (
            f"{what} impacts {impacted}; incident type {_label(signal)!r} "
            "is not in the failover policy; recorded"
        )
    return f"{what} impacts {impacted}, not the active account {state.active}; recorded"


def _incident(signal: Signal, group: Group, existing: Incident | None, now: datetime) -> Incident:
    policy = group.policy
    open_ = _is_open(signal, policy)
    if signal.kind is SignalKind.RESOURCE_HEALTH:
        triggers = open_ and signal.health.lower() in policy.failover_on_resource_health
        blocks = open_
    else:
        triggers = blocks = open_ and signal.incident_type.lower() in policy.failover_on
    closed_at = None
    if signal.phase in (Phase.RESOLVED, Phase.RCA):
        closed_at = existing.closed_at if existing and existing.closed_at else signal.event_time
    impacted = impacted_accounts(signal, group)
    if existing is not None and not impacted and signal.phase is not Phase.ACTIVE:
        # Resolutions often list no regions; they close what the incident impacted before.
        impacted = existing.impacted
    return Incident(
        key=signal.key,
        kind=signal.kind,
        open=open_,
        triggers_failover=triggers,
        blocks_target=blocks,
        impacted=impacted,
        event_time=signal.event_time,
        phase=signal.phase,
        update_id=signal.update_id,
        title=signal.title,
        incident_type=_label(signal),
        first_seen=existing.first_seen if existing else now,
        closed_at=closed_at,
    )


def _is_open(signal: Signal, policy: Policy) -> bool:
    if signal.phase is not Phase.ACTIVE:
        return False
    if signal.kind is SignalKind.RESOURCE_HEALTH:
        health = signal.health.lower()
        return health in _IMPACTING_HEALTH or health in policy.failover_on_resource_health
    return True


def _pruned(incidents: dict[str, Incident], now: datetime) -> dict[str, Incident]:
    expired = [
        key
        for key, i in incidents.items()
        if i.closed_at is not None and now - i.closed_at > CLOSED_INCIDENT_RETENTION
    ][:MAX_PRUNED_PER_DECISION]
    return {k: v for k, v in incidents.items() if k not in expired}


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


def _passing_since(state: GroupState, name: str, start: datetime) -> bool:
    """True when the account's probes have passed from `start` (or earlier) until now."""
    readiness = state.readiness.get(name)
    if readiness is None or readiness.status is ReadinessStatus.UNKNOWN or not readiness.ready:
        return False
    return readiness.passing_since is not None and readiness.passing_since <= start


def _changed(
    signal: Signal | None,
    new_state: GroupState,
    action: Action,
    from_account: str,
    reason: str,
    now: datetime,
    delivery_id: str,
) -> Decision:
    record = _record(
        new_state.group, action, from_account, new_state.active, reason, now, delivery_id
    )
    if signal is not None:
        record = _evidence(signal, record)
    record = replace(record, version=new_state.version)
    return Decision(
        new_state.group, action, from_account, new_state.active, reason, new_state, (record,)
    )


def _no_change(
    signal: Signal, state: GroupState, action: Action, reason: str, now: datetime, delivery_id: str
) -> Decision:
    record = _evidence(
        signal, _record(state.group, action, state.active, state.active, reason, now, delivery_id)
    )
    record = replace(record, version=state.version)
    return Decision(state.group, action, state.active, state.active, reason, None, (record,))


def _record(
    group: str,
    action: str,
    from_account: str,
    to_account: str,
    reason: str,
    now: datetime,
    delivery_id: str,
) -> AuditRecord:
    return AuditRecord(
        group=group,
        time=now,
        action=action,
        from_account=from_account,
        to_account=to_account,
        reason=reason,
        actor="alert",
        record_id=f"{delivery_id}.{action}",
    )


def _evidence(signal: Signal, record: AuditRecord) -> AuditRecord:
    return replace(
        record,
        signal_kind=signal.kind.value,
        tracking_id=signal.tracking_id or signal.key,
        communication_id=signal.communication_id or signal.update_id,
        title=signal.title,
        incident_type=_label(signal),
        stage=signal.stage or signal.status,
        regions=tuple(sorted({r for s in signal.services for r in s.regions})),
        services=tuple(sorted({s.name for s in signal.services})),
        resource_id=signal.resource_id,
    )


def _same_resource(account: Account, signal: Signal) -> bool:
    return account.resource_id.lower() == signal.resource_id.lower()


def _label(signal: Signal) -> str:
    """What kind of trouble: the incident type, or the health state for Resource Health."""
    if signal.kind is SignalKind.RESOURCE_HEALTH:
        return signal.health or signal.incident_type
    return signal.incident_type
