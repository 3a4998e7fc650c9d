"""`ActiveAccountClient`: the group's active account, cached for a TTL, revalidated with its
ETag, and read from the next source when one fails (client/README.md, "Fallback order")."""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import requests

from vi_failover_client.account import (
    ActiveAccount,
    ActiveAccountError,
    ActiveAccountUnavailableError,
)
from vi_failover_client.sources import (
    LAST_KNOWN_GOOD,
    EndpointSource,
    LastKnownGoodFile,
    Read,
    SourceError,
)
from vi_failover_client.table import TableReader, TableSource

log = logging.getLogger(__name__)

OnChange = Callable[[ActiveAccount, ActiveAccount | None], None]


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class ActiveAccountClient:
    """Read the active account before every indexing call: `get()` or `with session()`.

    Thread-safe. Within the TTL `get()` returns the cached value without I/O or locking.
    After it, one caller refreshes while the others wait for that one fetch.
    """

    def __init__(
        self,
        *,
        group: str | None = None,
        endpoints: Sequence[str] = (),
        function_key: str | None = None,
        table: TableSource | None = None,
        last_known_good: Path | str | None = None,
        ttl: float = 10.0,
        max_staleness: float = 300.0,
        timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc_now,
        session: requests.Session | None = None,
        on_change: OnChange | None = None,
    ) -> None:
        if isinstance(endpoints, str):
            raise TypeError("endpoints: give a list of base URLs, not one string")
        if table is not None and group is None:
            raise ValueError("group: reading the table needs the group name (its PartitionKey)")
        if not endpoints and table is None and last_known_good is None:
            raise ValueError("give at least one source: endpoints, table or last_known_good")
        if ttl < 0 or max_staleness < 0 or timeout <= 0:
            raise ValueError("ttl and max_staleness must be >= 0, timeout > 0")
        self._group = group
        self._ttl = ttl
        self._max_staleness = max_staleness
        self._clock = clock
        self._wall_clock = wall_clock
        self._on_change = on_change
        self._http = session if session is not None else requests.Session()
        self._owns_http = session is None
        self._endpoints = [
            EndpointSource(
                url, group=group, function_key=function_key, session=self._http, timeout=timeout
            )
            for url in endpoints
        ]
        self._tables = _table_readers(table, group, timeout)
        self._file = (
            LastKnownGoodFile(Path(last_known_good), group=group)
            if last_known_good is not None
            else None
        )
        # One tuple, swapped whole, so the lock-free fast path never sees half an update.
        self._entry: tuple[ActiveAccount, float] | None = None  # (value, monotonic deadline)
        self._confirmed_at = 0.0  # monotonic time a live source last confirmed the value
        self._lock = threading.Lock()
        self._generation = 0  # bumped by every refresh, so waiters can share its outcome
        self._failure: ActiveAccountError | None = None
        self._answered_by: str | None = None
        self._degraded = False
        self._warned_stale = False
        self._save_failing = False

    @property
    def group(self) -> str | None:
        """The group this client reads; None means the endpoint's only group."""
        return self._group

    def get(self) -> ActiveAccount:
        """The active account: cached within the TTL, else refreshed through the fallbacks.

        Raises UnknownGroupError when the endpoint does not know the group, and
        ActiveAccountUnavailableError when no source answers and nothing was ever read.
        """
        entry = self._entry
        if entry is not None and self._clock() < entry[1]:
            return entry[0]
        return self._refresh_or_share()

    @contextmanager
    def session(self) -> Iterator[ActiveAccount]:
        """One account for a whole job: a frozen snapshot, which a later move never changes."""
        account = self.get()
        try:
            yield account
        finally:
            entry = self._entry
            current = entry[0] if entry is not None else account
            if _identity(current) != _identity(account):
                log.info(
                    "a session on %s (version %d) ended; the active account is now %s (version %d)",
                    account.name,
                    account.version,
                    current.name,
                    current.version,
                )

    def close(self) -> None:
        """Release connections: the table clients', and the HTTP session if this client made it."""
        for reader in self._tables:
            reader.close()
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _refresh_or_share(self) -> ActiveAccount:
        seen = self._generation
        with self._lock:
            entry = self._entry
            if entry is not None and self._clock() < entry[1]:
                return entry[0]
            if self._generation != seen:  # a refresh finished while this caller waited
                if self._failure is not None:
                    # A copy: raising one instance in many threads would tangle its traceback.
                    raise copy.copy(self._failure)
                if entry is not None:
                    return entry[0]
            previous = entry[0] if entry is not None else None
            account = self._refresh(previous)
        if self._on_change is not None and (
            previous is None or _identity(previous) != _identity(account)
        ):
            try:
                self._on_change(account, previous)
            except Exception:
                log.exception("on_change raised; the new account is in use regardless")
        return account

    def _refresh(self, previous: ActiveAccount | None) -> ActiveAccount:
        """Under the lock: live sources in order, then what is cached, then the file."""
        self._generation += 1
        self._failure = None
        failures: list[tuple[str, str]] = []
        try:
            read = self._read_live(previous, failures)
        except ActiveAccountError as exc:  # UnknownGroupError: configuration, not an outage
            self._failure = exc
            raise
        if read is not None:
            now = self._clock()
            ttl = self._ttl if read.max_age is None else min(self._ttl, read.max_age)
            self._entry = (read.account, now + ttl)
            self._confirmed_at = now
            self._note_live(read.account, failures)
            self._save(read.account)
            return read.account
        try:
            account = self._fall_back(previous, failures)
        except ActiveAccountUnavailableError as exc:
            self._failure = exc
            raise
        # Retry the live sources after a TTL, not on every call: they just failed.
        self._entry = (account, self._clock() + self._ttl)
        self._note_degraded(account, failures)
        return account

    def _read_live(
        self, previous: ActiveAccount | None, failures: list[tuple[str, str]]
    ) -> Read | None:
        now = self._wall_clock()
        for endpoint in self._endpoints:
            try:
                return endpoint.read(previous, now)
            except SourceError as exc:
                failures.append((endpoint.label, str(exc)))
        for reader in self._tables:
            try:
                return reader.read(now)
            except SourceError as exc:
                failures.append((reader.label, str(exc)))
        return None

    def _fall_back(
        self, previous: ActiveAccount | None, failures: list[tuple[str, str]]
    ) -> ActiveAccount:
        if previous is not None and previous.source != LAST_KNOWN_GOOD:
            stale = self._clock() - self._confirmed_at > self._max_staleness
            return previous if previous.stale == stale else replace(previous, stale=stale)
        if self._file is not None:
            try:
                return self._file.read()
            except SourceError as exc:
                failures.append((self._file.label, str(exc)))
        if previous is not None:  # read from the file earlier; the file has gone since
            return previous
        group = repr(self._group) if self._group else "the endpoint's only group"
        reasons = "; ".join(f"{label}: {why}" for label, why in failures)
        raise ActiveAccountUnavailableError(
            f"no source answered for {group} and nothing was read before: {reasons}", failures
        )

    def _note_live(self, account: ActiveAccount, failures: list[tuple[str, str]]) -> None:
        if self._degraded or account.source != self._answered_by:
            if failures:
                log.info(
                    "active account of %s: reading from %s; %s",
                    account.group,
                    account.source,
                    _reasons(failures),
                )
            elif self._degraded or self._answered_by is not None:
                log.info("active account of %s: %s answers again", account.group, account.source)
        self._answered_by = account.source
        self._degraded = False
        self._warned_stale = False

    def _note_degraded(self, account: ActiveAccount, failures: list[tuple[str, str]]) -> None:
        if not self._degraded:
            log.warning(
                "active account of %s: every live source failed (%s); using %s (version %d) "
                "from %s, confirmed at %s%s",
                account.group,
                _reasons(failures),
                account.name,
                account.version,
                account.source,
                account.fetched_at.isoformat(),
                ", stale" if account.stale else "",
            )
        elif account.stale and not self._warned_stale:
            log.warning(
                "active account of %s: %s (version %d) is now stale: no live source has "
                "confirmed it since %s",
                account.group,
                account.name,
                account.version,
                account.fetched_at.isoformat(),
            )
        self._degraded = True
        self._warned_stale = account.stale
        self._answered_by = None

    def _save(self, account: ActiveAccount) -> None:
        if self._file is None:
            return
        try:
            self._file.write(account)
        except OSError as exc:
            if not self._save_failing:
                log.warning(
                    "cannot save the last-known-good file %s: %s",
                    self._file.path,
                    exc.strerror or type(exc).__name__,
                )
            self._save_failing = True
        else:
            self._save_failing = False


def _table_readers(
    table: TableSource | None, group: str | None, timeout: float
) -> list[TableReader]:
    if table is None or group is None:
        return []
    endpoints = [("table:primary", table.primary_endpoint)]
    if table.secondary_endpoint:
        endpoints.append(("table:secondary", table.secondary_endpoint))
    return [
        TableReader(label, endpoint, table, group=group, timeout=timeout)
        for label, endpoint in endpoints
    ]


def _identity(account: ActiveAccount) -> tuple[str, str, int]:
    return account.group, account.name, account.version


def _reasons(failures: Sequence[tuple[str, str]]) -> str:
    return "; ".join(f"{label}: {why}" for label, why in failures)
