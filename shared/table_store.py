"""`TableStateStore`: the StateStore on Azure Table Storage, through azure-data-tables.

One table, one partition per group, so a group's state change is a single entity-group
transaction: the `active` entity replaced under `If-Match` (ETag + IfNotModified), the incidents
it changed upserted, its audit lines inserted. All of it lands, or none of it. Layout:

| RowKey | entity |
|---|---|
| `active` | the active-account entity apps read (README, "The active-account entity") |
| `incident|<kind>|<base64url(key)>` | one incident as this group knows it |
| `readiness|<account name>` | the latest probe of one account, with its streaks |
| `audit|<inverted time>|<record id>` | one audit line; the inverted time lists newest first |

Alerts that touch no group are audited in the partition `_unmatched`. Accepted fan-outs are
recorded in the partition `_fanout`, one row `<kind>|<base64url(key)>|<base64url(update id)>`
per update. The newest update of each Service Health incident, whichever groups it named, is
kept in the partition `_newest`, one row `<kind>|<base64url(key)>` per incident.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableClient, TableEntity, TableTransactionError, UpdateMode

from shared.fanout import FanoutJob
from shared.model import (
    AuditRecord,
    Config,
    GroupState,
    ImpactedService,
    Incident,
    IncidentStatus,
    KnownUpdate,
    Phase,
    Readiness,
    ReadinessStatus,
    Signal,
    SignalKind,
)
from shared.store import (
    UNMATCHED,
    ConflictError,
    StoreUnavailableError,
    audit_sort_key,
    supersedes,
)

log = logging.getLogger(__name__)

ACTIVE_ROW = "active"
_INCIDENT_PREFIX = "incident|"
_AUDIT_PREFIX = "audit|"
_READINESS_PREFIX = "readiness|"
FANOUT_JOBS = "_fanout"  # the partition of accepted fan-outs (group names cannot start "_")
NEWEST = "_newest"  # each Service Health incident's newest update, whichever groups it named
_NEWEST_WRITE_ATTEMPTS = 5
# Transaction upserts default to MERGE, which would keep properties a new record dropped.
_REPLACE = {"mode": UpdateMode.REPLACE}
_T = TypeVar("_T")
Entity = dict[str, Any]


class TableStateStore:
    """Group state, incidents and the audit trail in one Azure Table."""

    def __init__(self, table: TableClient, config: Config) -> None:
        self._table = table
        self._config = config
        self._table_ready = False
        self._lock = threading.Lock()

    def load_group(self, group: str) -> GroupState | None:
        """The group's state with its incidents and ETag, or None if never saved."""
        # The SDK substitutes @parameters only between spaces, hence the spaced parentheses.
        query = (
            "PartitionKey eq @pk and ( RowKey eq @active or ( RowKey ge @lo and RowKey lt @hi ) "
            "or ( RowKey ge @rlo and RowKey lt @rhi ) )"
        )
        params = {
            "pk": group,
            "active": ACTIVE_ROW,
            "lo": _INCIDENT_PREFIX,
            "hi": "incident}",
            "rlo": _READINESS_PREFIX,
            "rhi": "readiness}",
        }
        with self._translated(f"read group {group}"):
            entities = list(self._table.query_entities(query, parameters=params))
        active = next((e for e in entities if e["RowKey"] == ACTIVE_ROW), None)
        if active is None:
            return None
        incidents = [
            _incident_from(e) for e in entities if e["RowKey"].startswith(_INCIDENT_PREFIX)
        ]
        readiness = {
            e["Account"]: _readiness_from(e)
            for e in entities
            if e["RowKey"].startswith(_READINESS_PREFIX)
        }
        return _state_from(active, {i.key: i for i in incidents}, readiness)

    def load_active(self, group: str) -> GroupState | None:
        """The `active` entity alone, as a state without incidents or readiness: a point read,
        the cheapest call Table Storage has, for the route apps call before every job."""
        entity = self._point_read(group, ACTIVE_ROW, f"read group {group}")
        return _state_from(entity, {}, {}) if entity is not None else None

    def groups_tracking(self, key: str) -> list[str]:
        """Names of the groups that hold an incident with this key (one query over the table)."""
        rows = [_incident_row(kind, key) for kind in SignalKind]
        query = " or ".join(f"RowKey eq @r{i}" for i in range(len(rows)))
        params = {f"r{i}": row for i, row in enumerate(rows)}
        with self._translated("find groups tracking an incident"):
            entities = self._table.query_entities(query, parameters=params, select=["PartitionKey"])
            return sorted({e["PartitionKey"] for e in entities})

    def save(
        self, previous: GroupState | None, new: GroupState, audit: Sequence[AuditRecord]
    ) -> GroupState:
        """One transaction: state under If-Match, changed incidents, audit lines."""
        operations: list[tuple[Any, ...]] = []
        state_entity = self._state_entity(new)
        if previous is None or previous.etag is None:
            operations.append(("create", state_entity))
        else:
            conditions = {
                "mode": UpdateMode.REPLACE,
                "etag": previous.etag,
                "match_condition": MatchConditions.IfNotModified,
            }
            operations.append(("update", state_entity, conditions))
        old = previous.incidents if previous is not None else {}
        for key, incident in new.incidents.items():
            if old.get(key) != incident:
                operations.append(("upsert", _incident_entity(new.group, incident), _REPLACE))
        for key in old.keys() - new.incidents.keys():
            row = _incident_row(old[key].kind, key)
            operations.append(("delete", {"PartitionKey": new.group, "RowKey": row}))
        old_readiness = previous.readiness if previous is not None else {}
        for name, readiness in new.readiness.items():
            if old_readiness.get(name) != readiness:
                operations.append(
                    ("upsert", _readiness_entity(new.group, name, readiness), _REPLACE)
                )
        operations.extend(("upsert", _audit_entity(r), _REPLACE) for r in audit)
        with self._translated(f"save group {new.group}"):
            results = self._table.submit_transaction(operations)
        etag = results[0].get("etag")
        return replace(new, etag=etag)

    def append_audit(self, audit: Sequence[AuditRecord]) -> None:
        """Upsert audit lines: re-appending the same record id is harmless."""
        for record in audit:
            with self._translated("append audit"):
                self._table.upsert_entity(_audit_entity(record), mode=UpdateMode.REPLACE)

    def history(self, groups: Sequence[str], limit: int) -> list[AuditRecord]:
        """Newest `limit` audit lines of these groups: one ordered query per partition, merged."""
        query = "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi"
        records: list[AuditRecord] = []
        for group in groups:
            params = {"pk": group, "lo": _AUDIT_PREFIX, "hi": "audit}"}
            with self._translated("read history"):
                pages = self._table.query_entities(query, parameters=params, results_per_page=limit)
                for count, entity in enumerate(pages):
                    if count >= limit:
                        break
                    records.append(_audit_from(entity))
        return sorted(records, key=audit_sort_key)[:limit]

    def active_accounts(self) -> dict[str, str]:
        """Every stored group's active account: one query over the `active` rows."""
        query = "RowKey eq @active"
        with self._translated("list active accounts"):
            entities = self._table.query_entities(
                query, parameters={"active": ACTIVE_ROW}, select=["PartitionKey", "AccountName"]
            )
            return {e["PartitionKey"]: e["AccountName"] for e in entities}

    def fanout_job(self, kind: SignalKind, key: str, update_id: str) -> FanoutJob | None:
        """The accepted fan-out of this update, or None: one point read."""
        row = _job_row(kind, key, update_id)
        entity = self._point_read(FANOUT_JOBS, row, "read fan-out job")
        if entity is None:
            return None
        return FanoutJob(
            job=entity["Job"],
            kind=kind,
            key=key,
            update_id=update_id,
            groups=int(entity["Groups"]),
            digest=entity["Digest"],
            batches=int(entity["Batches"]),
            accepted_at=_utc(entity["AcceptedAt"]),
        )

    def save_fanout_job(self, job: FanoutJob) -> None:
        """Record an accepted fan-out (an upsert: a re-accepted update replaces its record)."""
        entity = {
            "PartitionKey": FANOUT_JOBS,
            "RowKey": _job_row(job.kind, job.key, job.update_id),
            "Job": job.job,
            "Key": job.key,
            "UpdateId": job.update_id,
            "Groups": job.groups,
            "Digest": job.digest,
            "Batches": job.batches,
            "AcceptedAt": job.accepted_at,
        }
        with self._translated("record fan-out job"):
            self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def load_newest(self, kind: SignalKind, key: str) -> KnownUpdate | None:
        """The newest update kept of this incident, or None: one point read."""
        entity = self._point_read(
            NEWEST, _newest_row(kind, key), "read an incident's newest update"
        )
        return _known_update_from(entity) if entity is not None else None

    def remember_newest(self, update: KnownUpdate) -> None:
        """Keep this update of its incident unless a newer one is kept: a conditional write,
        read and tried again when another writer got there first."""
        entity = _known_update_entity(update)
        what = f"keep the newest update of {update.signal.key}"
        for _ in range(_NEWEST_WRITE_ATTEMPTS):
            stored = self._point_read(NEWEST, entity["RowKey"], what)
            if stored is not None and not supersedes(update, _known_update_from(stored)):
                return
            try:
                with self._translated(what):
                    if stored is None:
                        self._table.create_entity(entity)
                    else:
                        self._table.update_entity(
                            entity,
                            mode=UpdateMode.REPLACE,
                            etag=stored.metadata["etag"],
                            match_condition=MatchConditions.IfNotModified,
                        )
                return
            except ConflictError:
                continue
        raise StoreUnavailableError(f"{what}: it kept changing; retry later")

    def forget_newest(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` kept updates remembered before `before`."""
        query = "PartitionKey eq @pk and RememberedAt lt @before"
        params = {"pk": NEWEST, "before": before}
        forgotten = 0
        with self._translated("forget old incident updates"):
            for entity in self._table.query_entities(
                query, parameters=params, select=["PartitionKey", "RowKey"]
            ):
                if forgotten >= limit:
                    break
                with suppress(ResourceNotFoundError):
                    self._table.delete_entity(entity["PartitionKey"], entity["RowKey"])
                forgotten += 1
        return forgotten

    def ping(self) -> None:
        """Read one row, which needs the table and the credentials to work."""
        with self._translated("ping"):
            next(
                iter(
                    self._table.query_entities(
                        "RowKey eq @r", parameters={"r": ACTIVE_ROW}, results_per_page=1
                    )
                ),
                None,
            )

    def _state_entity(self, state: GroupState) -> Entity:
        group = self._config.group(state.group)
        account = group.account(state.active) if group else None
        entity: Entity = {
            "PartitionKey": state.group,
            "RowKey": ACTIVE_ROW,
            "AccountName": state.active,
            "AccountId": account.account_id if account else "",
            "Location": account.location if account else "",
            "ResourceId": account.resource_id if account else "",
            "Role": group.role(state.active) if group and account else "",
            "Version": state.version,
            "Since": state.since,
            "Reason": state.reason,
            "Pinned": state.pinned,
            "Actor": state.actor,
            "AutoMoves": json.dumps([t.isoformat() for t in state.auto_moves]),
            "ImpactEnded": json.dumps({k: t.isoformat() for k, t in state.impact_ended.items()}),
            "LastDelivery": state.last_delivery,
        }
        if state.pin_expires is not None:
            entity["PinExpires"] = state.pin_expires
        if state.blocked_since is not None:
            entity["BlockedSince"] = state.blocked_since
        return entity

    def _point_read(self, partition: str, row: str, what: str) -> TableEntity | None:
        """One entity, or None when it does not exist (a missing table is still an error)."""
        with self._translated(what):
            try:
                return self._table.get_entity(partition, row)
            except ResourceNotFoundError as exc:
                if getattr(exc, "error_code", None) == "TableNotFound":
                    raise
                return None

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Create the table on first use and turn SDK errors into the store's own."""
        try:
            self._ensure_table()
            yield
        except TableTransactionError as exc:
            if exc.status_code in (409, 412):
                raise ConflictError(f"{what}: the state changed since it was read") from exc
            raise self._unavailable_or_raise(what, exc) from exc
        except (ResourceExistsError, ResourceModifiedError) as exc:
            raise ConflictError(f"{what}: changed since it was read") from exc
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise StoreUnavailableError(f"{what}: storage unreachable: {exc}") from exc
        except HttpResponseError as exc:
            raise self._unavailable_or_raise(what, exc) from exc
        except AzureError as exc:
            raise StoreUnavailableError(f"{what}: storage error: {exc}") from exc

    def _unavailable_or_raise(self, what: str, exc: HttpResponseError) -> Exception:
        status = exc.status_code or 0
        if status == 404 and getattr(exc, "error_code", None) == "TableNotFound":
            # Deleted or lost (a wiped emulator): recreate it on the next call, answer "retry".
            self._table_ready = False
            return StoreUnavailableError(f"{what}: the table was missing; it will be recreated")
        if status >= 500 or status in (401, 403, 408, 429):
            return StoreUnavailableError(f"{what}: storage answered {status}: {exc.reason}")
        return exc

    def _ensure_table(self) -> None:
        if self._table_ready:
            return
        with self._lock:
            if not self._table_ready:
                with suppress(ResourceExistsError):
                    self._table.create_table()
                self._table_ready = True


def _state_from(
    entity: TableEntity, incidents: dict[str, Incident], readiness: dict[str, Readiness]
) -> GroupState:
    return GroupState(
        group=entity["PartitionKey"],
        active=entity["AccountName"],
        version=int(entity["Version"]),
        since=_utc(entity["Since"]),
        reason=entity.get("Reason", ""),
        pinned=bool(entity.get("Pinned", False)),
        pin_expires=_utc(entity["PinExpires"]) if entity.get("PinExpires") else None,
        actor=entity.get("Actor", "system"),
        incidents=incidents,
        readiness=readiness,
        auto_moves=tuple(
            datetime.fromisoformat(t) for t in json.loads(entity.get("AutoMoves") or "[]")
        ),
        blocked_since=_optional_utc(entity.get("BlockedSince")),
        impact_ended={
            name: datetime.fromisoformat(t)
            for name, t in json.loads(entity.get("ImpactEnded") or "{}").items()
        },
        last_delivery=entity.get("LastDelivery", ""),
        etag=entity.metadata["etag"],
    )


def _readiness_entity(group: str, account: str, readiness: Readiness) -> Entity:
    entity: Entity = {
        "PartitionKey": group,
        "RowKey": _READINESS_PREFIX + account,
        "Account": account,
        "Status": readiness.status.value,
        "CheckedAt": readiness.checked_at,
        "Evidence": readiness.evidence,
        "ConsecutiveFailures": readiness.consecutive_failures,
    }
    if readiness.last_failure_at is not None:
        entity["LastFailureAt"] = readiness.last_failure_at
    if readiness.passing_since is not None:
        entity["PassingSince"] = readiness.passing_since
    return entity


def _readiness_from(entity: TableEntity) -> Readiness:
    return Readiness(
        status=ReadinessStatus(entity["Status"]),
        checked_at=_utc(entity["CheckedAt"]),
        evidence=entity.get("Evidence", ""),
        consecutive_failures=int(entity.get("ConsecutiveFailures") or 0),
        last_failure_at=_optional_utc(entity.get("LastFailureAt")),
        passing_since=_optional_utc(entity.get("PassingSince")),
    )


def _optional_utc(value: datetime | None) -> datetime | None:
    return _utc(value) if value else None


def _incident_row(kind: SignalKind, key: str) -> str:
    return f"{_INCIDENT_PREFIX}{kind.value}|{_b64(key)}"


def _newest_row(kind: SignalKind, key: str) -> str:
    return f"{kind.value}|{_b64(key)}"


def _job_row(kind: SignalKind, key: str, update_id: str) -> str:
    return f"{kind.value}|{_b64(key)}|{_b64(update_id)}"


def _b64(text: str) -> str:
    # Keys such as resource ids hold '/', which RowKeys forbid; base64url is reversible and safe.
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _incident_entity(group: str, incident: Incident) -> Entity:
    entity: Entity = {
        "PartitionKey": group,
        "RowKey": _incident_row(incident.kind, incident.key),
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
    if incident.status is not IncidentStatus.TOMBSTONE:  # a tombstone keeps only the above
        entity |= {
            "TriggersFailover": incident.triggers_failover,
            "BlocksTarget": incident.blocks_target,
            "Impacted": json.dumps(sorted(incident.impacted)),
            "Title": incident.title,
            "IncidentType": incident.incident_type,
        }
    return entity


def _incident_from(entity: TableEntity) -> Incident:
    first_seen = _utc(entity["FirstSeen"])
    return Incident(
        key=entity["Key"],
        kind=SignalKind(entity["Kind"]),
        status=_status_of(entity),
        triggers_failover=bool(entity.get("TriggersFailover", False)),
        blocks_target=bool(entity.get("BlocksTarget", False)),
        impacted=frozenset(json.loads(entity.get("Impacted") or "[]")),
        event_time=_utc(entity["EventTime"]),
        phase=Phase(int(entity["Phase"])),
        update_id=entity["UpdateId"],
        title=entity.get("Title", ""),
        incident_type=entity.get("IncidentType", ""),
        first_seen=first_seen,
        updated_at=_optional_utc(entity.get("UpdatedAt")) or first_seen,
        closed_at=_optional_utc(entity.get("ClosedAt")),
        clamped_updates=tuple(json.loads(entity.get("ClampedUpdates") or "[]")),
    )


def _status_of(entity: TableEntity) -> IncidentStatus:
    if "Status" in entity:
        return IncidentStatus(entity["Status"])
    # Rows written before the lifecycle had statuses carry only an Open flag.
    return IncidentStatus.OPEN if entity.get("Open") else IncidentStatus.CLOSED


def _known_update_entity(update: KnownUpdate) -> Entity:
    signal = update.signal
    return {
        "PartitionKey": NEWEST,
        "RowKey": _newest_row(signal.kind, signal.key),
        "Key": signal.key,
        "Kind": signal.kind.value,
        "UpdateId": signal.update_id,
        "EventTime": signal.event_time,
        "Phase": int(signal.phase),
        "IncidentType": signal.incident_type,
        "Status": signal.status,
        "Stage": signal.stage,
        "Title": signal.title,
        "Services": json.dumps([[s.name, list(s.regions)] for s in signal.services]),
        "ResourceId": signal.resource_id,
        "Health": signal.health,
        "Synthetic": signal.synthetic,
        "TrackingId": signal.tracking_id,
        "CommunicationId": signal.communication_id,
        "ClampedUpdates": json.dumps(list(update.clamped_updates)),
        "RememberedAt": update.remembered_at,
    }


def _known_update_from(entity: TableEntity) -> KnownUpdate:
    signal = Signal(
        kind=SignalKind(entity["Kind"]),
        key=entity["Key"],
        update_id=entity["UpdateId"],
        event_time=_utc(entity["EventTime"]),
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
        remembered_at=_utc(entity["RememberedAt"]),
        clamped_updates=tuple(json.loads(entity.get("ClampedUpdates") or "[]")),
    )


def _audit_entity(record: AuditRecord) -> Entity:
    return {
        "PartitionKey": record.group or UNMATCHED,
        "RowKey": _AUDIT_PREFIX + audit_sort_key(record),
        "Time": record.time,
        "Action": record.action,
        "From": record.from_account,
        "To": record.to_account,
        "Reason": record.reason,
        "Actor": record.actor,
        "RecordId": record.record_id,
        "Version": record.version,
        "SignalKind": record.signal_kind,
        "TrackingId": record.tracking_id,
        "CommunicationId": record.communication_id,
        "Title": record.title,
        "IncidentType": record.incident_type,
        "Stage": record.stage,
        "Regions": json.dumps(list(record.regions)),
        "Services": json.dumps(list(record.services)),
        "ResourceId": record.resource_id,
    }


def _audit_from(entity: TableEntity) -> AuditRecord:
    def text(name: str) -> str:
        return str(entity.get(name) or "")

    return AuditRecord(
        group="" if entity["PartitionKey"] == UNMATCHED else entity["PartitionKey"],
        time=_utc(entity["Time"]),
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
    )


def _utc(value: datetime) -> datetime:
    # The SDK returns its own datetime subclass; plain UTC datetimes keep values comparable.
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
