"""Audit lines and reasons for decisions about one group. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shared.core.lifecycle import label
from shared.core.model import Group, Signal
from shared.core.state import Action, AuditRecord, Decision, GroupState, IncidentStatus


def recorded_reason(signal: Signal, group: Group, state: GroupState) -> str:
    incident = state.incidents.get(signal.key)
    what = f"{signal.kind.value} {signal.key} ({signal.phase.name.lower()})"
    if incident is None:
        return f"{what}: recorded"
    if not incident.impacted:
        return f"{what} no longer impacts any account of {group.name}; recorded"
    impacted = ", ".join(sorted(incident.impacted))
    if incident.status.closed:
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
    if incident.status is IncidentStatus.ANNOUNCED:
        return f"{what} for {impacted} is not impacting yet; recorded"
    if incident.status is IncidentStatus.UNKNOWN:
        return (
            f"{what}: health of {impacted} is {signal.health or 'not reported'}, not proven "
            "healthy: no automatic failback into it, and manual moves need force, until it "
            "reports Available (list Unknown in failoverOnResourceHealth to fail over on it)"
        )
    if not incident.triggers_failover:
        return (
            f"{what} impacts {impacted}; incident type {label(signal)!r} "
            "is not in the failover policy; recorded"
        )
    return f"{what} impacts {impacted}, not the active account {state.active}; recorded"


def freed_note(freed: frozenset[str], group: Group) -> str:
    names = ", ".join(sorted(freed))
    if group.policy.failback != "auto":
        return f"impact on {names} ended now"
    minutes = group.policy.failback_stable_minutes
    return f"impact on {names} ended now; failbackStableMinutes ({minutes} min) start now"


def with_note(decision: Decision, note: str) -> Decision:
    """The decision with `note` added to its reason and to its audit lines' reasons."""
    if not note:
        return decision
    audit = tuple(replace(r, reason=f"{r.reason}; {note}") for r in decision.audit)
    return replace(decision, reason=f"{decision.reason}; {note}", audit=audit)


def changed(
    signal: Signal | None,
    new_state: GroupState,
    action: Action,
    from_account: str,
    reason: str,
    now: datetime,
    delivery_id: str,
) -> Decision:
    record = audit_record(
        new_state.group, action, from_account, new_state.active, reason, now, delivery_id
    )
    if signal is not None:
        record = evidence(signal, record)
    record = replace(record, version=new_state.version)
    return Decision(
        new_state.group, action, from_account, new_state.active, reason, new_state, (record,)
    )


def no_change(
    signal: Signal, state: GroupState, action: Action, reason: str, now: datetime, delivery_id: str
) -> Decision:
    record = evidence(
        signal,
        audit_record(state.group, action, state.active, state.active, reason, now, delivery_id),
    )
    record = replace(record, version=state.version)
    return Decision(state.group, action, state.active, state.active, reason, None, (record,))


def audit_record(
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


def evidence(signal: Signal, record: AuditRecord) -> AuditRecord:
    return replace(
        record,
        signal_kind=signal.kind.value,
        tracking_id=signal.tracking_id or signal.key,
        communication_id=signal.communication_id or signal.update_id,
        title=signal.title,
        incident_type=label(signal),
        stage=signal.stage or signal.status,
        regions=tuple(sorted({r for s in signal.services for r in s.regions})),
        services=tuple(sorted({s.name for s in signal.services})),
        resource_id=signal.resource_id,
        signal=signal,
    )
