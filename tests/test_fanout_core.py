"""The queued fan-out in the controller, on the in-memory store and queue: an alert touching more
groups than the inline limit is accepted, its batches move every group exactly once, and no
retry, redelivery or failure repeats or loses a move."""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.adapters.memory_store import InMemoryStateStore, InMemoryWorkQueue
from shared.app.controller import AlertResult, Controller
from shared.app.errors import UnavailableError
from shared.core.failover import initial_state
from shared.core.fanout import (
    BATCH_GROUPS,
    MAX_MESSAGE_BYTES,
    MIN_BATCH_GROUPS,
    TAPER,
    FanoutJob,
    InvalidBatchError,
    batch_sizes,
    decode_batch,
    encode_batch,
    make_batches,
)
from shared.core.model import (
    Account,
    Config,
    ImpactedService,
    Phase,
    ProbeResult,
    ReadinessStatus,
    Signal,
    SignalKind,
)
from shared.core.state import GroupState
from tests import alertfactory as af
from tests.core import T0, FakeClock, account, group, incident, passing

GROUPS = 60
BATCHES = len(batch_sizes(GROUPS))
INLINE = 10


def tenants(count: int) -> Config:
    """`count` groups on East US with a West US standby, and one group on West US only."""
    groups = [
        group(account(f"t{n:03d}-e", "eastus"), account(f"t{n:03d}-w", "westus"), name=f"t{n:03d}")
        for n in range(count)
    ]
    west_only = group(account("wo-w", "westus"), account("wo-c", "centralus"), name="west-only")
    return Config(groups=(*groups, west_only))


class CountingProber:
    """Answers healthy at once and remembers which accounts it was asked about."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.probed: list[str] = []

    def probe(self, acct: Account) -> ProbeResult:
        """Healthy, now."""
        self.probed.append(acct.name)
        return ProbeResult(ReadinessStatus.HEALTHY, "200 in 5 ms", self.clock())


class Rig:
    """A controller over `tenants(GROUPS)` with an inline limit of INLINE groups."""

    def __init__(self, *, prober: bool = False, groups: int = GROUPS) -> None:
        self.clock = FakeClock()
        self.store = InMemoryStateStore()
        self.queue = InMemoryWorkQueue()
        self.prober = CountingProber(self.clock)
        self.config = tenants(groups)
        self.controller = Controller(
            self.config,
            self.store,
            clock=self.clock,
            prober=self.prober if prober else None,
            queue=self.queue,
            inline_groups=INLINE,
        )

    def deliver(self, body: bytes = af.to_body(af.service_health())) -> AlertResult:
        """One delivery of the East US incident (by default)."""
        return self.controller.handle_alert(body)

    def drain(self) -> Counter[str]:
        """Apply every queued batch, as the queue trigger would; count the groups' actions."""
        actions: Counter[str] = Counter()
        for message in self.queue.take():
            actions.update(self.controller.apply_batch(message).values())
        return actions

    def active(self, name: str) -> str | None:
        """The group's stored active account, or None when it was never written."""
        state = self.store.load_active(name)
        return state.active if state is not None else None

    def on_west(self) -> int:
        """How many of the tenants are active on their West US account."""
        return sum(self.active(f"t{n:03d}") == f"t{n:03d}-w" for n in range(GROUPS))

    def audit(self) -> Counter[str]:
        """Every group's audit lines, counted by action."""
        names = [g.name for g in self.config.groups]
        return Counter(r.action for r in self.store.history(names, 100_000, unmatched=False))

    def stored(self, name: str) -> GroupState:
        """The group's stored state, written first in its initial state if it never was."""
        grp = self.config.group(name)
        assert grp is not None
        state = self.store.load_group(name)
        return state or self.store.save(grp, None, initial_state(grp, T0), ())

    def save(self, name: str, state: GroupState, new: GroupState) -> None:
        """Overwrite a group's stored state."""
        grp = self.config.group(name)
        assert grp is not None
        self.store.save(grp, state, new, ())


def test_a_large_fanout_is_accepted_then_its_batches_move_every_group_once() -> None:
    rig = Rig()
    answer = rig.deliver()
    queued_before_drain = (rig.on_west(), len(rig.queue.messages))
    actions = rig.drain()

    assert ("recorded", (), 0, BATCHES) == (
        answer.outcome,
        answer.decisions,
        *queued_before_drain,
    )
    assert answer.queued is not None
    assert (GROUPS, BATCHES) == (answer.queued.groups, answer.queued.batches)
    assert Counter({"failed_over": GROUPS}) == actions
    assert GROUPS == rig.on_west()
    assert Counter({"failed_over": GROUPS}) == rig.audit()
    assert rig.active("west-only") is None  # never touched, so never written


