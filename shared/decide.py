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
    Signal,
    SignalKind,
    normalize_region,
)

# Closed incidents are kept this long so late re-deliveries are still recognised as stale.
CLOSED_INCIDENT_RETENTION = timedelta(days=7)
# Bounds the deletes one decision adds to its (≤ 100 operation) storage transaction.
MAX_PRUNED_PER_DECISION = 50
_IMPACTING_HEALTH = frozenset({"unavailable", "degraded"})


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
    unready: frozenset[str] = frozenset(),
) -> Decision:
    """Apply one signal to one group's state and decide whether the group moves."""
    policy = group.policy
    existing = state.incidents.get(signal.key)
    if signal.synthetic and not policy.accept_synthetic:
        reason = "synthetic test alert (IsSynthetic=True); set policy.acceptSynthetic to act on it"
        return _no_change(signal, state, "ignored", reason, now, delivery_id)
    if existing is not None:
        incoming = (signal.event_time, int(signal.phase), signal.update_id)
        if incoming == existing.order_key():
            reason = f"update {signal.update_id} of {signal.key} was already applied"
            return _no_change(signal, state, "duplicate", reason, now, delivery_id)
        if incoming < existing.order_key():
            reason = (
                f"update {signal.update_id} of {signal.key} is older than the applied update "
                f"{existing.update_id} ({existing.event_time.isoformat()}); it changes nothing"
            )
            return _no_change(signal, state, "duplicate", reason, now, delivery_id)
    incident = _incident(signal, group, existing, now)
    incidents = _pruned({**state.incidents, signal.key: incident}, now)
    updated = replace(state, incidents=incidents)
    return _move_if_needed(signal, group, updated, now, delivery_id, unready)


def decide_failback(
    group: Group,
    state: GroupState,
    now: datetime,
    delivery_id: str,
    unready: frozenset[str] = frozenset(),
) -> Decision | None:
    """With `failback: auto`, move back to a higher-priority account once it has been stable."""
    policy = group.policy
    if policy.failback != "auto" or state.pin_in_force(now):
        return None
    if now - state.since < timedelta(minutes=policy.min_dwell_minutes):
        return None
    names = [a.name for a in group.accounts]
    higher = names[: names.index(state.active)] if state.active in names else names
    stable = timedelta(minutes=policy.failback_stable_minutes)
    for name in higher:
        if name in unready or blocking_incidents(state, name):
            continue
        last_closed = max(
            (i.closed_at for i in state.incidents.values() if name in i.impacted and i.closed_at),
            default=None,
        )
        if last_closed is not None and now - last_closed < stable:
            continue
        reason = (
            f"failback to {name}: no open incident has impacted it for "
            f"{policy.failback_stable_minutes} min (failback: auto)"
        )
        new_state = _moved(state, name, reason, "failback", now)
        audit = _record(state.group, "failed_back", state.active, name, reason, now, delivery_id)
        audit = replace(audit, actor="failback", version=new_state.version)
        return Decision(state.group, "failed_back", state.active, name, reason, new_state, (audit,))
    return None


def _move_if_needed(
    signal: Signal,
    group: Group,
    state: GroupState,
    now: datetime,
    delivery_id: str,
    unready: frozenset[str],
) -> Decision:
    active = state.active
    causes = sorted(
        i.key for i in state.incidents.values() if i.triggers_failover and active in i.impacted
    )
    if not causes:
        return _changed(
            signal,
            state,
            "recorded",
            active,
            _recorded_reason(signal, group, state),
            now,
            delivery_id,
        )
    cause = ", ".join(causes)
    if state.pin_in_force(now):
        until = f" until {state.pin_expires.isoformat()}" if state.pin_expires else ""
        reason = f"{active} is impacted by {cause} but pinned by {state.actor}{until}: not moving"
        return _changed(signal, state, "suppressed", active, reason, now, delivery_id)
    refusals: list[str] = []
    for account in group.accounts:
        if account.name == active:
            continue
        why_not = _why_not_target(account, state, unready)
        if why_not:
            refusals.append(f"{account.name} {why_not}")
            continue
        reason = f"{active} is impacted by {cause}; moved to {account.name}"
        new_state = _moved(state, account.name, reason, "alert", now)
        return _changed(signal, new_state, "failed_over", active, reason, now, delivery_id)
    reason = f"{active} is impacted by {cause} but no account can take over: " + "; ".join(refusals)
    return _changed(signal, state, "blocked", active, reason, now, delivery_id)


def _why_not_target(account: Account, state: GroupState, unready: frozenset[str]) -> str:
    blocking = blocking_incidents(state, account.name)
    if blocking:
        return f"is impacted by {', '.join(blocking)}"
    if account.name in unready:
        return "failed its latest readiness check"
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


def _moved(state: GroupState, to: str, reason: str, actor: str, now: datetime) -> GroupState:
    # A move ends an expired pin; a pin in force never reaches here.
    return replace(
        state,
        active=to,
        version=state.version + 1,
        since=now,
        reason=reason,
        actor=actor,
        pinned=False,
        pin_expires=None,
    )


def _changed(
    signal: Signal,
    new_state: GroupState,
    action: Action,
    from_account: str,
    reason: str,
    now: datetime,
    delivery_id: str,
) -> Decision:
    record = _evidence(
        signal,
        _record(new_state.group, action, from_account, new_state.active, reason, now, delivery_id),
    )
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
