"""The incident lifecycle: what one update does to what a group knows of one incident. Pure.

README, "The incident lifecycle", draws it. In short:
- Payload times only order the updates of one incident; an update is applied when it is newer
  than the latest one applied. An event time further ahead of the controller's clock than
  `Timekeeping.max_skew` is ordered as if it had been sent when it was received, so it cannot
  make later genuine updates look older; its id is remembered so its re-deliveries stay
  duplicates.
- The status follows the update: Planned → announced; Active → open (Resource Health Unknown →
  unknown); Resolved, RCA, Canceled, … and Resource Health Available → closed.
- Everything measured is on the controller's clock: first seen, closed, impact ended, and the
  retention. A closed incident keeps its details for `Timekeeping.detail`, then only a
  tombstone (key and last update) until `Timekeeping.retention` after its last update.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.core.limits import fit
from shared.core.model import (
    Group,
    Phase,
    Policy,
    Signal,
    SignalKind,
    Timekeeping,
    normalize_region,
)
from shared.core.state import Incident, IncidentStatus, KnownUpdate

# Bounds the rows one decision rewrites or deletes in its (≤ 100 operation) transaction.
MAX_TIDIED_PER_DECISION = 50
MAX_CLAMPED_IDS = 16
MAX_KEPT_TITLE = 512
MAX_KEPT_REGIONS = 200  # Azure has about 60 regions; more names than this are not regions
_IMPACTING_HEALTH = frozenset({"unavailable", "degraded"})
_CLOSING = (Phase.RESOLVED, Phase.RCA)


@dataclass(frozen=True)
class Arrival:
    """How the controller orders one update: its order time, and a note when that was clamped."""

    when: datetime
    clamped: bool = False
    note: str = ""


def arrival(signal: Signal, now: datetime, clock: Timekeeping) -> Arrival:
    """The update's order time: its event time, or `now` when that is beyond the skew bound."""
    ahead = signal.event_time - now
    if ahead <= clock.max_skew:
        return Arrival(signal.event_time)
    note = (
        f"its event time {signal.event_time.isoformat()} is {span(ahead)} ahead of the "
        f"controller's clock (bound {span(clock.max_skew)}), so it is ordered as received "
        f"at {now.isoformat()}"
    )
    return Arrival(now, clamped=True, note=note)


def already_known(signal: Signal, came: Arrival, known: Incident | None) -> bool:
    """True when the update is the one applied last, or older, or a clamped one seen before."""
    if known is None:
        return False
    if signal.update_id in known.clamped_updates:
        return True
    return (came.when, int(signal.phase), signal.update_id) <= known.order_key()


def impacted_accounts(signal: Signal, group: Group) -> frozenset[str]:
    """Names of the group's accounts this signal names (any phase)."""
    if signal.kind is SignalKind.RESOURCE_HEALTH:
        wanted = signal.resource_id.lower()
        return frozenset(a.name for a in group.accounts if a.resource_id.lower() == wanted)
    policy = group.policy
    regions: set[str] = set()
    for service in signal.services:
        if any(name in service.name.lower() for name in policy.service_names):
            regions.update(normalize_region(r) for r in service.regions)
    if policy.include_global and "global" in regions:
        return frozenset(a.name for a in group.accounts)
    return frozenset(a.name for a in group.accounts if a.location in regions)


def status_for(signal: Signal, policy: Policy) -> IncidentStatus:
    """The lifecycle status an update puts its incident in."""
    if signal.phase is Phase.PLANNED:
        return IncidentStatus.ANNOUNCED
    if signal.phase is not Phase.ACTIVE:
        return IncidentStatus.CLOSED
    if signal.kind is SignalKind.SERVICE_HEALTH:
        return IncidentStatus.OPEN
    health = signal.health.lower()
    if health in _IMPACTING_HEALTH or health in policy.failover_on_resource_health:
        return IncidentStatus.OPEN
    # Unknown, null or a state Azure has not documented: not proven healthy.
    return IncidentStatus.UNKNOWN


def next_incident(
    signal: Signal, group: Group, existing: Incident | None, now: datetime, came: Arrival
) -> Incident:
    """The incident after applying a newer update to it (`existing` None: first seen now)."""
    policy = group.policy
    status = status_for(signal, policy)
    opened = status is IncidentStatus.OPEN
    if signal.kind is SignalKind.RESOURCE_HEALTH:
        triggers = opened and signal.health.lower() in policy.failover_on_resource_health
        blocks = opened
    else:
        triggers = blocks = opened and signal.incident_type.lower() in policy.failover_on
    impacted = impacted_accounts(signal, group)
    if existing is not None and not impacted and signal.phase is not Phase.ACTIVE:
        # Resolutions often list no regions; they close what the incident impacted before.
        impacted = existing.impacted
    closed_at = None
    if status.closed:
        earlier = existing.closed_at if existing is not None and existing.status.closed else None
        closed_at = earlier or now
    clamped = existing.clamped_updates if existing is not None else ()
    if came.clamped:
        clamped = (*clamped, signal.update_id)[-MAX_CLAMPED_IDS:]
    return Incident(
        key=signal.key,
        kind=signal.kind,
        status=status,
        triggers_failover=triggers,
        blocks_target=blocks,
        impacted=impacted,
        event_time=came.when,
        phase=signal.phase,
        update_id=signal.update_id,
        title=signal.title,
        incident_type=label(signal),
        first_seen=existing.first_seen if existing is not None else now,
        closed_at=closed_at,
        updated_at=now,
        clamped_updates=clamped,
    )