def test_a_retry_of_an_accepted_update_queues_nothing_and_says_duplicate() -> None:
    rig = Rig()
    first = rig.deliver()
    again = rig.deliver()
    after_drain = (rig.drain(), rig.deliver())

    assert ("duplicate", 3) == (again.outcome, len(rig.queue.messages) + 3)
    assert first.queued == again.queued
    assert Counter({"failed_over": GROUPS}) == after_drain[0]
    assert "duplicate" == after_drain[1].outcome
    assert Counter({"failed_over": GROUPS}) == rig.audit()


def test_a_redelivered_batch_moves_nothing_twice() -> None:
    rig = Rig()
    rig.deliver()
    messages = list(rig.queue.messages)
    first = rig.drain()
    rig.queue.send(messages)  # the queue hands every batch out again
    second = rig.drain()

    assert (Counter({"failed_over": GROUPS}), Counter({"duplicate": GROUPS})) == (first, second)
    assert GROUPS == rig.on_west()
    assert Counter({"failed_over": GROUPS, "duplicate": GROUPS}) == rig.audit()


def test_a_queue_outage_answers_unavailable_and_records_nothing() -> None:
    rig = Rig()
    rig.queue.available = False
    with pytest.raises(UnavailableError):
        rig.deliver()
    nothing = (rig.store.fanout_job(SignalKind.SERVICE_HEALTH, "VT0X-1AB", "1000"), rig.on_west())
    rig.queue.available = True
    retried = rig.deliver()
    moved = rig.drain()

    assert (None, 0) == nothing
    assert ("recorded", Counter({"failed_over": GROUPS})) == (retried.outcome, moved)


def test_a_lost_job_record_means_the_retry_queues_again_and_moves_nothing_twice() -> None:
    rig = Rig()

    def unavailable(job: FanoutJob) -> None:
        raise UnavailableError(f"could not record {job.job}")

    save = rig.store.save_fanout_job
    rig.store.save_fanout_job = unavailable  # type: ignore[method-assign]
    with pytest.raises(UnavailableError):
        rig.deliver()
    rig.store.save_fanout_job = save  # type: ignore[method-assign]
    retried = rig.deliver()
    queued = len(rig.queue.messages)
    moved = rig.drain()

    assert ("recorded", 2 * BATCHES) == (retried.outcome, queued)  # both deliveries' batches
    assert Counter({"failed_over": GROUPS, "duplicate": GROUPS}) == moved
    assert GROUPS == rig.on_west()


def test_a_failing_group_fails_its_batch_and_the_redelivery_finishes_it() -> None:
    rig = Rig()
    rig.deliver()
    message = rig.queue.take()[0]
    rig.store.available = False
    with pytest.raises(UnavailableError):
        rig.controller.apply_batch(message)
    rig.store.available = True
    actions = rig.controller.apply_batch(message)

    assert Counter({"failed_over": batch_sizes(GROUPS)[0]}) == Counter(actions.values())


def test_small_fanouts_stay_inline_and_answer_every_decision() -> None:
    rig = Rig(groups=INLINE)
    answer = rig.deliver()

    assert ("failed_over", INLINE, 0) == (
        answer.outcome,
        len(answer.decisions),
        len(rig.queue.messages),
    )
    assert answer.queued is None


def test_a_later_update_accepted_while_an_earlier_waits_is_not_undone() -> None:
    """The resolution is accepted and applied before the incident's own batches run: the
    incident arrives stale and moves nobody."""
    rig = Rig()
    rig.deliver()
    incident_batches = rig.queue.take()
    resolved = af.service_health(
        stage="Resolved", communication_id="1001", event_time="2026-11-20T10:30:00Z"
    )
    rig.deliver(af.to_body(resolved))
    resolution = rig.drain()
    rig.queue.send(incident_batches)
    late = rig.drain()

    assert Counter({"recorded": GROUPS}) == resolution
    assert Counter({"duplicate": GROUPS}) == late
    assert 0 == rig.on_west()


