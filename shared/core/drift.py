"""A group whose stored active account is no longer in the configuration. Pure.

Someone removed or renamed the account the group was active on. The group goes back to its
primary, as a move like any other: audited, versioned and worth a page.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shared.core.model import Group
from shared.core.records import audit_record
from shared.core.state import Decision, GroupState


def realigned(group: Group, state: GroupState, now: datetime, delivery_id: str) -> Decision | None:
    """The move back to the primary when the active account is not configured, else None."""
    if group.account(state.active) is not None:
        return None
    primary = group.accounts[0].name
    reason = (
        f"{state.active} is no longer an account of {group.name} in the configuration: "
        f"back to the primary {primary}"
    )
    new_state = replace(
        state,
        active=primary,
        version=state.version + 1,
        since=now,
        reason=reason,
        actor="configuration",
        pinned=False,
        pin_expires=None,
        blocked_since=None,
    )
    record = audit_record(group.name, "moved", state.active, primary, reason, now, delivery_id)
    record = replace(record, actor="configuration", version=new_state.version)
    record = replace(record, record_id=f"{delivery_id}.realigned")
    return Decision(group.name, "moved", state.active, primary, reason, new_state, (record,), True)


def after_realigning(realign: Decision | None, decision: Decision) -> Decision:
    """The decision taken after a realignment, carrying its audit line before its own."""
    if realign is None:
        return decision
    return replace(
        decision,
        new_state=decision.new_state or realign.new_state,
        audit=(*realign.audit, *decision.audit),
    )
