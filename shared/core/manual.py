"""Manual moves, pins and unpins requested by an operator. Pure, like the decision core."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from shared.core.failover import blocking_incidents
from shared.core.model import Group
from shared.core.records import with_note
from shared.core.shadow import placed, placement_of, shadow_of
from shared.core.state import AuditRecord, Decision, GroupState, IncidentStatus, ManualAction


class UnknownAccountError(ValueError):
    """The requested target is not an account of the group."""


class UnsafeTargetError(ValueError):
    """The target is impacted or not ready; only `force` may move there."""


@dataclass(frozen=True)
class ManualRequest:
    """An operator's request: move to `to` and/or pin or unpin, with a reason and an actor."""

    group: str
    reason: str
    actor: str
    to: str | None = None  # None: keep the active account (pin or unpin only)
    pin: bool | None = None  # None: leave the pin as it is
    pin_expires: datetime | None = None
    force: bool = False


def decide_manual(
    request: ManualRequest,
    group: Group,
    state: GroupState,
    now: datetime,
    delivery_id: str,
) -> Decision:
    """Apply an operator's request; raises when the target is unknown or unsafe without force.

    Operators move the flag in shadow mode too, and the controller's would-be placement follows
    the request as an active controller's would; a request an active controller would refuse
    leaves the placement where it is."""
    decision = _decided(request, group, state, now, delivery_id)
    shadow = shadow_of(group, state)
    if shadow is None:
        return decision
    try:
        would = _decided(request, group, placed(state, shadow), now, delivery_id).new_state
    except UnsafeTargetError:
        return decision
    if would is None:
        return decision
    where = replace(placement_of(would), apart_since=shadow.apart_since)
    followed = replace(decision, new_state=replace(decision.new_state or state, shadow=where))
    if where.account == shadow.account:
        return followed
    return with_note(followed, f"shadow mode: the would-be placement follows to {where.account}")


def _decided(
    request: ManualRequest,
    group: Group,
    state: GroupState,
    now: datetime,
    delivery_id: str,
) -> Decision:
    target = request.to or state.active
    if group.account(target) is None:
        known = ", ".join(a.name for a in group.accounts)
        raise UnknownAccountError(f"to: {target!r} is not an account of {group.name} ({known})")
    if target != state.active and not request.force:
        blocking = blocking_incidents(state, target)
        if blocking:
            raise UnsafeTargetError(
                f"{target} is impacted by {', '.join(blocking)}; send force=true to move anyway"
            )
        unknown = sorted(
            i.key
            for i in state.incidents.values()
            if i.status is IncidentStatus.UNKNOWN and target in i.impacted
        )
        if unknown:
            raise UnsafeTargetError(
                f"{target}: Resource Health reports its health as Unknown ({', '.join(unknown)}), "
                "so it is not proven healthy; send force=true to move anyway"
            )
        readiness = state.readiness.get(target)
        if readiness is not None and not readiness.ready:
            raise UnsafeTargetError(
                f"{target} failed its latest readiness check ({readiness.status.value}: "
                f"{readiness.evidence}); send force=true to move anyway"
            )
    if request.pin is None:
        pinned = state.pin_in_force(now)
        pin_expires = state.pin_expires if pinned else None
    else:
        pinned = request.pin
        pin_expires = request.pin_expires if pinned else None
    action = _action(state, target, pinned, pin_expires, now)
    if action == "unchanged":
        reason = f"{target} is already active with the requested pin; {request.reason}"
        return Decision(
            group.name,
            action,
            state.active,
            target,
            reason,
            None,
            (_record(request, state, target, action, reason, now, delivery_id),),
        )
    reason = f"{action} by {request.actor}: {request.reason}"
    moved = target != state.active
    new_state = replace(
        state,
        active=target,
        version=state.version + 1,
        since=now if moved else state.since,
        reason=reason if moved else state.reason,
        actor=request.actor,
        pinned=pinned,
        pin_expires=pin_expires,
    )
    record = _record(request, new_state, target, action, reason, now, delivery_id)
    record = replace(record, from_account=state.active)
    return Decision(
        group.name, action, state.active, target, reason, new_state, (record,), notify=True
    )


def _action(
    state: GroupState, target: str, pinned: bool, pin_expires: datetime | None, now: datetime
) -> ManualAction:
    if target != state.active:
        return "moved"
    if pinned == state.pin_in_force(now) and (not pinned or pin_expires == state.pin_expires):
        return "unchanged"
    return "pinned" if pinned else "unpinned"


def _record(
    request: ManualRequest,
    state: GroupState,
    target: str,
    action: str,
    reason: str,
    now: datetime,
    delivery_id: str,
) -> AuditRecord:
    return AuditRecord(
        group=state.group,
        time=now,
        action=action,
        from_account=state.active,
        to_account=target,
        reason=reason,
        actor=request.actor,
        record_id=f"{delivery_id}.{action}",
        version=state.version,
    )
