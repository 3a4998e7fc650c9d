"""The console's summaries from table rows: the few properties of each group's `active` row that
its filters read, and the accounts whose `readiness|…` row records a failed check. Pure
mapping, shared by both stores."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.adapters.table_rows import Entity, optional_utc
from shared.core.listing import ActiveSummary
from shared.core.model import ReadinessStatus

SUMMARY_PROPERTIES = ("AccountName", "Pinned", "PinExpires", "BlockedSince")
# Rows with these statuses are left out by the query itself: only failed checks travel.
READY_STATUSES = tuple(s.value for s in ReadinessStatus if s.ready)


def summary_from(entity: Entity) -> ActiveSummary:
    """The summary a projected `active` row holds."""
    return ActiveSummary(
        group=entity["PartitionKey"],
        active=str(entity.get("AccountName") or ""),
        pinned=bool(entity.get("Pinned") or False),
        pin_expires=_moment(entity.get("PinExpires")),
        blocked_since=_moment(entity.get("BlockedSince")),
    )


def unready_from(rows: Sequence[Entity]) -> dict[str, frozenset[str]]:
    """By partition (group), the accounts of these failed-check rows."""
    found: dict[str, set[str]] = {}
    for entity in rows:
        if not entity["PartitionKey"].startswith("_") and entity.get("Account"):
            found.setdefault(entity["PartitionKey"], set()).add(str(entity["Account"]))
    return {group: frozenset(accounts) for group, accounts in found.items()}


def _moment(value: object) -> datetime | None:
    """A projected DateTime: the SDK's datetime, or None when the row lacks the property."""
    if isinstance(value, datetime):
        return optional_utc(value)
    if isinstance(value, str) and value:
        return optional_utc(datetime.fromisoformat(value))
    return None
