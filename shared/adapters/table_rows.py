"""The table layout of a group's partition: row keys, and the `active`, incident and readiness
entities to and from the domain values. Pure mapping; both stores use it, so the in-memory
store holds exactly what Table Storage would, limits included.

| RowKey | entity |
|---|---|
| `active` | the active-account entity apps read (README, "The active-account entity") |
| `incident|<kind>|<token(key)>` | one incident as this group knows it (or its tombstone) |
| `readiness|<account name>` | the latest probe of one account, with its streaks |
| `audit|<inverted time>|<record id>` | one audit line (`shared.adapters.table_records`) |
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from shared.adapters.table_placement import mode_from, placement_columns, placement_from
from shared.core.limits import TITLE_UNITS, check_entity, fit
from shared.core.model import Group, Phase, ReadinessStatus, SignalKind
from shared.core.state import GroupState, Incident, IncidentStatus, Readiness

Entity = dict[str, Any]
# A transaction step: ("create" | "update" | "upsert" | "delete", entity[, etag]).
Operation = tuple[str, Entity] | tuple[str, Entity, str]

ACTIVE_ROW = "active"
INCIDENT_PREFIX = "incident|"
READINESS_PREFIX = "readiness|"
AUDIT_PREFIX = "audit|"
_SHORT_TOKEN = 300  # longer keys are hashed: a RowKey holds 1 KiB


def token(text: str) -> str:
    """A RowKey-safe form of a key: base64url when short (reversible, readable in tools), else a
    `~`-prefixed SHA-256 (never a base64url character), so any key fits in a RowKey."""
    encoded = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    if len(encoded) <= _SHORT_TOKEN:
        return encoded
    return "~" + hashlib.sha256(text.encode()).hexdigest()


def incident_row(kind: SignalKind, key: str) -> str:
    """The RowKey of an incident in a group's partition."""
    return f"{INCIDENT_PREFIX}{kind.value}|{token(key)}"


def state_entity(group: Group, state: GroupState) -> Entity:
    """The `active` entity: what apps read, plus the controller's own bookkeeping."""
    account = group.account(state.active)
    entity: Entity = {
        "PartitionKey": state.group,
        "RowKey": ACTIVE_ROW,
        "AccountName": state.active,
        "AccountId": account.account_id if account else "",
        "Location": account.location if account else "",
        "ResourceId": account.resource_id if account else "",
        "Role": group.role(state.active) if account else "",
        "Version": state.version,
        "Since": state.since,
        "Reason": fit(state.reason),
        "Pinned": state.pinned,
        "Actor": fit(state.actor, TITLE_UNITS),
        "AutoMoves": json.dumps([t.isoformat() for t in state.auto_moves]),
        "ImpactEnded": json.dumps({k: t.isoformat() for k, t in state.impact_ended.items()}),
        "LastDelivery": state.last_delivery,
        **placement_columns(state),
    }
    if state.pin_expires is not None:
        entity["PinExpires"] = state.pin_expires
    if state.blocked_since is not None:
        entity["BlockedSince"] = state.blocked_since
    return entity


def state_from(
    entity: Entity, etag: str, incidents: dict[str, Incident], readiness: dict[str, Readiness]
) -> GroupState:
    """The group state an `active` entity and its partition's rows describe."""
    return GroupState(
        group=entity["PartitionKey"],
        active=entity["AccountName"],
        version=int(entity["Version"]),
        since=utc(entity["Since"]),
        reason=entity.get("Reason", ""),
        pinned=bool(entity.get("Pinned", False)),
        pin_expires=optional_utc(entity.get("PinExpires")),
        actor=entity.get("Actor", "system"),
        incidents=incidents,
        readiness=readiness,
        auto_moves=tuple(
            datetime.fromisoformat(t) for t in json.loads(entity.get("AutoMoves") or "[]")
        ),
        blocked_since=optional_utc(entity.get("BlockedSince")),
        impact_ended={
            name: datetime.fromisoformat(t)
            for name, t in json.loads(entity.get("ImpactEnded") or "{}").items()
        },
        last_delivery=entity.get("LastDelivery", ""),
        mode=mode_from(entity),
        shadow=placement_from(entity),
        etag=etag,
    )


def readiness_entity(group: str, account: str, readiness: Readiness) -> Entity:
    """One account's latest probe as this group knows it."""
    entity: Entity = {
        "PartitionKey": group,
        "RowKey": READINESS_PREFIX + account,
        "Account": account,
        "Status": readiness.status.value,
        "CheckedAt": readiness.checked_at,
        "Evidence": fit(readiness.evidence),
        "ConsecutiveFailures": readiness.consecutive_failures,
    }
    if readiness.last_failure_at is not None:
        entity["LastFailureAt"] = readiness.last_failure_at
    if readiness.passing_since is not None:
        entity["PassingSince"] = readiness.passing_since
    return entity


