"""In-memory stand-ins for Table Storage and the fan-out queue, for fast tests.

`InMemoryStateStore` is the same store as `TableStateStore` (`layout_store.LayoutStore`) over a
dict that behaves like a table: the same rows, limits, ETag conditions and all-or-nothing
transactions. Only the wire is missing, so the contract tests run one body against both.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Sequence
from datetime import datetime

from shared.adapters.layout_store import LayoutStore, Row, Span, Unless
from shared.adapters.table_rows import Entity, Operation
from shared.app.errors import ConflictError, QueueUnavailableError, StorageUnavailableError


class MemoryTableAccess:
    """A table in a dict: partition → RowKey → (entity, ETag)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, dict[str, Row]] = {}
        self._etags = itertools.count(1)
        self.available = True

    def rows(self, partition: str, spans: Sequence[Span], limit: int | None = None) -> list[Row]:
        """The partition's rows in these RowKey spans, in RowKey order."""
        with self._lock:
            self._check()
            found = [
                _copied(row)
                for key, row in sorted(self._rows.get(partition, {}).items())
                if any(_within(key, span) for span in spans)
            ]
        return found[:limit] if limit is not None else found

    def row(self, partition: str, row: str) -> Row | None:
        """One row, or None."""
        with self._lock:
            self._check()
            found = self._rows.get(partition, {}).get(row)
        return _copied(found) if found is not None else None

    def rows_before(self, partition: str, name: str, before: datetime, limit: int) -> list[Row]:
        """At most `limit` rows whose DateTime property `name` is before `before`."""
        with self._lock:
            self._check()
            rows = sorted(self._rows.get(partition, {}).items())
        old = [row for _, row in rows if isinstance(row[0].get(name), datetime)]
        return [_copied(row) for row in old if row[0][name] < before][:limit]

    def partitions_with(self, rows: Sequence[str]) -> list[str]:
        """The partitions holding one of these RowKeys."""
        with self._lock:
            self._check()
            return sorted(p for p, held in self._rows.items() if any(r in held for r in rows))

    def rows_across(
        self, span: Span, select: Sequence[str], unless: Unless | None = None
    ) -> list[Entity]:
        """Every partition's rows in the span, projected, less those `unless` names."""
        with self._lock:
            self._check()
            found = [
                entity
                for partition in sorted(self._rows)
                for key, (entity, _) in sorted(self._rows[partition].items())
                if _within(key, span) and (unless is None or entity.get(unless[0]) not in unless[1])
            ]
            wanted = ("PartitionKey", *select)
            return [{k: copy.deepcopy(e[k]) for k in wanted if k in e} for e in found]

    def transact(self, partition: str, operations: Sequence[Operation]) -> str:
        """Check every condition first, then apply every operation: all or nothing."""
        with self._lock:
            self._check()
            held = self._rows.setdefault(partition, {})
            for operation in operations:
                kind, entity = operation[0], operation[1]
                current = held.get(entity["RowKey"])
                if kind == "create" and current is not None:
                    raise ConflictError(f"save group {partition}: it exists already")
                if kind == "update" and (current is None or current[1] != operation[2]):  # type: ignore[misc]
                    raise ConflictError(f"save group {partition}: changed since it was read")
                if kind == "delete" and current is None:
                    raise StorageUnavailableError(f"save group {partition}: a row is missing")
            etags = []
            for operation in operations:
                kind, entity = operation[0], operation[1]
                if kind == "delete":
                    del held[entity["RowKey"]]
                    continue
                etag = str(next(self._etags))
                held[entity["RowKey"]] = (copy.deepcopy(entity), etag)
                etags.append(etag)
            return etags[0] if etags else ""

    def upsert(self, entity: Entity) -> None:
        """Insert or replace one entity."""
        with self._lock:
            self._check()
            self._put(entity)

    def write(self, entity: Entity, etag: str | None) -> None:
        """Create the entity, or replace it if its ETag still matches."""
        with self._lock:
            self._check()
            current = self._rows.get(entity["PartitionKey"], {}).get(entity["RowKey"])
            if (current[1] if current is not None else None) != etag:
                raise ConflictError(f"write {entity['RowKey']}: changed since it was read")
            self._put(entity)

    def delete(self, partition: str, row: str) -> None:
        """Delete one row, if it is there."""
        with self._lock:
            self._check()
            self._rows.get(partition, {}).pop(row, None)

    def _put(self, entity: Entity) -> None:
        held = self._rows.setdefault(entity["PartitionKey"], {})
        held[entity["RowKey"]] = (copy.deepcopy(entity), str(next(self._etags)))

    def _check(self) -> None:
        if not self.available:
            raise StorageUnavailableError("in-memory storage is marked unavailable")


class InMemoryStateStore(LayoutStore):
    """The state store over `MemoryTableAccess`; `available` False simulates an outage."""

    def __init__(self) -> None:
        self._memory = MemoryTableAccess()
        super().__init__(self._memory)

    @property
    def available(self) -> bool:
        """Whether storage answers."""
        return self._memory.available

    @available.setter
    def available(self, value: bool) -> None:
        self._memory.available = value


class InMemoryWorkQueue:
    """A WorkQueue in a list; `available` False simulates an outage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[str] = []
        self.available = True

    def send(self, messages: Sequence[str]) -> None:
        """Append the messages, or raise while unavailable."""
        with self._lock:
            if not self.available:
                raise QueueUnavailableError("in-memory queue is marked unavailable")
            self.messages.extend(messages)

    def backlog(self) -> int:
        """How many messages wait, or raise while unavailable."""
        with self._lock:
            if not self.available:
                raise QueueUnavailableError("in-memory queue is marked unavailable")
            return len(self.messages)

    def take(self) -> list[str]:
        """Remove and return every waiting message."""
        with self._lock:
            taken, self.messages = self.messages, []
            return taken


def _within(key: str, span: Span) -> bool:
    low, high = span
    return key == low if high is None else low <= key < high


def _copied(row: Row) -> Row:
    return copy.deepcopy(row[0]), row[1]
