"""Rows outside a group's state: audit lines, each incident's newest update, and accepted
fan-outs; their partitions and their entities. Pure mapping, shared by both stores.

| PartitionKey | RowKey | entity |
|---|---|---|
| a group, or `_unmatched` | `audit|<inverted time>|<record id>` | one audit line |
| `_newest` | `<kind>|<token(key)>` | the newest update of a Service Health incident |
| `_fanout` | `<kind>|<token(key)>|<token(update id)>` | one accepted fan-out |
"""

from __future__ import annotations

import json
from datetime import datetime

from shared.adapters.table_rows import AUDIT_PREFIX, Entity, token, utc
from shared.core.fanout import FanoutJob
from shared.core.limits import REASON_UNITS, TITLE_UNITS, fit, fit_list
from shared.core.model import ImpactedService, Phase, Signal, SignalKind
from shared.core.signal_json import signal_from, signal_text
from shared.core.state import AuditRecord, KnownUpdate

# Partitions that are not groups: group names cannot start with "_".
UNMATCHED = "_unmatched"  # alerts that touched no group
NEWEST = "_newest"
FANOUT_JOBS = "_fanout"
_NEWEST_MICROS = 10**17 - 1  # year 5138: far beyond any time the controller stores


def audit_sort_key(record: AuditRecord) -> str:
    """Sorts audit lines newest first: the RowKey suffix, so both stores order alike."""
    return audit_time_key(record.time) + record.record_id


def audit_time_key(moment: datetime) -> str:
    """Where audit lines of `moment` start in that order: lines before it sort after it."""
    micros = int(moment.timestamp() * 1_000_000)
    return f"{_NEWEST_MICROS - micros:017d}|"


def audit_entity(record: AuditRecord) -> Entity:
    """One audit line; long text is cut to fit, with a marker saying so."""
    return {
        "PartitionKey": record.group or UNMATCHED,
        "RowKey": AUDIT_PREFIX + audit_sort_key(record),
        "Time": record.time,
        "Action": record.action,
        "From": record.from_account,
        "To": record.to_account,
        "Reason": fit(record.reason, REASON_UNITS),
        "Actor": fit(record.actor, TITLE_UNITS),
        "RecordId": fit(record.record_id, TITLE_UNITS),
        "Version": record.version,
        "SignalKind": fit(record.signal_kind, TITLE_UNITS),
        "TrackingId": fit(record.tracking_id, TITLE_UNITS),
        "CommunicationId": fit(record.communication_id, TITLE_UNITS),
        "Title": fit(record.title, TITLE_UNITS),
        "IncidentType": fit(record.incident_type, TITLE_UNITS),
        "Stage": fit(record.stage, TITLE_UNITS),
        "Regions": json.dumps(list(fit_list(record.regions))),
        "Services": json.dumps(list(fit_list(record.services))),
        "ResourceId": fit(record.resource_id, TITLE_UNITS),
        "Signal": signal_text(record.signal) if record.signal is not None else "",
    }


def audit_from(entity: Entity) -> AuditRecord:
    """The audit line an `audit|…` entity holds."""

    def text(name: str) -> str:
        return str(entity.get(name) or "")

    return AuditRecord(
        group="" if entity["PartitionKey"] == UNMATCHED else entity["PartitionKey"],
        time=utc(entity["Time"]),
        action=text("Action"),
        from_account=text("From"),
        to_account=text("To"),
        reason=text("Reason"),
        actor=text("Actor"),
        record_id=text("RecordId"),
        version=int(entity.get("Version") or 0),
        signal_kind=text("SignalKind"),
        tracking_id=text("TrackingId"),
        communication_id=text("CommunicationId"),
        title=text("Title"),
        incident_type=text("IncidentType"),
        stage=text("Stage"),
        regions=tuple(json.loads(entity.get("Regions") or "[]")),
        services=tuple(json.loads(entity.get("Services") or "[]")),
        resource_id=text("ResourceId"),
        signal=_signal(text("Signal")),
    )


