"""The decision core: signal + group + state + now → decision. Pure: no I/O, no clock.

Rules (README "Decision rules"): a failover-worthy open incident that impacts the active
account moves the group to the first account, in priority order, that no blocking incident
impacts and that is ready; none → `blocked`; pinned → `suppressed`. Updates of one incident
are applied in event order: a duplicate or older update changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from shared.lifecycle import (
    MAX_CLAMPED_IDS,
    Arrival,
    already_known,
    arrival,
    behind,
    held,
    impact_ended,
    impacted_accounts,
    label,
    next_incident,
    tidy,
)
from shared.model import (
    Account,
    Action,
    AuditRecord,
    Decision,
    Group,
    GroupState,
    Incident,
    IncidentStatus,
    KnownUpdate,
    ReadinessStatus,
    Signal,
    SignalKind,
    Timekeeping,
)

__all__ = ["impacted_accounts"]  # re-exported: the shell asks which groups a signal names

_DAY = timedelta(days=1)
DEFAULT_TIMEKEEPING = Timekeeping()


def initial_state(group: Group, now: datetime) -> GroupState:
    """The state of a group nothing has happened to yet: active on its primary."""
    return GroupState(
        group=group.name,
        active=group.accounts[0].name,
        version=1,
        since=now,
        reason="initial state: the primary account",
    )


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
    *,
    newest: KnownUpdate | None = None,
    clock: Timekeeping = DEFAULT_TIMEKEEPING,
) -> Decision:
    """Apply one signal to one group's state and decide whether the group moves.

    `newest` is the newest update of the signal's incident the controller has seen, whichever
    groups it named (Service Health only). An update older than it is stale for every group;
    a group that missed it (a copy older than it) gets it applied instead.
    """
    policy = group.policy
    if signal.synthetic and not policy.accept_synthetic:
        reason = "synthetic test alert (IsSynthetic=True); set policy.acceptSynthetic to act on it"
        return _no_change(signal, state, "ignored", reason, now, delivery_id)
    came = arrival(signal, now, clock)
    if newest is not None and behind(signal, came, newest):
        return _behind_newest(signal, came, group, state, newest, now, delivery_id, clock)
    existing = state.incidents.get(signal.key)
    if already_known(signal, came, existing):
        assert existing is not None  # noqa: S101  already_known is False without it
        if signal.update_id == existing.update_id or signal.update_id in existing.clamped_updates:
            reason = f"update {signal.update_id} of {signal.key} was already applied"
        else:
            reason = (
                f"update {signal.update_id} of {signal.key} is older than the applied update "
                f"{existing.update_id} ({existing.event_time.isoformat()}); it changes nothing"
            )
        return _stale(
            signal, group, state, _noting_clamped(state, signal, came), reason, now, delivery_id
        )
    return _applied(signal, came, group, state, now, delivery_id, clock)


def _noting_clamped(state: GroupState, signal: Signal, came: Arrival) -> GroupState:
    """A stale update from beyond the skew bound is remembered by id too: re-delivered, it
    would be ordered later again, and must still be a duplicate."""
    existing = state.incidents.get(signal.key)
    if not came.clamped or existing is None or signal.update_id in existing.clamped_updates:
        return state
    clamped = (*existing.clamped_updates, signal.update_id)[-MAX_CLAMPED_IDS:]
    incident = replace(existing, clamped_updates=clamped)
    return replace(state, incidents={**state.incidents, signal.key: incident})


def _applied(
    signal: Signal,
    came: Arrival,
    group: Group,
    state: GroupState,
    now: datetime,
    delivery_id: str,
    clock: Timekeeping,
    clamped: tuple[str, ...] = (),
) -> Decision:
    """The decision for an update newer than what the group holds of its incident."""
    incident = next_incident(signal, group, state.incidents.get(signal.key), now, came)
    if clamped:
        merged = (*incident.clamped_updates, *clamped)
        incident = replace(incident, clamped_updates=tuple(dict.fromkeys(merged))[-16:])
    updated = with_incident(state, incident, now, clock)
    decision = move_if_needed(signal, group, updated, now, delivery_id)
    freed = held(state.incidents) - held(updated.incidents)
    if freed and decision.action == "recorded" and not incident.status.closed:
        # A resolution's reason already says what closed; an update that drops a region, or
        # Resource Health leaving Unknown, says here that the impact ended.
        decision = _noted(decision, _freed_note(freed, group))
    return _noted(decision, came.note)


def with_incident(
    state: GroupState, incident: Incident, now: datetime, clock: Timekeeping
) -> GroupState:
    """The state with this incident applied: impact that ended is stamped with `now`, and old
    closed incidents are compacted or forgotten (never the one just applied)."""
    incidents = {**state.incidents, incident.key: incident}
    ended = impact_ended(state.incidents, incidents, state.impact_ended, now)
    tidied = tidy(incidents, now, clock, keep=incident.key)
    return replace(state, incidents=tidied, impact_ended=ended)


def _behind_newest(
    signal: Signal,
    came: Arrival,
    group: Group,
    state: GroupState,
    newest: KnownUpdate,
    now: datetime,
    delivery_id: str,
    clock: Timekeeping,
) -> Decision:
    """An update older than the newest one seen of its incident: stale, unless this group
    missed the newest one (its delivery failed here, or raced this one), which it gets now."""
    latest = newest.signal
    existing = state.incidents.get(signal.key)
    missed = (
        newest.order_key() > existing.order_key()
        if existing is not None
        else bool(impacted_accounts(latest, group))
    )
    sent = latest.event_time.isoformat()
    if missed:
        decision = _applied(
            latest,
            Arrival(latest.event_time),
            group,
            state,
            now,
            delivery_id,
            clock,
            newest.clamped_updates,
        )
        note = (
            f"update {signal.update_id} of {signal.key} is older than {latest.update_id} "
            f"({sent}), the newest seen of it, which this group had missed: applied that one"
        )
        return _noted(decision, note)
    if signal.update_id in newest.clamped_updates:
        reason = (
            f"update {signal.update_id} of {signal.key} was received before (its event time "
            "is beyond the skew bound, so it is known by its id); it changes nothing"
        )
    else:
        reason = (
            f"update {signal.update_id} of {signal.key} is older than {latest.update_id} "
            f"({latest.phase.name.lower()}, {sent}), the newest seen of it; it changes nothing"
        )
    noted = _noting_clamped(state, signal, came)
    return _stale(signal, group, state, noted, reason, now, delivery_id)


def _stale(
    signal: Signal,
    group: Group,
    state: GroupState,
    noted: GroupState,
    reason: str,
    now: datetime,
    delivery_id: str,
) -> Decision:
    """A duplicate or older update changes nothing, except that it retries a pending failover.

    A failover that was blocked (no ready target) is tried again: readiness may have changed
    since, and the action group's re-delivery is the natural moment to notice. `noted` is the
    state with the update's id remembered, when it came from beyond the skew bound.
    """
    if failover_causes(noted) and noted.blocked_since is not None:
        retried = move_if_needed(signal, group, noted, now, delivery_id)
        if retried.action == "failed_over":
            return retried
    decision = _no_change(signal, state, "duplicate", reason, now, delivery_id)
    return decision if noted is state else replace(decision, new_state=noted)


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
        audit = _record(state.group, "failed_back", state.active, name, reason, now, delivery_id)
        audit = replace(audit, actor="failback", version=new_state.version)
        return Decision(
            state.group, "failed_back", state.active, name, reason, new_state, (audit,), notify=True
        )
    return None


def impact_ended_at(state: GroupState, name: str) -> datetime | None:
    """When the controller last saw impact on account `name` end, if it ever did."""
    return state.impact_ended.get(name)


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


def _freed_note(freed: frozenset[str], group: Group) -> str:
    names = ", ".join(sorted(freed))
    if group.policy.failback != "auto":
        return f"impact on {names} ended now"
    minutes = group.policy.failback_stable_minutes
    return f"impact on {names} ended now; failbackStableMinutes ({minutes} min) start now"


def _noted(decision: Decision, note: str) -> Decision:
    """The decision with `note` added to its reason and to its audit lines' reasons."""
    if not note:
        return decision
    audit = tuple(replace(r, reason=f"{r.reason}; {note}") for r in decision.audit)
    return replace(decision, reason=f"{decision.reason}; {note}", audit=audit)


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
        incident_type=label(signal),
        stage=signal.stage or signal.status,
        regions=tuple(sorted({r for s in signal.services for r in s.regions})),
        services=tuple(sorted({s.name for s in signal.services})),
        resource_id=signal.resource_id,
    )
