"""The refresher behind both clients: one background thread keeps the value fresh, so a read
never waits on the network once a value is held.

Until the first value, each refresh is a *check*: every source is read at once, so a refused key,
a wrong URL or table, or an unknown group is found at start whichever source would have answered
first. After that, each refresh tries the sources one at a time, those that answer first, within
one overall deadline.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from vi_failover_client.account import (
    ActiveAccount,
    ActiveAccountError,
    ActiveAccountUnavailableError,
    ConfigurationError,
    UnknownGroupError,
)
from vi_failover_client.refresh import (
    ClientStatus,
    Problem,
    SourceState,
    interval,
    newest,
    order,
    problems,
)
from vi_failover_client.sources import LastKnownGoodFile, LiveSource, Read, SourceError

log = logging.getLogger("vi_failover_client.client")

OnChange = Callable[[ActiveAccount, ActiveAccount | None], None]
OnProblem = Callable[[Problem], None]


@dataclass(frozen=True, slots=True)
class Timing:
    """How often and how long: seconds, on the client's clock (TTL, staleness) or real time."""

    ttl: float
    max_staleness: float
    timeout: float  # one source's attempt
    deadline: float  # one whole refresh
    recheck_after: float  # a failed source gets its place back after this
    jitter: float


@dataclass(frozen=True, slots=True)
class _Served:
    """What `get()` reads without a lock: swapped whole."""

    fresh: ActiveAccount
    stale: ActiveAccount
    due: float
    stale_at: float