def test_a_batch_trusts_a_fresh_passing_probe_and_probes_the_rest() -> None:
    rig = Rig(prober=True)
    for n in range(GROUPS // 2):  # half the standbys passed a probe 2 minutes ago
        name = f"t{n:03d}"
        state = rig.stored(name)
        fresh = replace(passing(), checked_at=T0 - timedelta(minutes=2))
        rig.save(name, state, replace(state, readiness={f"{name}-w": fresh}))
    rig.deliver()
    moved = rig.drain()

    assert Counter({"failed_over": GROUPS}) == moved
    assert sorted(f"t{n:03d}-w" for n in range(GROUPS // 2, GROUPS)) == sorted(rig.prober.probed)


def test_an_inline_failover_always_probes_its_target() -> None:
    rig = Rig(prober=True, groups=1)
    state = rig.stored("t000")
    rig.save("t000", state, replace(state, readiness={"t000-w": passing(since=T0)}))
    answer = rig.deliver()

    assert ("failed_over", ["t000-w"]) == (answer.outcome, rig.prober.probed)


def test_a_batch_skips_a_group_no_longer_configured() -> None:
    rig = Rig()
    rig.deliver()
    message = json.loads(rig.queue.take()[0])
    message["groups"] = ["t000", "gone"]
    actions = rig.controller.apply_batch(json.dumps(message))

    assert {"t000": "failed_over"} == actions


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"format": 9}', "format 9"),
        ('{"format": 1, "job": "j"}', "missing or malformed"),
        ('{"format": 1, "job": 1, "batch": [1, 1], "groups": [], "signal": {}}', "job"),
        ('{"format": 1, "job": "j", "batch": [1, 1], "groups": [1], "signal": {}}', "groups"),
    ],
)
def test_a_message_that_is_not_a_batch_is_refused_with_the_reason(text: str, named: str) -> None:
    with pytest.raises(InvalidBatchError, match=named):
        decode_batch(text)


def test_an_invalid_message_changes_nothing() -> None:
    rig = Rig()
    with pytest.raises(InvalidBatchError):
        rig.controller.apply_batch('{"format": 1}')

    assert [None] * GROUPS == [rig.active(f"t{n:03d}") for n in range(GROUPS)]
    assert Counter() == rig.audit()


texts = st.text(max_size=40)
signals = st.builds(
    Signal,
    kind=st.sampled_from(SignalKind),
    key=texts,
    update_id=texts,
    event_time=st.datetimes(timezones=st.just(T0.tzinfo)),
    phase=st.sampled_from(Phase),
    incident_type=texts,
    status=texts,
    stage=texts,
    title=texts,
    services=st.lists(
        st.builds(ImpactedService, name=texts, regions=st.lists(texts, max_size=3).map(tuple)),
        max_size=3,
    ).map(tuple),
    resource_id=texts,
    health=texts,
    synthetic=st.booleans(),
    tracking_id=texts,
    communication_id=texts,
)


@given(signal=signals, names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=60))
def test_batches_round_trip_and_cover_every_group_once(signal: Signal, names: list[str]) -> None:
    batches = make_batches("job-1", signal, names, size=7)
    decoded = [decode_batch(encode_batch(b)) for b in batches]

    assert batches == decoded
    assert names == [n for b in decoded for n in b.groups]
    assert [(i, len(batches)) for i in range(1, len(batches) + 1)] == [
        (b.index, b.count) for b in decoded
    ]


def test_batches_taper_so_the_last_ones_are_small() -> None:
    """1,000 groups: full batches first, then each at most an eighth of what is left, the last
    ones of MIN_BATCH_GROUPS; every group once, in order."""
    names = [f"g{n:04d}" for n in range(1000)]

    sizes = [len(b.groups) for b in make_batches("job-1", incident(), names)]

    left = [1000 - sum(sizes[:i]) for i in range(len(sizes))]
    assert BATCH_GROUPS == sizes[0]
    assert sizes == sorted(sizes, reverse=True)
    assert all(
        n <= max(MIN_BATCH_GROUPS, -(-rest // TAPER)) for n, rest in zip(sizes, left, strict=True)
    )
    assert (1000, MIN_BATCH_GROUPS) == (sum(sizes), max(sizes[-3:]))


def test_batches_of_long_names_are_split_to_fit_a_queue_message() -> None:
    names = [f"{n:04d}" + "x" * 2000 for n in range(60)]
    batches = make_batches("job-1", incident(), names)
    sizes = [len(encode_batch(b).encode()) for b in batches]

    assert names == [n for b in batches for n in b.groups]
    assert max(sizes) <= MAX_MESSAGE_BYTES
    assert len(batches) > 3  # 3 batches of 20 names or more would be 40 KB each


def test_a_big_alert_touching_a_thousand_groups_is_queued_in_small_messages() -> None:
    """A 180 KB alert (65 services by 60 regions) touching 1,000 groups: every batch message
    fits a queue message once base64-encoded, and every group moves once."""
    rig = Rig(groups=1000)
    body = af.to_body(af.big_service_health())

    answer = rig.deliver(body)
    messages = list(rig.queue.messages)
    moved = rig.drain()

    largest = max(len(base64.b64encode(m.encode())) for m in messages)
    assert (180_000 < len(body), answer.outcome) == (True, "recorded")
    assert largest < 64 * 1024, f"largest message {largest} bytes once base64-encoded"
    assert Counter({"failed_over": 1000}) == moved
