"""Pages of groups for the operator console: which groups a search and a filter select, and
which of them one page shows. Pure: the summaries it filters on are read by the shell.

A search is answered from the configuration alone. A filter needs one fact per group that only
storage knows (where it is active, its pin, its block, its failed checks); the shell reads
those as summaries, one small row per group, never a group's incidents or audit trail.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.core.model import Group
from shared.core.state import AuditRecord, pin_holds

# Retries of one update are audited as `duplicate`: a storm of them would push every real
# event out of a short timeline.
TIMELINE_SKIPS = frozenset({"duplicate"})
TIMELINE_READ_FACTOR = 4  # audit lines read per timeline entry wanted, to skip those


class GroupFilter(enum.StrEnum):
    """What a page of groups may be narrowed to (none: every group)."""

    SECONDARY = "secondary"  # active on an account other than its primary
    BLOCKED = "blocked"  # a wanted failover has nowhere to go
    PINNED = "pinned"  # a pin in force holds the group
    NOT_READY = "not-ready"  # a configured account failed its latest readiness check


@dataclass(frozen=True)
class PageQuery:
    """One page request: search text, filter, 1-based page, its size, timeline entries."""

    search: str = ""
    filter: GroupFilter | None = None
    page: int = 1
    page_size: int = 25
    timeline: int = 10


@dataclass(frozen=True)
class ActiveSummary:
    """The few fields of a group's `active` row that the filters read."""

    group: str
    active: str
    pinned: bool = False
    pin_expires: datetime | None = None
    blocked_since: datetime | None = None

    def pin_in_force(self, now: datetime) -> bool:
        """The same rule as `GroupState.pin_in_force`."""
        return pin_holds(self.pinned, self.pin_expires, now)


@dataclass(frozen=True)
class Selection:
    """The groups a query selects (in configuration order) and the page of them it shows."""

    total: int
    pages: int
    shown: tuple[Group, ...]


def needs_summaries(query: PageQuery) -> bool:
    """Whether the filter needs the `active` rows' summaries (not-ready needs readiness)."""
    return query.filter in (GroupFilter.SECONDARY, GroupFilter.BLOCKED, GroupFilter.PINNED)


def searched(groups: Sequence[Group], text: str) -> list[Group]:
    """Groups whose name, or one of whose account names, contains `text` (case-insensitive)."""
    needle = text.strip().casefold()
    if not needle:
        return list(groups)
    return [
        g
        for g in groups
        if needle in g.name.casefold() or any(needle in a.name.casefold() for a in g.accounts)
    ]


def filtered(
    groups: Sequence[Group],
    kind: GroupFilter | None,
    now: datetime,
    summaries: Mapping[str, ActiveSummary] | None = None,
    unready: Mapping[str, frozenset[str]] | None = None,
) -> list[Group]:
    """The groups the filter keeps. A group never written has no summary: it is on its
    primary, unpinned and unblocked, and an account never probed counts as ready."""
    if kind is None:
        return list(groups)
    if kind is GroupFilter.NOT_READY:
        failed = unready or {}
        names = {g.name: {a.name for a in g.accounts} for g in groups}
        return [g for g in groups if failed.get(g.name, frozenset()) & names[g.name]]
    rows = summaries or {}
    kept = []
    for g in groups:
        row = rows.get(g.name)
        if row is None:
            continue
        if (
            (kind is GroupFilter.SECONDARY and row.active != g.accounts[0].name)
            or (kind is GroupFilter.BLOCKED and row.blocked_since is not None)
            or (kind is GroupFilter.PINNED and row.pin_in_force(now))
        ):
            kept.append(g)
    return kept


def select_page(groups: Sequence[Group], page: int, size: int) -> Selection:
    """The `page`-th slice of `size` groups; past the last page, an empty one (the groups may
    have changed since the caller counted them)."""
    start = (page - 1) * size
    return Selection(
        total=len(groups),
        pages=max(1, math.ceil(len(groups) / size)),
        shown=tuple(groups[start : start + size]),
    )


def timeline(records: Sequence[AuditRecord], limit: int) -> list[AuditRecord]:
    """The newest `limit` audit lines worth showing, newest first."""
    return [r for r in records if r.action not in TIMELINE_SKIPS][:limit]
