"""The probe broker: one probe per account at a time, deadlines counted from each probe's start,
and a hanging account marked on its own without holding up the others."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from shared.app.probes import ProbeBroker
from shared.core.model import Account, ProbeResult, ReadinessStatus
from tests.core import CENTRAL, EAST, WEST, FakeClock


class GatedProber:
    """Answers healthy, except for accounts whose gate is closed: those hang until it opens."""

    def __init__(self, clock: FakeClock, hanging: Iterable[str] = ()) -> None:
        self.clock = clock
        self.gate = threading.Event()
        self.hanging = set(hanging)
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def probe(self, account: Account) -> ProbeResult:
        with self.lock:
            self.calls[account.name] += 1
        if account.name in self.hanging:
            self.gate.wait(30)
        return ProbeResult(ReadinessStatus.HEALTHY, "200", self.clock())


def test_a_hanging_account_is_marked_alone_and_the_others_answer() -> None:
    """West hangs: it is unreachable after the deadline; east and central are healthy."""
    clock = FakeClock()
    prober = GatedProber(clock, {WEST.name})
    broker = ProbeBroker(prober, clock, deadline=0.2)

    results = broker.probe([EAST, WEST, CENTRAL])
    prober.gate.set()

    statuses = {key.rsplit("/", 1)[-1]: r.status for key, r in results.items()}
    assert {
        EAST.name: ReadinessStatus.HEALTHY,
        WEST.name: ReadinessStatus.UNREACHABLE,
        CENTRAL.name: ReadinessStatus.HEALTHY,
    } == statuses
    assert "did not finish within 0.2 s" in results[WEST.resource_id.lower()].evidence


def test_later_askers_get_the_mark_at_once_while_the_probe_still_hangs() -> None:
    """After one asker waited out the deadline, the next one is not made to wait again and no
    second probe of the hanging account starts."""
    clock = FakeClock()
    prober = GatedProber(clock, {WEST.name})
    broker = ProbeBroker(prober, clock, deadline=0.2)
    broker.probe([WEST])
    second_done = threading.Event()

    def ask_again() -> None:
        broker.probe([WEST])
        second_done.set()

    threading.Thread(target=ask_again).start()
    answered_at_once = second_done.wait(0.1)
    prober.gate.set()

    assert answered_at_once
    assert 1 == prober.calls[WEST.name]


class SlowProber:
    """Takes a little while per probe and records how many probes of an account overlap."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.running: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def probe(self, account: Account) -> ProbeResult:
        with self.lock:
            self.calls[account.name] += 1
            self.running[account.name] += 1
            self.most[account.name] = max(self.most[account.name], self.running[account.name])
        threading.Event().wait(0.02)  # the probe's own latency, so askers overlap
        with self.lock:
            self.running[account.name] -= 1
        return ProbeResult(ReadinessStatus.HEALTHY, "200", self.clock())


def test_concurrent_askers_never_probe_one_account_twice_at_once() -> None:
    """Eight threads asking about the same account again and again: never two probes of it at
    the same time, and most asks join a probe already running."""
    clock = FakeClock()
    prober = SlowProber(clock)
    broker = ProbeBroker(prober, clock, deadline=5.0)

    def ask() -> list[ReadinessStatus]:
        return [broker.probe([EAST])[EAST.resource_id.lower()].status for _ in range(10)]

    with ThreadPoolExecutor(8) as pool:
        answers = [status for f in [pool.submit(ask) for _ in range(8)] for status in f.result()]

    assert [ReadinessStatus.HEALTHY] * 80 == answers
    assert 1 == prober.most[EAST.name]
    assert prober.calls[EAST.name] < 80


def test_a_probe_waiting_for_a_worker_is_not_timed_while_it_waits() -> None:
    """With one worker busy on a hanging account, east's probe starts late: its deadline counts
    from its own start, so it still answers healthy."""
    clock = FakeClock()
    prober = GatedProber(clock, {WEST.name})
    broker = ProbeBroker(prober, clock, deadline=0.3, workers=1)
    hung = threading.Thread(target=lambda: broker.probe([WEST]))
    hung.start()

    def release_soon() -> None:
        prober.gate.wait(0.2)  # hold the only worker for 0.2 s, within east's deadline
        prober.gate.set()

    threading.Thread(target=release_soon).start()
    result = broker.probe([EAST])[EAST.resource_id.lower()]
    hung.join(5)

    assert ReadinessStatus.HEALTHY == result.status


def test_a_cache_makes_one_delivery_probe_each_account_once() -> None:
    """Results already in the caller's cache are used; new ones are added to it."""
    clock = FakeClock()
    prober = GatedProber(clock)
    broker = ProbeBroker(prober, clock)
    cache: dict[str, ProbeResult] = {}

    broker.probe([EAST, WEST], cache=cache)
    broker.probe([EAST, WEST, CENTRAL], cache=cache)

    assert Counter({EAST.name: 1, WEST.name: 1, CENTRAL.name: 1}) == prober.calls
    assert 3 == len(cache)


def test_without_a_prober_nothing_is_probed() -> None:
    """Tools and tests may run without a prober: no result, and the broker says so."""
    broker = ProbeBroker(None, FakeClock())

    assert (False, {}) == (broker.enabled, broker.probe([EAST]))


def test_prefetched_probes_land_in_the_delivery_cache_and_are_not_repeated() -> None:
    """A delivery starts its likely probes at once; asking later finds them done, no second
    probe."""
    clock = FakeClock()
    prober = GatedProber(clock)
    broker = ProbeBroker(prober, clock)
    cache: dict[str, ProbeResult] = {}

    broker.prefetch([EAST, WEST], cache)
    answered = broker.probe([EAST, WEST], cache=cache)

    assert {ReadinessStatus.HEALTHY} == {r.status for r in answered.values()}
    assert Counter({EAST.name: 1, WEST.name: 1}) == prober.calls


def test_prefetched_hanging_probes_run_side_by_side() -> None:
    """Ten hanging accounts prefetched together: asking each in turn costs one deadline in all,
    not one per account, because each deadline counts from its probe's start."""
    clock = FakeClock()
    names = [f"acct-{n}" for n in range(10)]
    accounts = [replace(EAST, name=n, resource_id=f"{EAST.resource_id}-{n}") for n in names]
    prober = GatedProber(clock, names)
    broker = ProbeBroker(prober, clock, deadline=0.3)
    cache: dict[str, ProbeResult] = {}
    broker.prefetch(accounts, cache)
    done = threading.Event()

    def ask_each() -> None:
        for account in accounts:
            broker.probe([account], cache=cache)
        done.set()

    threading.Thread(target=ask_each).start()
    within_two_deadlines = done.wait(0.6)
    prober.gate.set()

    assert within_two_deadlines