def _signal(text: str) -> Signal | None:
    """The signal an audit line kept; None for lines without one (or written before they were
    kept)."""
    if not text:
        return None
    try:
        return signal_from(json.loads(text))
    except (ValueError, KeyError, TypeError):
        return None


def newest_row(kind: SignalKind, key: str) -> str:
    """The RowKey of an incident's newest update in `_newest`."""
    return f"{kind.value}|{token(key)}"


def known_update_entity(update: KnownUpdate) -> Entity:
    """An incident's newest update (already reduced to what decisions need)."""
    signal = update.signal
    return {
        "PartitionKey": NEWEST,
        "RowKey": newest_row(signal.kind, signal.key),
        "Key": signal.key,
        "Kind": signal.kind.value,
        "UpdateId": signal.update_id,
        "EventTime": signal.event_time,
        "Phase": int(signal.phase),
        "IncidentType": fit(signal.incident_type, TITLE_UNITS),
        "Status": fit(signal.status, TITLE_UNITS),
        "Stage": fit(signal.stage, TITLE_UNITS),
        "Title": fit(signal.title, TITLE_UNITS),
        "Services": json.dumps([[s.name, list(s.regions)] for s in signal.services]),
        "ResourceId": signal.resource_id,
        "Health": fit(signal.health, TITLE_UNITS),
        "Synthetic": signal.synthetic,
        "TrackingId": signal.tracking_id,
        "CommunicationId": signal.communication_id,
        "ClampedUpdates": json.dumps(list(update.clamped_updates)),
        "RememberedAt": update.remembered_at,
    }


def known_update_from(entity: Entity) -> KnownUpdate:
    """The newest update a `_newest` entity holds."""
    signal = Signal(
        kind=SignalKind(entity["Kind"]),
        key=entity["Key"],
        update_id=entity["UpdateId"],
        event_time=utc(entity["EventTime"]),
        phase=Phase(int(entity["Phase"])),
        incident_type=entity.get("IncidentType", ""),
        status=entity.get("Status", ""),
        stage=entity.get("Stage", ""),
        title=entity.get("Title", ""),
        services=tuple(
            ImpactedService(name, tuple(regions))
            for name, regions in json.loads(entity.get("Services") or "[]")
        ),
        resource_id=entity.get("ResourceId", ""),
        health=entity.get("Health", ""),
        synthetic=bool(entity.get("Synthetic", False)),
        tracking_id=entity.get("TrackingId", ""),
        communication_id=entity.get("CommunicationId", ""),
    )
    return KnownUpdate(
        signal=signal,
        remembered_at=utc(entity["RememberedAt"]),
        clamped_updates=tuple(json.loads(entity.get("ClampedUpdates") or "[]")),
    )


def supersedes(update: KnownUpdate, stored: KnownUpdate) -> bool:
    """Whether `update` replaces the kept one: newer, or the same one remembering more ids."""
    if update.order_key() != stored.order_key():
        return update.order_key() > stored.order_key()
    return not set(update.clamped_updates) <= set(stored.clamped_updates)


def job_row(kind: SignalKind, key: str, update_id: str) -> str:
    """The RowKey of an accepted fan-out in `_fanout`."""
    return f"{kind.value}|{token(key)}|{token(update_id)}"


def job_entity(job: FanoutJob) -> Entity:
    """The record that an update was accepted for a set of groups."""
    return {
        "PartitionKey": FANOUT_JOBS,
        "RowKey": job_row(job.kind, job.key, job.update_id),
        "Job": job.job,
        "Key": job.key,
        "UpdateId": job.update_id,
        "Groups": job.groups,
        "Digest": job.digest,
        "Batches": job.batches,
        "AcceptedAt": job.accepted_at,
    }


def job_from(entity: Entity, kind: SignalKind) -> FanoutJob:
    """The accepted fan-out a `_fanout` entity holds."""
    return FanoutJob(
        job=entity["Job"],
        kind=kind,
        key=entity["Key"],
        update_id=entity["UpdateId"],
        groups=int(entity["Groups"]),
        digest=entity["Digest"],
        batches=int(entity["Batches"]),
        accepted_at=utc(entity["AcceptedAt"]),
    )
