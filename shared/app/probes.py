"""Readiness probes by account, shared by every group and delivery that needs them.

One account is probed once at a time, whoever asks (the groups of one alert, the batches of a
fan-out, a retry racing the first delivery): they all wait on the same probe. A caller may pass
a cache so that one delivery probes each account once, whatever number of its groups share it.
Each probe has its own deadline, counted from when it starts, not from when it was asked for;
the pool is large enough that one hanging account holds one worker, not the others. A probe
that misses its deadline marks that account alone as unreachable ("did not finish within 3 s")
while it goes on in the background: later askers get the mark at once instead of waiting again,
until the probe ends.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from shared.app.ports import Prober
from shared.app.telemetry import NullTelemetry, Telemetry
from shared.core.model import Account, ProbeResult, ReadinessStatus

log = logging.getLogger(__name__)

DEADLINE_SECONDS = 3.0  # a pre-flight probe must leave the answer well inside 10 s
WORKERS = 64


class _Flight:
    """One probe of one account, running or waiting for a worker."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.started_at = 0.0  # time.monotonic() when a worker took it
        self.done = threading.Event()
        self.result: ProbeResult | None = None
        self.caches: list[dict[str, ProbeResult]] = []  # deliveries to hand the result to

    def wait(self, deadline: float) -> ProbeResult | None:
        """The result, if the probe starts within `deadline` and ends within `deadline` of its
        start (however long ago that was)."""
        if not self.started.wait(deadline):
            return None
        remaining = self.started_at + deadline - time.monotonic()
        if remaining > 0:
            self.done.wait(remaining)
        return self.result


class ProbeBroker:
    """Probes accounts for the use cases: single flight per account, per-probe deadlines."""

    def __init__(
        self,
        prober: Prober | None,
        clock: Callable[[], datetime],
        *,
        deadline: float = DEADLINE_SECONDS,
        workers: int = WORKERS,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._telemetry = telemetry or NullTelemetry()
        self._prober = prober
        self._clock = clock
        self._deadline = deadline
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}
        self._marks: dict[str, ProbeResult] = {}  # of probes still running past their deadline
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe")

    @property
    def enabled(self) -> bool:
        """Whether there is a prober at all (tests and tools may run without one)."""
        return self._prober is not None

    def probe(
        self,
        accounts: Sequence[Account],
        *,
        deadline: float | None = None,
        cache: dict[str, ProbeResult] | None = None,
    ) -> dict[str, ProbeResult]:
        """A result for each account, by lower-cased resource id (none without a prober).

        Results already in `cache` are used as they are, and new ones are added to it."""
        if self._prober is None:
            return {}
        limit = self._deadline if deadline is None else deadline
        known = cache if cache is not None else {}
        flights: dict[str, _Flight] = {}
        results: dict[str, ProbeResult] = {}
        with self._lock:
            for account in accounts:
                key = account.resource_id.lower()
                if key in flights or key in results:
                    continue
                found = known.get(key) or self._marks.get(key)
                if found is not None:
                    results[key] = found
                    continue
                flights[key] = self._flights.get(key) or self._start(key, account)
        for key, flight in flights.items():
            found = flight.wait(limit)
            results[key] = found if found is not None else self._missed(key, limit)
        known.update(results)
        return results

    def prefetch(self, accounts: Sequence[Account], cache: dict[str, ProbeResult]) -> None:
        """Start probing these accounts now, without waiting; each result lands in `cache`.

        A delivery names the accounts its groups are likely to need, so that their probes run
        side by side instead of in waves of groups."""
        if self._prober is None:
            return
        with self._lock:
            for account in accounts:
                key = account.resource_id.lower()
                if key in cache or key in self._marks:
                    continue
                flight = self._flights.get(key) or self._start(key, account)
                flight.caches.append(cache)

    def _start(self, key: str, account: Account) -> _Flight:
        flight = _Flight()
        self._flights[key] = flight
        # In the asker's context: the probe's logs and calls join the span that asked first.
        self._pool.submit(contextvars.copy_context().run, self._run, key, account, flight)
        return flight

    def _run(self, key: str, account: Account, flight: _Flight) -> None:
        flight.started_at = time.monotonic()
        flight.started.set()
        prober = self._prober
        assert prober is not None  # noqa: S101  no flight starts without one
        try:
            flight.result = prober.probe(account)
            took = time.monotonic() - flight.started_at
            self._telemetry.probed(account.name, flight.result.status.value, took)
        finally:
            with self._lock:
                self._marks.pop(key, None)
                self._flights.pop(key, None)
                if flight.result is not None:
                    for cache in flight.caches:
                        cache[key] = flight.result
            flight.done.set()

    def _missed(self, key: str, limit: float) -> ProbeResult:
        """The mark for an account whose probe did not finish in time (kept while the probe
        runs, so the next asker does not wait on it again)."""
        evidence = f"probe did not finish within {limit:g} s"
        result = ProbeResult(ReadinessStatus.UNREACHABLE, evidence, self._clock())
        with self._lock:
            if key in self._flights:
                self._marks[key] = result
        log.warning("probe of %s: %s", key.rsplit("/", 1)[-1], evidence)
        return result
