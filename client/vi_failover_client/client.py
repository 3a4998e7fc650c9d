"""`ActiveAccountClient`: the group's active account, held in memory and kept fresh in the
background, so the call before each indexing request never waits on the network
(client/README.md, "How a read works")."""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import requests

from vi_failover_client.account import ActiveAccount
from vi_failover_client.engine import Engine, OnChange, OnProblem, Timing
from vi_failover_client.refresh import ClientStatus
from vi_failover_client.refs import AccountRef, InvalidAccountError, accounts_from_config
from vi_failover_client.sources import EndpointSource, LastKnownGoodFile, LiveSource
from vi_failover_client.table import TableSource, table_readers

log = logging.getLogger(__name__)


class UnknownAccountError(LookupError):
    """The client knows no account of that name in its group."""


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class ActiveAccountClient:
    """Read the active account before every indexing call: `get()` or `with session()`.

    Thread-safe. Once a value is held, `get()` returns it from memory without I/O or locking; a
    daemon thread refreshes it. The first `get()` waits for the first value, up to
    `ready_timeout` seconds.
    """

    def __init__(
        self,
        *,
        group: str | None = None,
        endpoints: Sequence[str] = (),
        function_key: str | None = None,
        table: TableSource | None = None,
        last_known_good: Path | str | None = None,
        accounts: Sequence[AccountRef] | str | Mapping[str, Any] = (),
        ttl: float = 10.0,
        max_staleness: float = 300.0,
        timeout: float = 2.0,
        refresh_deadline: float = 5.0,
        ready_timeout: float = 5.0,
        recheck_after: float = 60.0,
        jitter: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc_now,
        draw: Callable[[], float] = random.random,
        session: requests.Session | None = None,
        on_change: OnChange | None = None,
        on_problem: OnProblem | None = None,
    ) -> None:
        if isinstance(endpoints, str):
            raise TypeError("endpoints: give a list of base URLs, not one string")
        if table is not None and group is None:
            raise ValueError("group: reading the table needs the group name (its PartitionKey)")
        if not endpoints and table is None:
            # The file only backs live sources up: it is used only if one of them wrote it.
            raise ValueError("give at least one live source: endpoints or table")
        if ttl < 0 or max_staleness < 0 or min(timeout, refresh_deadline, ready_timeout) <= 0:
            raise ValueError(
                "ttl and max_staleness must be >= 0; timeout, refresh_deadline and "
                "ready_timeout > 0"
            )
        if not 0 <= jitter < 1:
            raise ValueError("jitter: a fraction from 0 up to 1")
        self._group = group
        self._ready_timeout = ready_timeout
        self._clock = clock
        self._http = session if session is not None else requests.Session()
        self._owns_http = session is None
        sources: list[LiveSource] = [
            EndpointSource(url, group=group, function_key=function_key, session=self._http)
            for url in endpoints
        ]
        sources += table_readers(table, group, timeout)
        self._sources = sources
        self._configured = (
            accounts_from_config(accounts, group)
            if isinstance(accounts, str | Mapping)
            else list(accounts)
        )
        self._engine = Engine(
            group=group,
            sources=sources,
            file=None
            if last_known_good is None
            else LastKnownGoodFile(Path(last_known_good), group=group),
            timing=Timing(ttl, max_staleness, timeout, refresh_deadline, recheck_after, jitter),
            clock=clock,
            wall_clock=wall_clock,
            draw=draw,
            on_change=on_change,
            on_problem=on_problem,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """A client from the VI_FAILOVER_* variables (client/README.md, "Settings"); keyword
        arguments override them."""
        from vi_failover_client.settings import Settings  # noqa: PLC0415 - avoids a cycle

        return cls(**{**Settings.from_env(environ).client_arguments(), **overrides})

    def __repr__(self) -> str:
        labels = ", ".join(s.label for s in self._sources)
        return f"ActiveAccountClient(group={self._group!r}, sources=[{labels}])"

    @property
    def group(self) -> str | None:
        """The group this client reads; None means the endpoint's only group."""
        return self._group

    def get(self) -> ActiveAccount:
        """The active account, from memory once a value is held; marked `stale` past
        `max_staleness` without a live confirmation.

        Before the first value it waits up to `ready_timeout` seconds, and raises what
        `wait_until_ready` raises.
        """
        served = self._engine.served
        if served is None:
            return self._engine.wait_until_ready(self._ready_timeout)
        now = self._clock()
        if now >= served.due and not self._engine.kicked:
            self._engine.kick()
        return served.stale if now >= served.stale_at else served.fresh

    @property
    def ready(self) -> bool:
        """Whether a value is held, so that `get()` answers from memory: no lock, no I/O."""
        return self._engine.served is not None

    def wait_until_ready(self, timeout: float) -> ActiveAccount:
        """Block until the first value (at most `timeout` seconds) and return it.

        Raises ConfigurationError (UnknownGroupError among them) when a source refused the
        configuration at start, and ActiveAccountUnavailableError when no source answered.
        """
        return self._engine.wait_until_ready(timeout)

    def refresh(self, timeout: float | None = None) -> ClientStatus:
        """Refresh now and wait for it (at most `timeout` seconds); the status after it."""
        self._engine.refresh(timeout)
        return self._engine.status()

    def status(self) -> ClientStatus:
        """What is held, from which source, how old, problems, and each source's last error."""
        return self._engine.status()

    @contextmanager
    def session(self) -> Iterator[ActiveAccount]:
        """One account for a whole job: a frozen snapshot, which a later move never changes."""
        account = self.get()
        try:
            yield account
        finally:
            current = self._engine.served
            if current is not None and _identity(current.fresh) != _identity(account):
                log.info(
                    "a session on %s (version %d) ended; the active account is now %s (version %d)",
                    account.name,
                    account.version,
                    current.fresh.name,
                    current.fresh.version,
                )

    def accounts(self) -> tuple[AccountRef, ...]:
        """Every account of the group the client knows: those it was given (`accounts=`, in
        priority order), then any other the flag has named."""
        known = list(self._configured)
        for named in list(self._engine.named.values()):
            if all(a.name != named.name for a in known):
                # A flag without ids (or with bad ones) refers to nothing reachable.
                with contextlib.suppress(InvalidAccountError):
                    known.append(named.ref)
        return tuple(known)

    def account(self, name: str) -> AccountRef:
        """The account called `name`, to reach a video it holds; UnknownAccountError if unknown."""
        for ref in self.accounts():
            if ref.name == name:
                return ref
        known = ", ".join(a.name for a in self.accounts()) or "none"
        raise UnknownAccountError(
            f"no account {name!r} known for {self._group or 'the group'} (known: {known}); give "
            "every account with accounts= or VI_FAILOVER_CONFIG (the app's FAILOVER_CONFIG)"
        )

    def close(self) -> None:
        """Stop refreshing and release connections."""
        self._engine.close()
        for source in self._sources:
            source.close()
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


def _identity(account: ActiveAccount) -> tuple[str, str, int]:
    return account.group, account.name, account.version