def behind(signal: Signal, came: Arrival, newest: KnownUpdate) -> bool:
    """True when the update is older than the newest one seen of its incident (not that one)."""
    latest = newest.signal
    if signal.key != latest.key or signal.kind is not latest.kind:
        return False
    if signal.update_id == latest.update_id:
        return False
    if signal.update_id in newest.clamped_updates:
        return True
    return (came.when, int(signal.phase), signal.update_id) < newest.order_key()


def known_update(
    signal: Signal,
    came: Arrival,
    now: datetime,
    service_names: Iterable[str],
    previous: KnownUpdate | None = None,
) -> KnownUpdate:
    """What is kept of the newest update of an incident: ordered as it arrived, reduced to what
    decisions need, with every clamped update id seen so far."""
    clamped = previous.clamped_updates if previous is not None else ()
    if came.clamped:
        clamped = tuple(dict.fromkeys((*clamped, signal.update_id)))[-MAX_CLAMPED_IDS:]
    kept = replace(reduced(signal, service_names), event_time=came.when)
    return KnownUpdate(signal=kept, remembered_at=now, clamped_updates=clamped)


def reduced(signal: Signal, service_names: Iterable[str]) -> Signal:
    """The signal with only what decisions read: the services the configuration watches, each
    region once (at most MAX_KEPT_REGIONS), and a short title. A queued batch or a kept update
    stays small whatever Azure sent."""
    wanted = tuple(service_names)
    services = []
    for service in signal.services:
        if any(name in service.name.lower() for name in wanted):
            regions = tuple(dict.fromkeys(service.regions))[:MAX_KEPT_REGIONS]
            services.append(replace(service, name=fit(service.name, 256), regions=regions))
    return replace(signal, services=tuple(services), title=fit(signal.title, MAX_KEPT_TITLE))


def with_clamped(update: KnownUpdate, update_id: str) -> KnownUpdate:
    """The kept update, also remembering `update_id` as one from beyond the skew bound."""
    if update_id in update.clamped_updates:
        return update
    clamped = (*update.clamped_updates, update_id)[-MAX_CLAMPED_IDS:]
    return replace(update, clamped_updates=clamped)


def is_closing(signal: Signal) -> bool:
    """True for a resolution or an RCA."""
    return signal.phase in _CLOSING


def tombstone(incident: Incident) -> Incident:
    """The small record a closed incident leaves: its key, last update and times."""
    return replace(
        incident,
        status=IncidentStatus.TOMBSTONE,
        triggers_failover=False,
        blocks_target=False,
        impacted=frozenset(),
        title="",
        incident_type="",
    )


def tidy(
    incidents: Mapping[str, Incident], now: datetime, clock: Timekeeping, keep: str = ""
) -> dict[str, Incident]:
    """Closed incidents past `clock.detail` become tombstones; tombstones past `clock.retention`
    are forgotten. At most MAX_TIDIED_PER_DECISION changes; `keep` is never touched."""
    result = dict(incidents)
    done = 0
    for key, incident in sorted(incidents.items(), key=lambda kv: kv[1].updated_at):
        if done >= MAX_TIDIED_PER_DECISION:
            break
        if key == keep or not incident.status.closed:
            continue
        age = now - incident.updated_at
        if age > clock.retention:
            del result[key]
        elif incident.status is IncidentStatus.CLOSED and age > clock.detail:
            result[key] = tombstone(incident)
        else:
            continue
        done += 1
    return result


def held(incidents: Mapping[str, Incident]) -> frozenset[str]:
    """Accounts some incident keeps from counting as free of impact (see `Incident.holds`)."""
    return frozenset(name for i in incidents.values() for name in i.impacted if i.holds(name))


def impact_ended(
    before: Mapping[str, Incident],
    after: Mapping[str, Incident],
    ended: Mapping[str, datetime],
    now: datetime,
) -> dict[str, datetime]:
    """`ended` with `now` for each account whose impact ended between `before` and `after`:
    resolved, dropped from an update's regions, or Resource Health no longer impaired."""
    freed = held(before) - held(after)
    return {**ended, **dict.fromkeys(sorted(freed), now)}


def label(signal: Signal) -> str:
    """What kind of trouble: the incident type, or the health state for Resource Health."""
    if signal.kind is SignalKind.RESOURCE_HEALTH:
        return signal.health or signal.incident_type
    return signal.incident_type


def span(delta: timedelta) -> str:
    """A duration for people: "20 min", "3 h", "2 days"."""
    minutes = round(delta.total_seconds() / 60)
    if minutes < 120:
        return f"{max(minutes, 0)} min"
    if minutes < 48 * 60:
        return f"{round(minutes / 60)} h"
    return f"{round(minutes / (24 * 60)):,} days"
