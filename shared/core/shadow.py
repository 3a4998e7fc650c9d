"""Shadow mode: decide exactly as in active mode, and move nothing apps read. Pure.

With `policy.mode: shadow` a group's state carries a second placement, `shadow`: the account an
active controller would have made active, with the bookkeeping of its own moves (README,
"Shadow mode"). Alerts and readiness ticks are decided over that placement by the same core as
in active mode; the decision is then put back: the active-account fields apps read stay as they
were, the placement takes the move, and each action about moving the flag (`failed_over`,
`failed_back`, `blocked`) takes its `would_` form. Operators still move the flag itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from shared.core.model import Group
from shared.core.records import audit_record
from shared.core.state import (
    Action,
    AuditRecord,
    Decision,
    GroupState,
    ManualAction,
    ModeAction,
    Placement,
)

# The actions about moving the flag, and what they are called when only the controller's
# would-be placement moved.
WOULD: dict[str, Action] = {
    "failed_over": "would_fail_over",
    "failed_back": "would_fail_back",
    "blocked": "would_block",
}


def placement_of(state: GroupState) -> Placement:
    """The state's active account, with the bookkeeping of its moves, as a placement."""
    return Placement(
        account=state.active,
        since=state.since,
        reason=state.reason,
        actor=state.actor,
        auto_moves=state.auto_moves,
        blocked_since=state.blocked_since,
    )


def shadow_of(group: Group, state: GroupState) -> Placement | None:
    """Where the controller would have put the group (None in active mode): as recorded, or
    where apps are when none is recorded yet or its account is no longer configured."""
    if group.policy.mode != "shadow":
        return None
    shadow = state.shadow
    if shadow is None or group.account(shadow.account) is None:
        return placement_of(state)
    return shadow


def placed(state: GroupState, where: Placement) -> GroupState:
    """The state with its active account (and that account's bookkeeping) at `where`."""
    return replace(
        state,
        active=where.account,
        since=where.since,
        reason=where.reason,
        actor=where.actor,
        auto_moves=where.auto_moves,
        blocked_since=where.blocked_since,
    )


def decided(group: Group, state: GroupState, decide: Callable[[GroupState], Decision]) -> Decision:
    """`decide` over the state in active mode. In shadow mode, over the would-be placement, then
    put back: the placement takes any move, and the flag apps read stays where it is."""
    shadow = shadow_of(group, state)
    if shadow is None:
        return decide(state)
    return _put_back(state, shadow, decide(placed(state, shadow)))


def _put_back(real: GroupState, shadow: Placement, decision: Decision) -> Decision:
    new = decision.new_state
    action: Action | ManualAction | ModeAction = WOULD.get(decision.action, decision.action)
    would = shadow
    new_state = None
    if new is not None:
        moved = placement_of(new)
        reason = moved.reason if moved.reason == shadow.reason else _reworded(action, moved.reason)
        would = replace(moved, reason=reason, apart_since=shadow.apart_since)
        flag = placed(new, placement_of(real))
        new_state = replace(
            flag,
            version=real.version,
            pinned=real.pinned,
            pin_expires=real.pin_expires,
            mode="shadow",
            shadow=would,
        )
    audit = tuple(_marked(r, real.active, would.account, real.version) for r in decision.audit)
    reason = _prefix(action, real.active, would.account) + _reworded(action, decision.reason)
    return replace(decision, action=action, reason=reason, new_state=new_state, audit=audit)


def _marked(record: AuditRecord, apps: str, would: str, version: int) -> AuditRecord:
    """An audit line of a shadow decision: `would_` forms, and a reason that says so."""
    action = WOULD.get(record.action, record.action)
    reason = _prefix(action, apps, would) + _reworded(action, record.reason)
    return replace(record, action=action, reason=reason, version=version)


def _prefix(action: str, apps: str, would: str) -> str:
    if action in WOULD.values():
        return f"shadow mode, nothing moved (apps stay on {apps}): "
    if would != apps:
        return f"shadow mode (would be on {would}; apps are on {apps}): "
    return "shadow mode: "


def _reworded(action: str, reason: str) -> str:
    """The reason of a move the controller only would have made, in the conditional."""
    if action not in WOULD.values():
        return reason
    reason = reason.replace("; moved to ", "; would have moved to ")
    if reason.startswith("failback to "):
        reason = "would have failed back to " + reason.removeprefix("failback to ")
    return reason


def mode_switched(
    group: Group, state: GroupState, now: datetime, delivery_id: str
) -> Decision | None:
    """The audited change of a group's mode when its configured `policy.mode` is not the one
    its state was saved under, else None. It moves nothing: the next alert or tick decides."""
    mode = group.policy.mode
    if state.mode == mode:
        return None
    if mode == "shadow":
        # The controller stops acting on the flag: a block it was waiting on becomes its own.
        new = replace(state, mode=mode, shadow=placement_of(state), blocked_since=None)
        reason = (
            f"policy.mode changed from active to shadow: from {state.active}, where apps are, "
            "the controller records what it would do and moves nothing; operators still move "
            "the flag"
        )
    else:
        shadow = state.shadow
        same = shadow is not None and shadow.account == state.active
        blocked = shadow.blocked_since if shadow is not None and same else None
        new = replace(state, mode=mode, shadow=None, blocked_since=blocked)
        would = f" (it would have put them on {shadow.account})" if shadow and not same else ""
        reason = (
            f"policy.mode changed from shadow to active: the controller acts from "
            f"{state.active}, where apps are{would}; nothing moved, the next alert or "
            "readiness tick decides"
        )
    active = state.active
    record = audit_record(group.name, "mode_changed", active, active, reason, now, delivery_id)
    record = replace(record, actor="configuration", version=state.version)
    return Decision(group.name, "mode_changed", active, active, reason, new, (record,), True)


def kept_apart(before: GroupState, after: GroupState, now: datetime) -> GroupState:
    """`after`, with the time since when apps and the would-be placement have been on
    different accounts (kept from `before` while they stay apart, None once they agree)."""
    shadow = after.shadow
    if shadow is None:
        return after
    since = None
    if shadow.account != after.active:
        was = before.shadow
        apart = was is not None and was.account != before.active
        since = (was.apart_since if was is not None and apart else None) or now
    if since == shadow.apart_since:
        return after
    return replace(after, shadow=replace(shadow, apart_since=since))
