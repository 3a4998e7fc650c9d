"""The StateStore, written once over a few table primitives (`TableAccess`): Azure Table Storage
implements them in `shared.adapters.table_store`, a dict in `shared.adapters.memory_store`. Both
stores therefore share the layout, the limits and every query's meaning; only the wire differs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from shared.adapters.summary_rows import (
    READY_STATUSES,
    SUMMARY_PROPERTIES,
    summary_from,
    unready_from,
)
from shared.adapters.table_records import (
    FANOUT_JOBS,
    NEWEST,
    UNMATCHED,
    audit_entity,
    audit_from,
    audit_sort_key,
    audit_time_key,
    job_entity,
    job_from,
    job_row,
    known_update_entity,
    known_update_from,
    newest_row,
    supersedes,
)
from shared.adapters.table_rows import (
    ACTIVE_ROW,
    AUDIT_PREFIX,
    INCIDENT_PREFIX,
    READINESS_PREFIX,
    Entity,
    Operation,
    incident_from,
    incident_row,
    readiness_from,
    save_operations,
    state_from,
)
from shared.app.errors import ConflictError, WriteConflictError
from shared.core.fanout import FanoutJob
from shared.core.limits import check_entity
from shared.core.listing import ActiveSummary
from shared.core.model import Group, SignalKind
from shared.core.state import AuditRecord, GroupState, KnownUpdate

Row = tuple[Entity, str]  # an entity and its ETag
PING_PARTITION, PING_ROW = "_health", "ping"
Span = tuple[str, str | None]  # RowKeys from low up to high (excluded), or exactly low
Unless = tuple[str, Sequence[str]]  # a property, and the values that leave a row out
_NEWEST_WRITE_ATTEMPTS = 8
_DELETES_PER_TRANSACTION = 100  # an entity-group transaction's limit
_NEWEST_BACKOFF_SECONDS = 0.01


class TableAccess(Protocol):
    """The table operations the store needs. Each raises StorageUnavailableError when storage
    fails, ConflictError when a condition does not hold, UnstorableValueError when storage
    refuses a value."""

    def rows(self, partition: str, spans: Sequence[Span], limit: int | None = None) -> list[Row]:
        """The partition's rows whose RowKey falls in one of the spans (`low` <= RowKey <
        `high`, or RowKey == `low` when `high` is None), in RowKey order, at most `limit` of
        them: one query."""
        ...

    def row(self, partition: str, row: str) -> Row | None:
        """One row, or None."""
        ...

    def rows_before(self, partition: str, name: str, before: datetime, limit: int) -> list[Row]:
        """At most `limit` rows of the partition whose DateTime property `name` < `before`."""
        ...

    def partitions_with(self, rows: Sequence[str]) -> list[str]:
        """The partitions that hold a row with one of these RowKeys."""
        ...

    def rows_across(
        self, span: Span, select: Sequence[str], unless: Unless | None = None
    ) -> list[Entity]:
        """Every partition's rows whose RowKey falls in the span, with PartitionKey and the
        `select`ed properties only (a property a row lacks is absent or None), leaving out
        the rows whose property `unless[0]` holds one of the values `unless[1]`: one query."""
        ...

    def transact(self, partition: str, operations: Sequence[Operation]) -> str:
        """All the operations in one partition, or none; the ETag of the first entity."""
        ...

    def upsert(self, entity: Entity) -> None:
        """Insert or replace one entity."""
        ...

    def write(self, entity: Entity, etag: str | None) -> None:
        """Create the entity (etag None) or replace it if its ETag still matches."""
        ...

    def delete(self, partition: str, row: str) -> None:
        """Delete one row, if it is there."""
        ...


class LayoutStore:
    """Group state, incidents, readiness, the audit trail and fan-out records in one table."""

    def __init__(self, access: TableAccess) -> None:
        self._access = access

    def load_group(self, group: str) -> GroupState | None:
        """The group's state with its incidents, readiness and ETag, or None if never saved."""
        spans = [_span(ACTIVE_ROW), _prefixed(INCIDENT_PREFIX), _prefixed(READINESS_PREFIX)]
        rows = self._access.rows(group, spans)
        active = next((row for row in rows if row[0]["RowKey"] == ACTIVE_ROW), None)
        if active is None:
            return None
        incidents = [incident_from(e) for e, _ in rows if e["RowKey"].startswith(INCIDENT_PREFIX)]
        readiness = {
            e["Account"]: readiness_from(e)
            for e, _ in rows
            if e["RowKey"].startswith(READINESS_PREFIX)
        }
        return state_from(active[0], active[1], {i.key: i for i in incidents}, readiness)

    def load_active(self, group: str) -> GroupState | None:
        """The `active` entity alone, as a state without incidents or readiness: a point read,
        the cheapest call Table Storage has, for the route apps call before every job."""
        found = self._access.row(group, ACTIVE_ROW)
        return state_from(found[0], found[1], {}, {}) if found is not None else None

    def active_summaries(self) -> list[ActiveSummary]:
        """Each written group's active account, pin and block: one query over the table for
        those few properties of the `active` rows, never a group's incidents or audit."""
        rows = self._access.rows_across(_span(ACTIVE_ROW), SUMMARY_PROPERTIES)
        return [summary_from(e) for e in rows if not e["PartitionKey"].startswith("_")]

    def unready_accounts(self) -> dict[str, frozenset[str]]:
        """By group, the accounts whose latest readiness check failed: one query over the
        table that leaves out the passing (and never probed) accounts' rows."""
        rows = self._access.rows_across(
            _prefixed(READINESS_PREFIX), ["Account"], ("Status", READY_STATUSES)
        )
        return unready_from(rows)

    def groups_tracking(self, key: str) -> list[str]:
        """Names of the groups that hold an incident with this key."""
        partitions = self._access.partitions_with([incident_row(kind, key) for kind in SignalKind])
        return sorted(p for p in partitions if not p.startswith("_"))

    def save(
        self,
        group: Group,
        previous: GroupState | None,
        new: GroupState,
        audit: Sequence[AuditRecord],
    ) -> GroupState:
        """One transaction: the state under If-Match, changed rows, the audit lines."""
        entities = [audit_entity(r) for r in audit]
        operations = save_operations(group, previous, new, entities)
        etag = self._access.transact(new.group, operations)
        return GroupState(**{**new.__dict__, "etag": etag})

    def append_audit(self, audit: Sequence[AuditRecord]) -> None:
        """Upsert audit lines: re-appending the same record id is harmless."""
        for record in audit:
            entity = audit_entity(record)
            check_entity(entity, f"audit line {record.record_id}")
            self._access.upsert(entity)

    def history(self, groups: Sequence[str], limit: int, *, unmatched: bool) -> list[AuditRecord]:
        """The newest `limit` lines of these groups: one ordered read per partition, merged."""
        partitions = [*groups, UNMATCHED] if unmatched else list(groups)
        records = [
            audit_from(entity)
            for partition in partitions
            for entity, _ in self._access.rows(partition, [_prefixed(AUDIT_PREFIX)], limit)
        ]
        return sorted(records, key=audit_sort_key)[:limit]

    def fanout_job(self, kind: SignalKind, key: str, update_id: str) -> FanoutJob | None:
        """The accepted fan-out of this update, or None: one point read."""
        found = self._access.row(FANOUT_JOBS, job_row(kind, key, update_id))
        return job_from(found[0], kind) if found is not None else None

    def save_fanout_job(self, job: FanoutJob) -> None:
        """Record an accepted fan-out (an upsert: a re-accepted update replaces its record)."""
        entity = job_entity(job)
        check_entity(entity, f"fan-out {job.job}")
        self._access.upsert(entity)

    def load_newest(self, kind: SignalKind, key: str) -> KnownUpdate | None:
        """The newest update kept of this incident, or None: one point read."""
        found = self._access.row(NEWEST, newest_row(kind, key))
        return known_update_from(found[0]) if found is not None else None

    def remember_newest(self, update: KnownUpdate) -> None:
        """Keep this update unless a newer one is kept: a conditional write, read and tried
        again when another writer got there first."""
        entity = known_update_entity(update)
        check_entity(entity, f"newest update of {update.signal.key}")
        for attempt in range(1, _NEWEST_WRITE_ATTEMPTS + 1):
            stored = self._access.row(NEWEST, entity["RowKey"])
            if stored is not None and not supersedes(update, known_update_from(stored[0])):
                return
            try:
                self._access.write(entity, stored[1] if stored is not None else None)
            except ConflictError:
                # Jitter keeps deliveries racing on one incident from colliding again in step.
                time.sleep(random.uniform(0, _NEWEST_BACKOFF_SECONDS * attempt))  # noqa: S311
                continue
            return
        raise WriteConflictError(
            f"keep the newest update of {update.signal.key}: it kept changing; retry later"
        )

    def forget_newest(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` kept updates remembered before `before`."""
        old = self._access.rows_before(NEWEST, "RememberedAt", before, limit)
        for entity, _ in old:
            self._access.delete(NEWEST, entity["RowKey"])
        return len(old)

    def forget_unmatched(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` audit lines of alerts that touched no group, older than
        `before`: the newest of those first (the order RowKeys keep), a transaction per
        hundred."""
        span = (AUDIT_PREFIX + audit_time_key(before), _prefixed(AUDIT_PREFIX)[1])
        old = self._access.rows(UNMATCHED, [span], limit)
        for start in range(0, len(old), _DELETES_PER_TRANSACTION):
            chunk = old[start : start + _DELETES_PER_TRANSACTION]
            deletes: list[Operation] = [
                ("delete", {"PartitionKey": UNMATCHED, "RowKey": e["RowKey"]}) for e, _ in chunk
            ]
            self._access.transact(UNMATCHED, deletes)
        return len(old)

    def ping(self) -> None:
        """Raise StorageUnavailableError unless storage answers: one point read of a row that
        need not exist (a 404 is an answer)."""
        self._access.row(PING_PARTITION, PING_ROW)


def _prefixed(prefix: str) -> tuple[str, str]:
    """The span of RowKeys that start with `prefix` (which ends in "|"; "}" sorts after it)."""
    return prefix, prefix[:-1] + "}"


def _span(row: str) -> tuple[str, None]:
    """The span of exactly one RowKey."""
    return row, None
