"""`GroupPages`: one page of groups for the operator console, read-only.

A search is answered from the configuration; a filter reads one small summary row per group
(a single query); then only the page's groups are read in full, each with its newest audit
lines, on a pool of its own so a console never holds up the alert path's workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from shared.app.parallel import Parallel
from shared.app.ports import StateStore
from shared.core.listing import (
    TIMELINE_READ_FACTOR,
    ActiveSummary,
    GroupFilter,
    PageQuery,
    filtered,
    needs_summaries,
    searched,
    select_page,
    timeline,
)
from shared.core.model import Config, Group
from shared.core.state import AuditRecord, GroupState

PAGE_WORKERS = 8  # a page holds at most 100 groups, two reads each


@dataclass(frozen=True)
class GroupEntry:
    """One group as a page shows it: its state and its newest audit lines worth showing."""

    group: Group
    state: GroupState
    timeline: tuple[AuditRecord, ...]


@dataclass(frozen=True)
class GroupPage:
    """The page a query asked for, and how many groups it selects in all."""

    time: datetime
    query: PageQuery
    configured: int
    total: int
    pages: int
    entries: tuple[GroupEntry, ...]


class GroupPages:
    """Reads pages of groups; never every group's state at once."""

    def __init__(
        self,
        config: Config,
        store: StateStore,
        read: Callable[[Group], GroupState],
        clock: Callable[[], datetime],
    ) -> None:
        self._config = config
        self._store = store
        self._read = read
        self._clock = clock
        self._parallel = Parallel(PAGE_WORKERS, name="console")

    def page(self, query: PageQuery) -> GroupPage:
        """The groups the query selects, in configuration order, and the page it asks for."""
        now = self._clock()
        groups = searched(self._config.groups, query.search)
        summaries: dict[str, ActiveSummary] | None = None
        unready: dict[str, frozenset[str]] | None = None
        if groups and needs_summaries(query):
            summaries = {s.group: s for s in self._store.active_summaries()}
        elif groups and query.filter is GroupFilter.NOT_READY:
            unready = self._store.unready_accounts()
        groups = filtered(groups, query.filter, now, summaries, unready)
        selection = select_page(groups, query.page, query.page_size)
        entries = self._parallel.map(list(selection.shown), lambda g: self._entry(g, query))
        return GroupPage(
            time=now,
            query=query,
            configured=len(self._config.groups),
            total=selection.total,
            pages=selection.pages,
            entries=tuple(entries),
        )

    def _entry(self, group: Group, query: PageQuery) -> GroupEntry:
        state = self._read(group)
        records: list[AuditRecord] = []
        if query.timeline:
            wanted = query.timeline * TIMELINE_READ_FACTOR
            records = self._store.history([group.name], wanted, unmatched=False)
        return GroupEntry(group, state, tuple(timeline(records, query.timeline)))
