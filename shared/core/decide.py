"""The decision core: signal + group + state + now → decision. Pure: no I/O, no clock.

Rules (README "Decision rules"): a failover-worthy open incident that impacts the active
account moves the group to the first account, in priority order, that no blocking incident
impacts and that is ready; none → `blocked`; pinned → `suppressed`. Updates of one incident
are applied in event order: a duplicate or older update changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shared.core.failover import failover_causes, move_if_needed
from shared.core.lifecycle import (
    MAX_CLAMPED_IDS,
    Arrival,
    already_known,
    arrival,
    behind,
    held,
    impact_ended,
    impacted_accounts,
    next_incident,
    tidy,
)
from shared.core.model import Group, Signal, Timekeeping
from shared.core.preflight import Preflight, with_needs
from shared.core.readiness import with_probes
from shared.core.records import freed_note, no_change, with_note
from shared.core.shadow import decided
from shared.core.state import Decision, GroupState, Incident, KnownUpdate

__all__ = ["impacted_accounts"]  # re-exported: the shell asks which groups a signal names

DEFAULT_TIMEKEEPING = Timekeeping()
NO_PREFLIGHT = Preflight()


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
    preflight: Preflight = NO_PREFLIGHT,
) -> Decision:
    """Apply one signal to one group's state and decide whether the group moves.

    `newest` is the newest update of the signal's incident the controller has seen, whichever
    groups it named (Service Health only). An update older than it is stale for every group;
    a group that missed it (a copy older than it) gets it applied instead. `preflight` holds
    the probes made in this delivery; a decision that needs more says so in `needs`. In
    shadow mode the same decision is made over where the controller would have put the group,
    and nothing apps read moves (`shared.core.shadow`).
    """

    def over(seen: GroupState) -> Decision:
        merged = with_probes(seen, preflight.probes)
        decision = _decide(signal, group, merged, now, delivery_id, newest, clock)
        if merged is not seen and decision.new_state is None and decision.action != "ignored":
            decision = replace(decision, new_state=merged)  # what the probes found is recorded
        return with_needs(decision, group, merged, now, preflight)

    return decided(group, state, over)


def _decide(
    signal: Signal,
    group: Group,
    state: GroupState,
    now: datetime,
    delivery_id: str,
    newest: KnownUpdate | None,
    clock: Timekeeping,
) -> Decision:
    policy = group.policy
    if signal.synthetic and not policy.accept_synthetic:
        reason = "synthetic test alert (IsSynthetic=True); set policy.acceptSynthetic to act on it"
        return no_change(signal, state, "ignored", reason, now, delivery_id)
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
        noted = _noting_clamped(state, signal, came)
        return _stale(signal, group, state, noted, reason, now, delivery_id)
    return _applied(signal, came, group, state, now, delivery_id, clock)


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
        decision = with_note(decision, freed_note(freed, group))
    return with_note(decision, came.note)


def _noting_clamped(state: GroupState, signal: Signal, came: Arrival) -> GroupState:
    """A stale update from beyond the skew bound is remembered by id too: re-delivered, it
    would be ordered later again, and must still be a duplicate."""
    existing = state.incidents.get(signal.key)
    if not came.clamped or existing is None or signal.update_id in existing.clamped_updates:
        return state
    clamped = (*existing.clamped_updates, signal.update_id)[-MAX_CLAMPED_IDS:]
    incident = replace(existing, clamped_updates=clamped)
    return replace(state, incidents={**state.incidents, signal.key: incident})


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
        return with_note(decision, note)
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

    A failover that is due but was not made is tried again, as the next readiness tick would:
    one that was blocked (no ready target; readiness may have changed since), or one that
    shadow mode held back before the group switched to active. The action group's re-delivery
    is the natural moment to notice. `noted` is the state with the update's id remembered, when
    it came from beyond the skew bound.
    """
    if failover_causes(noted):
        retried = move_if_needed(signal, group, noted, now, delivery_id)
        if retried.action == "failed_over":
            return retried
    decision = no_change(signal, state, "duplicate", reason, now, delivery_id)
    return decision if noted is state else replace(decision, new_state=noted)
