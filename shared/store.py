"""The state store port, its errors, and the in-memory fake that behaves like the real one.

A group's state (active account, pin, incidents) and its audit lines are saved in one atomic,
conditional step: either all of it lands, or none and the caller re-reads and re-decides.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from shared.errors import UnavailableError
from shared.fanout import FanoutJob
from shared.model import AuditRecord, GroupState, KnownUpdate, SignalKind

# Alerts that touch no group are audited under this pseudo-group (group names cannot start "_").
UNMATCHED = "_unmatched"


def audit_sort_key(record: AuditRecord) -> str:
    """Sorts audit lines newest first; also the Table RowKey suffix, so both stores agree."""
    micros = int(record.time.timestamp() * 1_000_000)
    return f"{_NEWEST - micros:017d}|{record.record_id}"


_NEWEST = 10**17 - 1  # microseconds: year 5138, far beyond any timestamp we store


def supersedes(update: KnownUpdate, stored: KnownUpdate) -> bool:
    """Whether `update` replaces the kept one: newer, or the same one remembering more ids."""
    if update.order_key() != stored.order_key():
        return update.order_key() > stored.order_key()
    return not set(update.clamped_updates) <= set(stored.clamped_updates)


class StoreUnavailableError(UnavailableError):
    """Storage could not be reached or failed; nothing was written, retry later."""


class ConflictError(Exception):
    """The group's state changed since it was read; re-read and decide again."""


class StateStore(Protocol):
    """Where group state, incidents and the audit trail live."""

    def load_group(self, group: str) -> GroupState | None:
        """The group's state with its incidents and concurrency token, or None if never saved."""
        ...

    def load_active(self, group: str) -> GroupState | None:
        """The group's active-account fields only (no incidents, no readiness): a point read."""
        ...

    def groups_tracking(self, key: str) -> list[str]:
        """Names of the groups that hold an incident with this key."""
        ...

    def save(
        self, previous: GroupState | None, new: GroupState, audit: Sequence[AuditRecord]
    ) -> GroupState:
        """Atomically replace `previous` by `new` and append `audit`; ConflictError if stale."""
        ...

    def append_audit(self, audit: Sequence[AuditRecord]) -> None:
        """Append audit lines that go with no state change (idempotent per record id)."""
        ...

    def history(self, groups: Sequence[str], limit: int) -> list[AuditRecord]:
        """The newest `limit` audit lines of these groups, newest first."""
        ...

    def active_accounts(self) -> dict[str, str]:
        """Every stored group's active account name, by group (one query)."""
        ...

    def fanout_job(self, kind: SignalKind, key: str, update_id: str) -> FanoutJob | None:
        """The accepted fan-out of this update, or None (a point read)."""
        ...

    def save_fanout_job(self, job: FanoutJob) -> None:
        """Record an accepted fan-out (replacing an earlier record of the same update)."""
        ...

    def load_newest(self, kind: SignalKind, key: str) -> KnownUpdate | None:
        """The newest update kept of this incident, or None (a point read)."""
        ...

    def remember_newest(self, update: KnownUpdate) -> None:
        """Keep this update of its incident unless a newer one is kept already."""
        ...

    def forget_newest(self, before: datetime, limit: int) -> int:
        """Forget at most `limit` kept updates remembered before `before`; how many went."""
        ...

    def ping(self) -> None:
        """Raise StoreUnavailableError unless storage answers."""
        ...


class InMemoryStateStore:
    """A StateStore in a dict, with the same conditional-write semantics as Table Storage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, GroupState] = {}
        self._audit: dict[str, dict[str, AuditRecord]] = {}
        self._etags = itertools.count(1)
        self._jobs: dict[tuple[SignalKind, str, str], FanoutJob] = {}
        self._newest: dict[tuple[SignalKind, str], KnownUpdate] = {}
        self.available = True  # tests flip this to simulate an outage

    def load_group(self, group: str) -> GroupState | None:
        """The group's state, or None if never saved."""
        with self._lock:
            self._check()
            return self._states.get(group)

    def load_active(self, group: str) -> GroupState | None:
        """The group's state without incidents and readiness, or None if never saved."""
        with self._lock:
            self._check()
            state = self._states.get(group)
        return replace(state, incidents={}, readiness={}) if state is not None else None

    def groups_tracking(self, key: str) -> list[str]:
        """Names of the groups that hold an incident with this key."""
        with self._lock:
            self._check()
            return sorted(name for name, s in self._states.items() if key in s.incidents)

    def save(
        self, previous: GroupState | None, new: GroupState, audit: Sequence[AuditRecord]
    ) -> GroupState:
        """Replace the state if its token still matches, and append the audit lines."""
        with self._lock:
            self._check()
            current = self._states.get(new.group)
            expected = previous.etag if previous is not None else None
            if (current.etag if current else None) != expected:
                raise ConflictError(f"group {new.group} changed since it was read")
            stored = replace(new, etag=str(next(self._etags)))
            self._states[new.group] = stored
            self._append(audit)
            return stored

    def append_audit(self, audit: Sequence[AuditRecord]) -> None:
        """Append audit lines; the same record id twice is stored once."""
        with self._lock:
            self._check()
            self._append(audit)

    def history(self, groups: Sequence[str], limit: int) -> list[AuditRecord]:
        """The newest `limit` audit lines of these groups, newest first."""
        with self._lock:
            self._check()
            records = [r for g in groups for r in self._audit.get(g, {}).values()]
        return sorted(records, key=audit_sort_key)[:limit]

    def active_accounts(self) -> dict[str, str]:
        """Every stored group's active account name, by group."""
        with self._lock:
            self._check()
            return {name: state.active for name, state in self._states.items()}

    def fanout_job(self, kind: SignalKind, key: str, update_id: str) -> FanoutJob | None:
        """The accepted fan-out of this update, or None."""
        with self._lock:
            self._check()
            return self._jobs.get((kind, key, update_id))

    def save_fanout_job(self, job: FanoutJob) -> None:
        """Record an accepted fan-out."""
        with self._lock:
            self._check()
            self._jobs[(job.kind, job.key, job.update_id)] = job

    def load_newest(self, kind: SignalKind, key: str) -> KnownUpdate | None:
        """The newest update kept of this incident, or None."""
        with self._lock:
            self._check()
            return self._newest.get((kind, key))

    def remember_newest(self, update: KnownUpdate) -> None:
        """Keep the update unless a newer one of its incident is kept already."""
        with self._lock:
            self._check()
            key = (update.signal.kind, update.signal.key)
            stored = self._newest.get(key)
            if stored is None or supersedes(update, stored):
                self._newest[key] = update

    def forget_newest(self, before: datetime, limit: int) -> int:
        """Drop at most `limit` kept updates remembered before `before`."""
        with self._lock:
            self._check()
            old = [k for k, u in self._newest.items() if u.remembered_at < before][:limit]
            for key in old:
                del self._newest[key]
            return len(old)

    def ping(self) -> None:
        """Raise StoreUnavailableError while `available` is False."""
        with self._lock:
            self._check()

    def _append(self, audit: Sequence[AuditRecord]) -> None:
        for record in audit:
            self._audit.setdefault(record.group or UNMATCHED, {})[record.record_id] = record

    def _check(self) -> None:
        if not self.available:
            raise StoreUnavailableError("in-memory store is marked unavailable")