def readiness_from(entity: Entity) -> Readiness:
    """The readiness a `readiness|…` entity holds."""
    return Readiness(
        status=ReadinessStatus(entity["Status"]),
        checked_at=utc(entity["CheckedAt"]),
        evidence=entity.get("Evidence", ""),
        consecutive_failures=int(entity.get("ConsecutiveFailures") or 0),
        last_failure_at=optional_utc(entity.get("LastFailureAt")),
        passing_since=optional_utc(entity.get("PassingSince")),
    )


def incident_entity(partition: str, incident: Incident) -> Entity:
    """An incident row; a tombstone keeps only its key, last update and times."""
    entity: Entity = {
        "PartitionKey": partition,
        "RowKey": incident_row(incident.kind, incident.key),
        "Key": incident.key,
        "Kind": incident.kind.value,
        "Status": incident.status.value,
        "EventTime": incident.event_time,
        "Phase": int(incident.phase),
        "UpdateId": incident.update_id,
        "FirstSeen": incident.first_seen,
        "UpdatedAt": incident.updated_at,
        "ClampedUpdates": json.dumps(list(incident.clamped_updates)),
    }
    if incident.closed_at is not None:
        entity["ClosedAt"] = incident.closed_at
    if incident.status is not IncidentStatus.TOMBSTONE:
        entity |= {
            "TriggersFailover": incident.triggers_failover,
            "BlocksTarget": incident.blocks_target,
            "Impacted": json.dumps(sorted(incident.impacted)),
            "Title": fit(incident.title, TITLE_UNITS),
            "IncidentType": fit(incident.incident_type, TITLE_UNITS),
        }
    return entity


def incident_from(entity: Entity) -> Incident:
    """The incident an `incident|…` entity holds."""
    first_seen = utc(entity["FirstSeen"])
    if "Status" in entity:
        status = IncidentStatus(entity["Status"])
    else:  # rows written before incidents had a lifecycle carry only an Open flag
        status = IncidentStatus.OPEN if entity.get("Open") else IncidentStatus.CLOSED
    return Incident(
        key=entity["Key"],
        kind=SignalKind(entity["Kind"]),
        status=status,
        triggers_failover=bool(entity.get("TriggersFailover", False)),
        blocks_target=bool(entity.get("BlocksTarget", False)),
        impacted=frozenset(json.loads(entity.get("Impacted") or "[]")),
        event_time=utc(entity["EventTime"]),
        phase=Phase(int(entity["Phase"])),
        update_id=entity["UpdateId"],
        title=entity.get("Title", ""),
        incident_type=entity.get("IncidentType", ""),
        first_seen=first_seen,
        updated_at=optional_utc(entity.get("UpdatedAt")) or first_seen,
        closed_at=optional_utc(entity.get("ClosedAt")),
        clamped_updates=tuple(json.loads(entity.get("ClampedUpdates") or "[]")),
    )


def save_operations(
    group: Group,
    previous: GroupState | None,
    new: GroupState,
    audit: list[Entity],
) -> list[Operation]:
    """One transaction: the state under If-Match (or created), the incidents and readiness rows
    that changed, rows that went, and the audit lines. Every entity is checked against Table
    Storage's limits first (UnstorableValueError names the one that does not fit)."""
    state = state_entity(group, new)
    operations: list[Operation] = []
    if previous is None or previous.etag is None:
        operations.append(("create", state))
    else:
        operations.append(("update", state, previous.etag))
    old = previous.incidents if previous is not None else {}
    for key, incident in new.incidents.items():
        if old.get(key) != incident:
            operations.append(("upsert", incident_entity(new.group, incident)))
    for key in old.keys() - new.incidents.keys():
        row = incident_row(old[key].kind, key)
        operations.append(("delete", {"PartitionKey": new.group, "RowKey": row}))
    old_readiness = previous.readiness if previous is not None else {}
    for name, readiness in new.readiness.items():
        if old_readiness.get(name) != readiness:
            operations.append(("upsert", readiness_entity(new.group, name, readiness)))
    operations.extend(("upsert", entity) for entity in audit)
    for operation in operations:
        if operation[0] != "delete":
            check_entity(operation[1], f"group {new.group}, row {operation[1]['RowKey']}")
    return operations


def utc(value: datetime) -> datetime:
    """A plain UTC datetime (the SDK returns its own subclass; plain values compare equal)."""
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=UTC,
    )


def optional_utc(value: datetime | None) -> datetime | None:
    """`utc(value)`, or None for a missing value."""
    return utc(value) if value else None
