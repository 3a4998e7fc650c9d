"""Pages of groups for the console: search, filters, paging and timelines, on the in-memory
store (the same contract as the Table store, see test_store_contract.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shared.adapters.memory_store import InMemoryStateStore
from shared.app.listing import GroupPages
from shared.core.failover import initial_state
from shared.core.listing import GroupFilter, PageQuery, select_page, timeline
from shared.core.model import Config, Group
from shared.core.state import AuditRecord, GroupState
from tests.core import CENTRAL, T0, WEST, failing, group

GROUPS = (
    *(group(name=f"tenant-{n:03}") for n in range(30)),
    group(CENTRAL, WEST, name="central-first"),
)


def line(grp: str, n: int, action: str = "recorded") -> AuditRecord:
    """An audit line `n` minutes after T0."""
    return AuditRecord(grp, T0 + timedelta(minutes=n), action, "", "", f"why {n}", "t", f"r{n}")


@pytest.fixture
def store() -> InMemoryStateStore:
    """Groups 1, 2 and 3 written: on west, blocked, and pinned (until T0 + 1 h); group 4 has
    a failed check on west; the rest never written."""
    memory = InMemoryStateStore()
    by_name = {g.name: g for g in GROUPS}

    def write(name: str, **changes: object) -> None:
        grp = by_name[name]
        memory.save(grp, None, replace(initial_state(grp, T0), **changes), [])  # type: ignore[arg-type]

    write("tenant-001", active=WEST.name)
    write("tenant-002", blocked_since=T0)
    write("tenant-003", pinned=True, pin_expires=T0 + timedelta(hours=1))
    write("tenant-004")
    return memory


def pages(store: InMemoryStateStore, minutes: float = 0) -> GroupPages:
    """Pages over GROUPS, read from `store`, at T0 + minutes."""

    def read(grp: Group) -> GroupState:
        return store.load_group(grp.name) or initial_state(grp, T0)

    return GroupPages(Config(GROUPS), store, read, lambda: T0 + timedelta(minutes=minutes))


def names(store: InMemoryStateStore, minutes: float = 0, **query: object) -> list[str]:
    """The names of the groups on the page the query asks for."""
    page = pages(store, minutes).page(PageQuery(**query))  # type: ignore[arg-type]
    return [e.group.name for e in page.entries]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (GroupFilter.SECONDARY, ["tenant-001"]),
        (GroupFilter.BLOCKED, ["tenant-002"]),
        (GroupFilter.PINNED, ["tenant-003"]),
    ],
)
def test_each_filter_keeps_only_its_groups(
    store: InMemoryStateStore, kind: GroupFilter, expected: list[str]
) -> None:
    """A filter reads the summaries; a group never written is on its primary, unpinned."""
    assert expected == names(store, filter=kind)


def test_an_expired_pin_no_longer_counts_as_pinned(store: InMemoryStateStore) -> None:
    """The pin filter applies the pin's expiry at the page's time."""
    assert [] == names(store, minutes=61, filter=GroupFilter.PINNED)


def test_not_ready_keeps_groups_with_a_failed_check(store: InMemoryStateStore) -> None:
    """Only the latest check counts, and only for an account the group still has."""
    grp = next(g for g in GROUPS if g.name == "tenant-004")
    saved = store.load_group(grp.name)
    assert saved is not None
    store.save(grp, saved, replace(saved, readiness={WEST.name: failing(2)}), [])

    assert ["tenant-004"] == names(store, filter=GroupFilter.NOT_READY)


def test_search_matches_group_and_account_names_case_insensitively(
    store: InMemoryStateStore,
) -> None:
    """A search is answered from the configuration."""
    assert ["central-first"] == names(store, search=" CENTRALUS ")
    assert ["tenant-010", "tenant-011"] == names(store, search="tenant-01", page_size=2)


def test_paging_counts_every_selected_group_and_shows_one_page(
    store: InMemoryStateStore,
) -> None:
    """The page knows the total and the number of pages; past the end it is empty."""
    page = pages(store).page(PageQuery(page=4, page_size=10))
    past = pages(store).page(PageQuery(page=5, page_size=10))

    assert (31, 31, 4, ["central-first"]) == (
        page.configured,
        page.total,
        page.pages,
        [e.group.name for e in page.entries],
    )
    assert ((), 4) == (past.entries, past.pages)


def test_the_timeline_is_newest_first_without_duplicates(store: InMemoryStateStore) -> None:
    """Retries audited as `duplicate` are left out, and the limit holds."""
    store.append_audit([line("tenant-000", n) for n in range(3)])
    store.append_audit([line("tenant-000", n, "duplicate") for n in range(3, 6)])
    store.append_audit([line("tenant-000", 6, "failed_over")])

    page = pages(store).page(PageQuery(page_size=1, timeline=3))

    assert ["r6", "r2", "r1"] == [r.record_id for r in page.entries[0].timeline]
    assert [] == timeline([line("x", 1, "duplicate")], 5)


def test_no_timeline_is_read_when_none_is_asked_for(store: InMemoryStateStore) -> None:
    """timeline=0 leaves the audit trail unread."""
    store.append_audit([line("tenant-000", 1)])

    page = pages(store).page(PageQuery(page_size=1, timeline=0))

    assert () == page.entries[0].timeline


def test_select_page_of_nothing_is_one_empty_page() -> None:
    """No group selected: page 1 of 1, empty."""
    selection = select_page([], 1, 25)

    assert (0, 1, ()) == (selection.total, selection.pages, selection.shown)


def test_a_page_of_ten_thousand_groups_reads_only_its_own_groups_in_full() -> None:
    """Filtering 10,000 groups reads their summaries once; only the page's 25 are read whole."""
    many = tuple(group(name=f"g{n:05}") for n in range(10_000))
    memory = InMemoryStateStore()
    for grp in many[::2]:  # every other group written, on its secondary
        memory.save(grp, None, replace(initial_state(grp, T0), active=WEST.name), [])
    read: list[str] = []

    def load(grp: Group) -> GroupState:
        read.append(grp.name)
        return memory.load_group(grp.name) or initial_state(grp, T0)

    listing = GroupPages(Config(many), memory, load, lambda: T0)
    page = listing.page(PageQuery(filter=GroupFilter.SECONDARY, page=3))

    assert (5_000, 200) == (page.total, page.pages)
    assert ["g00100", "g00102"] == [e.group.name for e in page.entries][:2]
    assert sorted(read) == sorted(e.group.name for e in page.entries)
    assert 25 == len(read)
