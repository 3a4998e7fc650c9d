"""The readiness timer's decision for one group: record probes, then move if a move is due.

Pure, like the decision core. Order of concerns on each tick:
1. merge the accounts' probe results into the group's readiness (streaks of failures/passes);
2. a failover that an alert wanted but could not make (target unready, or awaiting probe
   confirmation) is made as soon as it may be;
3. with `failoverOnProbeFailures`, N failed probes of the active account move the group;
4. with `failback: auto`, a stable higher-priority account takes the group back.
Readiness changes are audited; an unchanged tick adds no audit line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from shared.core.decide import DEFAULT_TIMEKEEPING
from shared.core.failback import decide_failback
from shared.core.failover import (
    auto_moves_today,
    choose_target,
    failover_causes,
    move_if_needed,
    moved,
)
from shared.core.lifecycle import tidy
from shared.core.model import Group, ProbeResult, Timekeeping
from shared.core.readiness import merge_probe
from shared.core.shadow import decided
from shared.core.state import AuditRecord, Decision, GroupState, Readiness


def decide_tick(
    group: Group,
    state: GroupState,
    probes: Mapping[str, ProbeResult],
    now: datetime,
    delivery_id: str,
    clock: Timekeeping = DEFAULT_TIMEKEEPING,
) -> Decision:
    """Record the probes of the group's accounts (by account name) and move if one is due.

    Old closed incidents are compacted or forgotten here too, so a group that receives no
    alerts still keeps its partition bounded. In shadow mode the same decision is made over
    where the controller would have put the group, and nothing apps read moves."""
    return decided(group, state, lambda seen: _ticked(group, seen, probes, now, delivery_id, clock))


def _ticked(
    group: Group,
    state: GroupState,
    probes: Mapping[str, ProbeResult],
    now: datetime,
    delivery_id: str,
    clock: Timekeeping,
) -> Decision:
    readiness = dict(state.readiness)
    changes: list[AuditRecord] = []
    for account in group.accounts:
        result = probes.get(account.name)
        if result is None:
            continue
        before = readiness.get(account.name)
        readiness[account.name] = merge_probe(before, result)
        if before is None or before.status is not result.status:
            changes.append(_readiness_record(state, account.name, before, result, now, delivery_id))
    current = replace(state, readiness=readiness, incidents=tidy(state.incidents, now, clock))
    move = _due_move(group, current, now, delivery_id)
    if move is not None:
        return replace(move, audit=(*changes, *move.audit))
    reason = "readiness recorded"
    return Decision(
        group.name, "recorded", state.active, state.active, reason, current, tuple(changes)
    )


def _due_move(group: Group, state: GroupState, now: datetime, delivery_id: str) -> Decision | None:
    if failover_causes(state):
        pending = move_if_needed(None, group, state, now, delivery_id)
        return pending if pending.action == "failed_over" else None
    probe_move = _probe_failover(group, state, now, delivery_id)
    if probe_move is not None:
        return probe_move
    return decide_failback(group, state, now, delivery_id)


def _probe_failover(
    group: Group, state: GroupState, now: datetime, delivery_id: str
) -> Decision | None:
    needed = group.policy.failover_on_probe_failures
    readiness = state.readiness.get(state.active)
    if needed <= 0 or readiness is None or readiness.consecutive_failures < needed:
        return None
    if (
        state.pin_in_force(now)
        or auto_moves_today(state, now) >= group.policy.max_auto_moves_per_day
    ):
        return None
    target, _ = choose_target(group, state)
    if target is None:
        return None
    reason = (
        f"{state.active} failed {readiness.consecutive_failures} consecutive probes "
        f"({readiness.status.value}: {readiness.evidence}); moved to {target} "
        "(failoverOnProbeFailures)"
    )
    new_state = moved(state, target, reason, "probe", now)
    record = AuditRecord(
        group=group.name,
        time=now,
        action="failed_over",
        from_account=state.active,
        to_account=target,
        reason=reason,
        actor="probe",
        record_id=f"{delivery_id}.failed_over",
        version=new_state.version,
    )
    return Decision(
        group.name, "failed_over", state.active, target, reason, new_state, (record,), notify=True
    )


def _readiness_record(
    state: GroupState,
    account: str,
    before: Readiness | None,
    result: ProbeResult,
    now: datetime,
    delivery_id: str,
) -> AuditRecord:
    was = before.status.value if before else "unknown"
    return AuditRecord(
        group=state.group,
        time=now,
        action="readiness",
        from_account=state.active,
        to_account=state.active,
        reason=f"{account}: {was} → {result.status.value}: {result.evidence}",
        actor="probe",
        record_id=f"{delivery_id}.readiness.{account}",
        version=state.version,
    )
