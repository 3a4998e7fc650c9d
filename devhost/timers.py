"""Run a FunctionApp's timer functions on their schedules, as the Functions host does (locally).

One scheduler thread per host sleeps until the next due timer; each run gets a worker thread of
its own, so a slow or failing timer holds up neither the other timers nor HTTP. Schedules come
from `devhost.timer_functions`.

A timer never runs alongside itself: an occurrence that comes while the previous run is still
going is skipped, and the next run is marked past due. Unlike Azure, nothing is persisted, so
runs missed while the host was down are not made up at start.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from azure.functions.timer import TimerRequest

from devhost.invoke import invoke_logged
from devhost.timer_functions import TimerFunction

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# The wait is re-armed at least this often, so a wall-clock jump or a suspended laptop delays a
# timer by at most this much.
MAX_WAIT_SECONDS = 60.0
MANUAL_REASON = "This function was programmatically called via the host APIs."
_NEVER = "0001-01-01T00:00:00"  # the host's status before a timer's first run (DateTime.MinValue)


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UnknownTimerError(LookupError):
    """No timer function has the given name."""


@dataclass(frozen=True)
class Timer:
    """A timer function and its next run, as the banner lists it."""

    function_name: str
    schedule: str
    expression: str
    next_run: datetime
    run_on_startup: bool


@dataclass
class _State:
    timer: TimerFunction
    order: int  # timers due at the same second fire in declaration order
    running: threading.Lock = field(default_factory=threading.Lock)
    next_due: datetime | None = None  # None until the scheduler starts
    missed: bool = False  # an occurrence went unrun, so the next scheduled run is past due
    status: dict[str, str] = field(default_factory=dict)  # what the function sees before a run


class TimerScheduler:
    """Runs timer functions on their schedules from one daemon thread, each run in its own thread.

    `clock` returns aware UTC datetimes; after moving a fake clock, call `wake()` so the
    scheduler reads it again instead of finishing a wait computed from the old time.
    """

    def __init__(self, timers: Sequence[TimerFunction], *, clock: Clock = utc_now) -> None:
        self._states = [_State(timer, order) for order, timer in enumerate(timers)]
        self._clock = clock
        self._lock = threading.Lock()  # guards the _State fields the scheduler thread rewrites
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def timers(self) -> tuple[Timer, ...]:
        """Each timer with its next scheduled run (if started now, before `start()`)."""
        with self._lock:
            planned = [(state.timer, state.next_due) for state in self._states]
        now = self._clock()
        return tuple(
            Timer(
                function_name=timer.name,
                schedule=timer.schedule,
                expression=timer.expression,
                next_run=next_due or timer.parsed.next_after(now),
                run_on_startup=timer.run_on_startup,
            )
            for timer, next_due in planned
        )

    def start(self) -> None:
        """Start the scheduler thread, and each `run_on_startup` timer; later calls do nothing."""
        with self._lock:
            if self._thread is not None or self._stopping or not self._states:
                return
            now = self._clock()
            for state in self._states:
                state.next_due = state.timer.parsed.next_after(now)
                state.status = _first_status(state.next_due)
                logger.info(
                    "Timer 'Functions.%s' (%s): next run at %s",
                    state.timer.name,
                    state.timer.expression,
                    _iso(state.next_due),
                )
            self._thread = threading.Thread(
                target=self._schedule, args=(now,), name="devhost-timers", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop scheduling at once; runs in progress finish in their own threads."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no timer run is in progress; False if `timeout` seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for state in self._states:
            remaining = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            if not state.running.acquire(timeout=remaining):
                return False
            state.running.release()
        return True

    def wake(self) -> None:
        """Make the scheduler read the clock now (after a fake clock moves)."""
        self._wake.set()

    def run_now(self, name: str) -> None:
        """Run the timer once in this thread, after any run in progress; exceptions propagate."""
        state = self._require(name)
        with state.running:
            self._execute(state, reason=MANUAL_REASON, past_due=False)

    def run_in_background(self, name: str) -> None:
        """Start one run of the timer in a worker thread, as the host's admin API does."""
        state = self._require(name)

        def run() -> None:
            with state.running, contextlib.suppress(Exception):  # logged; nobody is waiting
                self._execute(state, reason=MANUAL_REASON, past_due=False)

        threading.Thread(target=run, name=f"timer-{state.timer.name}", daemon=True).start()

    # --- the scheduler thread ------------------------------------------------------------------

    def _schedule(self, started: datetime) -> None:
        for state in self._states:
            if state.timer.run_on_startup:
                logger.info(
                    "Function '%s' is configured to run on startup. Executing now.",
                    state.timer.name,
                )
                self._launch(state, started, past_due=False)
        while True:
            # Cleared before the clock is read: a wake() during this pass makes the wait return.
            self._wake.clear()
            with self._lock:
                if self._stopping:
                    return
            now = self._clock()
            for state in self._due(now):
                self._fire(state, now)
            self._wake.wait(self._seconds_to_next())

    def _due(self, now: datetime) -> list[_State]:
        with self._lock:
            due = [s for s in self._states if s.next_due is not None and s.next_due <= now]
        return sorted(due, key=lambda s: (s.next_due or now, s.order))

    def _seconds_to_next(self) -> float:
        with self._lock:
            planned = [s.next_due for s in self._states if s.next_due is not None]
        if not planned:
            return MAX_WAIT_SECONDS
        remaining = (min(planned) - self._clock()).total_seconds()
        return min(max(remaining, 0.0), MAX_WAIT_SECONDS)

    def _fire(self, state: _State, now: datetime) -> None:
        due = state.next_due
        if due is None:  # not scheduled yet: _due() never returns such a timer
            return
        following = state.timer.parsed.next_after(due)
        overtaken = following <= now  # the clock passed later occurrences too (suspend, fake clock)
        with self._lock:
            state.next_due = following if not overtaken else state.timer.parsed.next_after(now)
        if overtaken:
            logger.warning(
                "'Functions.%s' was due at %s and missed later occurrences; running it past due",
                state.timer.name,
                _iso(due),
            )
        self._launch(state, now, past_due=overtaken)

    def _launch(self, state: _State, now: datetime, *, past_due: bool) -> None:
        """Start a scheduled run in a worker thread, or skip it while the last one is running."""
        if not state.running.acquire(blocking=False):
            with self._lock:
                state.missed = True
            logger.warning(
                "Skipped 'Functions.%s' at %s: its previous run is still going; "
                "the next run will be past due",
                state.timer.name,
                _iso(now),
            )
            return
        with self._lock:
            past_due = past_due or state.missed
            state.missed = False
            status = dict(state.status)
            next_due = state.next_due or state.timer.parsed.next_after(now)
            state.status = {"Last": _iso(now), "Next": _iso(next_due), "LastUpdated": _iso(now)}

        reason = f"Timer fired at {_iso(now)}"

        def run() -> None:
            try:
                with contextlib.suppress(
                    Exception
                ):  # logged by invoke_logged; the schedule goes on
                    self._execute(state, reason=reason, past_due=past_due, status=status)
            finally:
                state.running.release()

        threading.Thread(target=run, name=f"timer-{state.timer.name}", daemon=True).start()

    # --- one run ----------------------------------------------------------------------------

    def _execute(
        self,
        state: _State,
        *,
        reason: str,
        past_due: bool,
        status: Mapping[str, str] | None = None,
    ) -> None:
        timer = state.timer
        if status is None:
            with self._lock:
                status = dict(state.status)
            # Run before the scheduler starts: what the first scheduled run would see.
            status = status or _first_status(timer.parsed.next_after(self._clock()))
        request = TimerRequest(
            past_due=past_due,
            schedule_status=dict(status) if timer.use_monitor else {},
            schedule={"AdjustForDST": True},
        )
        invoke_logged(logger, timer, request, reason=reason)

    def _require(self, name: str) -> _State:
        """The timer called `name`, ignoring case as the host's admin API does."""
        wanted = name.casefold()
        state = next((s for s in self._states if s.timer.name.casefold() == wanted), None)
        if state is None:
            known = ", ".join(s.timer.name for s in self._states) or "none"
            raise UnknownTimerError(f"no timer function named {name!r} (timers: {known})")
        return state


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _first_status(next_due: datetime) -> dict[str, str]:
    return {"Last": _NEVER, "Next": _iso(next_due), "LastUpdated": _NEVER}