class Engine:
    """Holds the value and refreshes it from a daemon thread; see the module docstring."""

    def __init__(
        self,
        *,
        group: str | None,
        sources: Sequence[LiveSource],
        file: LastKnownGoodFile | None,
        timing: Timing,
        clock: Callable[[], float],
        wall_clock: Callable[[], datetime],
        draw: Callable[[], float],
        on_change: OnChange | None,
        on_problem: OnProblem | None,
    ) -> None:
        self.group = group
        self._sources = list(sources)
        self._file = file
        self._t = timing
        self._clock, self._wall_clock, self._draw = clock, wall_clock, draw
        self._on_change, self._on_problem = on_change, on_problem
        self._states = [SourceState(s.label) for s in sources]
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self.served: _Served | None = None  # read lock-free by get()
        self.named: dict[str, ActiveAccount] = {}
        self._held: ActiveAccount | None = None
        self._confirmed_at = float("-inf")
        self._due = clock()
        self._ready = False
        self._accepted = False  # a caller took a value before the first check had finished
        self._provisional: ActiveAccount | None = None
        self._announced: ActiveAccount | None = None  # the last value on_change was given
        self._verdict: ActiveAccountError | None = None
        self._generation = 0
        self._in_flight = False
        self._force = False
        self._closed = False
        self.kicked = False
        self._reported: set[tuple[str, str]] = set()  # (kind, source) problems reported
        self._degraded = False
        self._warned_stale = False
        self._save_failing = False
        self._thread = threading.Thread(target=self._run, name="vi-failover-refresh", daemon=True)
        self._thread.start()

    # --- what callers use ------------------------------------------------------------------

    def kick(self) -> None:
        """The value is due: refresh now, in the background."""
        self.kicked = True
        self._wake.set()

    def wait_until_ready(self, timeout: float) -> ActiveAccount:
        """The first value, waiting up to `timeout` seconds; else the reason there is none."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._ready and self._held is not None:
                    return self._current()
                if self._verdict is not None:
                    raise copy.copy(self._verdict)  # one instance raised in many threads tangles
                left = end - time.monotonic()
                if left <= 0:
                    if self._provisional is not None:
                        # The caller's deadline: serve what answered; late refusals are loud.
                        self._accepted = self._ready = True
                        self._hold(self._provisional, live=True)
                        return self._current()
                    pending = [s.label for s in self._states if s.ok_at is None and not s.error]
                    raise ActiveAccountUnavailableError(
                        f"no value within {timeout:g} s; still waiting for {', '.join(pending)}",
                        [(label, f"no answer within {timeout:g} s") for label in pending],
                    )
                self._cond.wait(left)

    def refresh(self, timeout: float | None) -> bool:
        """Refresh now and wait for it; False when `timeout` passed first."""
        with self._cond:
            target = self._generation + (2 if self._in_flight else 1)
            self._force = True
            self._wake.set()
            return self._cond.wait_for(lambda: self._generation >= target, timeout)

    def status(self) -> ClientStatus:
        """What is held, from where, how old, and the last error of each source."""
        with self._cond:
            held = self._current() if self._held is not None and self._ready else None
            now = self._clock()
            found = problems(self._states)
            if self._degraded:
                found.append(Problem("unavailable", "every live source", self._last_failures()))
            return ClientStatus(
                group=self.group,
                ready=self._ready,
                account=held,
                age_seconds=None
                if held is None or self._confirmed_at == float("-inf")  # from the file
                else max(0.0, now - self._confirmed_at),
                stale=held is not None and held.stale,
                group_unknown=held is not None and held.group_unknown,
                refreshing=self._in_flight,
                problems=tuple(found),
                sources=tuple(self._states),
            )

    def close(self) -> None:
        """Stop refreshing; a read in flight ends at its own timeout, in the background."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=1.0)

    # --- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._closed:
                with self._cond:
                    self._in_flight, self._force = True, False
                try:
                    self._check() if not self._ready else self._refresh()
                finally:
                    with self._cond:
                        self._in_flight = False
                        self._generation += 1
                        self.kicked = False
                        self._cond.notify_all()
                self._sleep()
        except Exception:  # a bug must not silently freeze the value: say so, loudly
            log.exception("the refresher stopped; the value held is no longer refreshed")
            raise

    def _sleep(self) -> None:
        while not self._closed and not self._force:
            left = self._due - self._clock()
            if left <= 0:
                return
            self._wake.wait(timeout=left)
            self._wake.clear()

    def _check(self) -> None:
        """Read every source at once; the first value waits for every verdict, up to a deadline."""
        wall, answers = self._wall_clock(), queue.SimpleQueue[tuple[int, Read | SourceError]]()
        for index, source in enumerate(self._sources):
            threading.Thread(
                target=_read_into, args=(answers, index, source, wall, self._t.timeout), daemon=True
            ).start()
        reads: dict[int, Read] = {}
        pending = set(range(len(self._sources)))
        end = time.monotonic() + self._t.deadline
        while pending and (left := end - time.monotonic()) > 0 and not self._closed:
            try:
                index, outcome = answers.get(timeout=left)
            except queue.Empty:
                break
            pending.discard(index)
            self._note(index, outcome, wall)
            if isinstance(outcome, Read):
                reads[index] = outcome
                best = newest([reads[i] for i in sorted(reads)])  # ties: the configured order
                with self._cond:
                    self._provisional = best.account if best else None
                    self._cond.notify_all()
        for index in pending:
            message = f"no answer within {min(self._t.timeout, self._t.deadline):g} s"
            self._note(index, SourceError(message), wall)
        self._settle_check(newest([reads[i] for i in sorted(reads)]))

    def _settle_check(self, best: Read | None) -> None:
        if self._closed:  # closing cut the check short: nothing to conclude or log
            return
        refused = problems(self._states)
        with self._cond:
            accepted = self._accepted
        if refused and not accepted:
            kind = UnknownGroupError if any(p.kind == "unknown-group" for p in refused) else None
            error = (kind or ConfigurationError)(
                "configuration refused: " + "; ".join(map(str, refused)),
                [(p.source, p.message) for p in refused],
            )
            log.error("active account of %s: %s", self._name(), error)
            self._report(refused)
            self._finish_check(None, error, self._t.ttl)
            return
        if best is not None:
            self._report(refused)  # late refusals after a caller took the value: loud, not fatal
            self._save(best.account)
            self._finish_check(best.account, None, self._next(best.max_age), live=True)
            return
        failures = [(s.label, s.error or "") for s in self._states]
        if self._file is not None:
            try:
                saved = self._file.read({s.identity for s in self._sources})
            except SourceError as exc:
                failures.append((self._file.label, str(exc)))
            else:
                log.warning(
                    "active account of %s: every live source failed (%s); using %s (version %d) "
                    "from %s, confirmed at %s, stale",
                    self._name(),
                    _reasons(failures),
                    saved.name,
                    saved.version,
                    saved.source,
                    saved.fetched_at.isoformat(),
                )
                self._degraded = self._warned_stale = True
                self._finish_check(saved, None, self._next(None), live=False)
                return
        unavailable = ActiveAccountUnavailableError(
            f"no source answered for {self._name()} and nothing was read before: "
            + _reasons(failures),
            failures,
        )
        log.warning("active account of %s: %s", self._name(), unavailable)
        self._finish_check(None, unavailable, self._t.ttl)

    def _finish_check(
        self,
        account: ActiveAccount | None,
        error: ActiveAccountError | None,
        wait: float,
        *,
        live: bool = False,
    ) -> None:
        with self._cond:
            self._provisional = None
            self._verdict = error
            self._due = self._clock() + wait
            if account is not None:
                self._hold(account, live=live)
                self._ready = True
            self._cond.notify_all()
        if account is not None:
            self._changed(account)

    def _refresh(self) -> None:
        """One source at a time, those that answer first, within one deadline."""
        wall, end = self._wall_clock(), time.monotonic() + self._t.deadline
        held = self._held
        for index in order(self._states, self._clock(), self._t.recheck_after):
            left = end - time.monotonic()
            if left <= 0:
                break
            outcome = _read(self._sources[index], held, wall, min(self._t.timeout, left))
            self._note(index, outcome, wall)
            if isinstance(outcome, Read):
                self._fresh(outcome, held)
                return
            if outcome.kind == "unknown-group":
                self._unknown_group(outcome, index)
                return
            self._report(problems([self._states[index]]))
        if not self._closed:
            self._all_failed()

    # --- outcomes ----------------------------------------------------------------------------

    def _note(self, index: int, outcome: Read | SourceError, wall: datetime) -> None:
        with self._cond:
            state = self._states[index]
            if isinstance(outcome, Read):
                self._states[index] = state.answered(wall)
                self._reported = {r for r in self._reported if r[1] != state.label}
            else:
                self._states[index] = state.refused(outcome.kind, str(outcome), wall, self._clock())

    def _fresh(self, read: Read, previous: ActiveAccount | None) -> None:
        account = read.account
        if self._degraded or (previous is not None and previous.source != account.source):
            why = self._last_failures()
            log.info(
                "active account of %s: reading from %s%s",
                account.group,
                account.source,
                f"; {why}" if why else "",
            )
        if previous is not None and previous.group_unknown:
            log.warning("active account of %s: the group is known again", account.group)
        self._degraded = self._warned_stale = False
        with self._cond:
            self._due = self._clock() + self._next(read.max_age)
            self._hold(account, live=True)
        self._changed(account)
        self._save(account)

    def _unknown_group(self, error: SourceError, index: int) -> None:
        label = self._states[index].label
        with self._cond:
            held = self._held
            if held is None:
                return
            self._due = self._clock() + self._next(None)
            self._hold(replace(held, group_unknown=True), live=False)
        if ("unknown-group", label) not in self._reported:
            self._reported.add(("unknown-group", label))
            self._emit(Problem("unknown-group", label, str(error)))
            log.error(
                "active account of %s: %s says %s; serving the last value held, %s (version %d), "
                "marked group_unknown, until the group is configured again",
                held.group,
                label,
                error,
                held.name,
                held.version,
            )

    def _all_failed(self) -> None:
        with self._cond:
            self._due = self._clock() + self._next(None)
            held = self._held
            if held is not None:
                self._hold(held, live=False)
            stale = held is not None and self._clock() >= self._confirmed_at + self._t.max_staleness
        if held is None:
            return
        if not self._degraded:
            log.warning(
                "active account of %s: every live source failed (%s); using %s (version %d) "
                "from %s, confirmed at %s%s",
                held.group,
                self._last_failures(),
                held.name,
                held.version,
                held.source,
                held.fetched_at.isoformat(),
                ", stale" if stale else "",
            )
            self._degraded = True
            self._emit(Problem("unavailable", "every live source", self._last_failures()))
        elif stale and not self._warned_stale:
            log.warning(
                "active account of %s: %s (version %d) is now stale: no live source has "
                "confirmed it since %s",
                held.group,
                held.name,
                held.version,
                held.fetched_at.isoformat(),
            )
        self._warned_stale = self._warned_stale or stale

    # --- helpers -----------------------------------------------------------------------------

    def _hold(self, account: ActiveAccount, *, live: bool) -> None:
        """Under the lock: make `account` the value `get()` serves."""
        if live:
            self._confirmed_at = self._clock()
        self._held = account
        self.named[account.name] = account  # every account the flag has named, for accounts()
        stale_at = self._confirmed_at + self._t.max_staleness
        self.served = _Served(account, replace(account, stale=True), self._due, stale_at)

    def _current(self) -> ActiveAccount:
        served = self.served
        assert served is not None  # noqa: S101 - held implies served
        return served.stale if self._clock() >= served.stale_at else served.fresh

    def _next(self, max_age: float | None) -> float:
        return interval(self._t.ttl, max_age, self._t.jitter, self._draw())

    def _changed(self, account: ActiveAccount) -> None:
        """Tell on_change of a value it has not seen: the first, then each move or pin."""
        previous = self._announced
        if previous is not None and _same(previous, account):
            return
        self._announced = account
        if self._on_change is None:
            return
        try:
            self._on_change(account, previous)
        except Exception:
            log.exception("on_change raised; the new account is in use regardless")

    def _report(self, found: Sequence[Problem]) -> None:
        for problem in found:
            key = (problem.kind, problem.source)
            if key in self._reported:
                continue
            self._reported.add(key)
            if self._ready:
                log.error("active account of %s: %s", self._name(), problem)
            self._emit(problem)

    def _emit(self, problem: Problem) -> None:
        if self._on_problem is None:
            return
        try:
            self._on_problem(problem)
        except Exception:
            log.exception("on_problem raised")

    def _save(self, account: ActiveAccount) -> None:
        if self._file is None:
            return
        writer = next(s.identity for s in self._sources if s.label == account.source)
        try:
            self._file.write(account, writer=writer)
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

    def _last_failures(self) -> str:
        return _reasons([(s.label, s.error) for s in self._states if s.error])

    def _name(self) -> str:
        return repr(self.group) if self.group else "the endpoint's only group"


def _read(
    source: LiveSource, cached: ActiveAccount | None, wall: datetime, timeout: float
) -> Read | SourceError:
    try:
        return source.read(cached, wall, timeout)
    except SourceError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - a source's bug is that source's failure
        return SourceError(f"failed ({type(exc).__name__})")


def _read_into(
    answers: queue.SimpleQueue[tuple[int, Read | SourceError]],
    index: int,
    source: LiveSource,
    wall: datetime,
    timeout: float,
) -> None:
    answers.put((index, _read(source, None, wall, timeout)))


def _same(a: ActiveAccount, b: ActiveAccount) -> bool:
    return (a.group, a.name, a.version) == (b.group, b.name, b.version)


def _reasons(failures: Sequence[tuple[str, str | None]]) -> str:
    return "; ".join(f"{label}: {why}" for label, why in failures)
