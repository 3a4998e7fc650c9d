"""`TableStateStore`: the StateStore on Azure Table Storage, through azure-data-tables.

One table, one partition per group, so a group's change is a single entity-group transaction:
the `active` entity replaced under If-Match (ETag + IfNotModified), the rows it changed, its
audit lines; all of it lands, or none. The layout is in `table_rows` and `table_records`; the
store's logic, shared with the in-memory store, in `layout_store`. This module only talks to
the service and translates its errors, once: unreachable or failing → StorageUnavailableError,
a failed condition → ConflictError, a value the service refuses → UnstorableValueError.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from shared.adapters.layout_store import LayoutStore, Row, Span, Unless
from shared.adapters.table_rows import Entity, Operation
from shared.app.errors import ConflictError, StorageUnavailableError
from shared.core.limits import UnstorableValueError

log = logging.getLogger(__name__)

# Upserts default to MERGE, which would keep properties a newer record dropped.
_REPLACE = {"mode": UpdateMode.REPLACE}
# Status codes the service answers for an entity it will not hold (too large, bad key, …).
_REFUSED = frozenset({400, 413})


def TableStateStore(table: TableClient) -> LayoutStore:
    """The StateStore on this table (created on first use)."""
    return LayoutStore(AzureTableAccess(table))


class AzureTableAccess:
    """The table primitives of `layout_store.TableAccess` on one Azure table."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._ready = False
        self._lock = threading.Lock()

    def rows(self, partition: str, spans: Sequence[Span], limit: int | None = None) -> list[Row]:
        """The partition's rows in these RowKey spans: one query (at most `limit` rows)."""
        params: dict[str, Any] = {"pk": partition}
        clauses = []
        for n, (low, high) in enumerate(spans):
            params[f"lo{n}"] = low
            if high is None:
                clauses.append(f"RowKey eq @lo{n}")
            else:
                params[f"hi{n}"] = high
                clauses.append(f"( RowKey ge @lo{n} and RowKey lt @hi{n} )")
        # The SDK substitutes @parameters only between spaces, hence the spaced parentheses.
        query = f"PartitionKey eq @pk and ( {' or '.join(clauses)} )"
        with self._translated(f"read partition {partition}"):
            pages = self._table.query_entities(query, parameters=params, results_per_page=limit)
            found: list[Row] = []
            for entity in pages:
                if limit is not None and len(found) >= limit:
                    break
                found.append((dict(entity), str(entity.metadata["etag"])))
            return found

    def row(self, partition: str, row: str) -> Row | None:
        """One entity, or None when it does not exist (a missing table is still an error)."""
        with self._translated(f"read {partition}/{row}"):
            try:
                entity = self._table.get_entity(partition, row)
            except ResourceNotFoundError as exc:
                if getattr(exc, "error_code", None) == "TableNotFound":
                    raise
                return None
            return dict(entity), str(entity.metadata["etag"])

    def rows_before(self, partition: str, name: str, before: datetime, limit: int) -> list[Row]:
        """At most `limit` rows whose DateTime property `name` is before `before`."""
        query = f"PartitionKey eq @pk and {name} lt @before"
        params = {"pk": partition, "before": before}
        with self._translated(f"read old rows of {partition}"):
            pages = self._table.query_entities(query, parameters=params, results_per_page=limit)
            found: list[Row] = []
            for entity in pages:
                if len(found) >= limit:
                    break
                found.append((dict(entity), str(entity.metadata["etag"])))
            return found

    def partitions_with(self, rows: Sequence[str]) -> list[str]:
        """The partitions holding one of these RowKeys: one query over the table."""
        query = " or ".join(f"RowKey eq @r{i}" for i in range(len(rows)))
        params = {f"r{i}": row for i, row in enumerate(rows)}
        with self._translated("find the groups tracking an incident"):
            entities = self._table.query_entities(query, parameters=params, select=["PartitionKey"])
            return sorted({e["PartitionKey"] for e in entities})

    def rows_across(
        self, span: Span, select: Sequence[str], unless: Unless | None = None
    ) -> list[Entity]:
        """Every partition's rows in the span, projected: one query over the table, with the
        rows `unless` names left out by the service."""
        low, high = span
        params: dict[str, Any] = {"lo": low}
        query = "RowKey eq @lo"
        if high is not None:
            params["hi"] = high
            query = "RowKey ge @lo and RowKey lt @hi"
        if unless is not None:
            name, values = unless
            for n, value in enumerate(values):
                params[f"u{n}"] = value
                query += f" and {name} ne @u{n}"
        with self._translated("read every group's summary"):
            entities = self._table.query_entities(
                query, parameters=params, select=["PartitionKey", *select]
            )
            return [dict(entity) for entity in entities]

    def transact(self, partition: str, operations: Sequence[Operation]) -> str:
        """One entity-group transaction; the first entity's new ETag."""
        steps: list[tuple[Any, ...]] = []
        for operation in operations:
            kind, entity = operation[0], operation[1]
            if kind == "update":
                conditions = {
                    **_REPLACE,
                    "etag": operation[2],  # type: ignore[misc]
                    "match_condition": MatchConditions.IfNotModified,
                }
                steps.append(("update", entity, conditions))
            elif kind == "upsert":
                steps.append(("upsert", entity, _REPLACE))
            else:
                steps.append((kind, entity))
        with self._translated(f"save group {partition}"):
            results = self._table.submit_transaction(steps)
        return str(results[0].get("etag") or "") if results else ""

    def upsert(self, entity: Entity) -> None:
        """Insert or replace one entity."""
        with self._translated(f"write {entity['PartitionKey']}/{entity['RowKey']}"):
            self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def write(self, entity: Entity, etag: str | None) -> None:
        """Create the entity, or replace it under If-Match."""
        with self._translated(f"write {entity['PartitionKey']}/{entity['RowKey']}"):
            if etag is None:
                self._table.create_entity(entity)
            else:
                self._table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )

    def delete(self, partition: str, row: str) -> None:
        """Delete one row; one that is gone already is fine."""
        with self._translated(f"delete {partition}/{row}"), suppress(ResourceNotFoundError):
            self._table.delete_entity(partition, row)

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Create the table on first use and turn the SDK's errors into the project's."""
        try:
            self._ensure_table()
            yield
        except TableTransactionError as exc:
            if exc.status_code in (409, 412):
                raise ConflictError(f"{what}: the state changed since it was read") from exc
            raise self._translate(what, exc) from exc
        except (ResourceExistsError, ResourceModifiedError) as exc:
            raise ConflictError(f"{what}: changed since it was read") from exc
        except HttpResponseError as exc:
            raise self._translate(what, exc) from exc
        except AzureError as exc:  # no answer at all: connection, timeout, TLS, …
            raise StorageUnavailableError(f"{what}: storage unreachable: {exc}") from exc

    def _translate(self, what: str, exc: HttpResponseError) -> Exception:
        status = exc.status_code or 0
        code = getattr(exc, "error_code", None)
        if status == 404 and code == "TableNotFound":
            self._ready = False  # deleted or lost (a wiped emulator): recreated next time
            return StorageUnavailableError(f"{what}: the table was missing; it will be recreated")
        if status in _REFUSED and code not in (None, "AuthenticationFailed"):
            return UnstorableValueError(f"{what}: Table Storage refused it: {code}")
        return StorageUnavailableError(f"{what}: storage answered {status} {code or exc.reason}")

    def _ensure_table(self) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                with suppress(ResourceExistsError):
                    self._table.create_table()
                self._ready = True
