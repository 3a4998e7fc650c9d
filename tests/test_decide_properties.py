"""Hypothesis tests of the product's promises, on the pure core.

Promises: exactly one active account per group, never a move into an impacted account, a
duplicate delivery changes nothing, and an older update never undoes a newer one. Which
re-orderings end in the same state as the ordered stream is stated precisely:

* any order of any deliveries yields the same incident ledger (latest update per incident);
* re-deliveries at any later point, and swaps of updates of one incident within one phase
  (two Active updates; Resolved and RCA) that carry the same impact, yield the same full
  state as the ordered stream.

A move is a side effect, so the active account depends on the order in which incidents of
different accounts opened and closed, and on which of two differing updates came first: a
resolution seen before its activation never moves the group, and an Unavailable update seen
after a newer Degraded one is stale. That is by design (README, "Ordering and duplicates").
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from shared.core.decide import decide
from shared.core.model import Account, Group, Phase, Signal
from shared.core.state import GroupState
from tests.core import CENTRAL, EAST, T0, WEST, group, incident, resource_health, state

GROUP = group(EAST, WEST, CENTRAL)
REGIONS = {"East US": EAST, "West US": WEST, "Central US": CENTRAL}


@dataclass(frozen=True)
class Lifecycle:
    """The ordered updates of one incident."""

    updates: tuple[Signal, ...]


@st.composite
def lifecycles(draw: st.DrawFn, index: int) -> Lifecycle:
    """One incident (Service Health or Resource Health) with 1-4 ordered updates."""
    start = draw(st.integers(0, 120))
    if draw(st.booleans()):
        acct = draw(st.sampled_from([EAST, WEST, CENTRAL]))
        health = draw(st.sampled_from(["Unavailable", "Degraded"]))
        updates = [resource_health(acct, health, minutes=start, update=f"rh{index}-1")]
        if draw(st.booleans()):
            updates.append(
                resource_health(acct, "Available", minutes=start + 30, update=f"rh{index}-2")
            )
        return Lifecycle(tuple(updates))
    regions = tuple(draw(st.sets(st.sampled_from(sorted(REGIONS)), min_size=1, max_size=2)))
    kind = draw(st.sampled_from(["Incident", "Incident", "Maintenance"]))
    key = f"INC-{index}"
    phases = [Phase.ACTIVE] * draw(st.integers(1, 2))
    phases += draw(st.sampled_from([[], [Phase.RESOLVED], [Phase.RESOLVED, Phase.RCA]]))
    updates = [
        incident(
            key,
            tuple(sorted(regions)),
            phase=p,
            incident_type=kind,
            update=f"{index}-{n}",
            minutes=start + 10 * n,
        )
        for n, p in enumerate(phases)
    ]
    return Lifecycle(tuple(updates))


@st.composite
def scenarios(draw: st.DrawFn) -> list[Lifecycle]:
    """A handful of overlapping incidents."""
    count = draw(st.integers(1, 4))
    return [draw(lifecycles(i)) for i in range(count)]


def ordered(scenario: list[Lifecycle]) -> list[Signal]:
    """Every update once, in event-time order."""
    signals = [s for life in scenario for s in life.updates]
    return sorted(signals, key=lambda s: (s.event_time, int(s.phase), s.update_id))


def run(signals: list[Signal], grp: Group = GROUP) -> GroupState:
    """Deliver the signals in this order to a fresh group, checking the safety promises."""
    current = state(grp)
    for n, signal in enumerate(signals):
        now = T0 + timedelta(hours=12, seconds=n)
        decision = decide(signal, grp, current, now, f"d{n}")
        current = decision.new_state or current
        assert 1 == sum(a.name == current.active for a in grp.accounts)
        if decision.action == "failed_over":
            blocked = {a for i in current.incidents.values() if i.blocks_target for a in i.impacted}
            assert current.active not in blocked
    return current


def ledger(current: GroupState) -> dict[str, tuple[object, ...]]:
    """The order-independent part of a state: each incident's latest update."""
    return {
        k: (i.open, i.phase, i.update_id, i.event_time, i.impacted)
        for k, i in current.incidents.items()
    }


def essence(current: GroupState) -> tuple[object, ...]:
    """The state a reader can observe, without delivery-time stamps."""
    return (current.active, current.version, current.pinned, ledger(current))


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(scenarios(), st.randoms(use_true_random=False), st.integers(0, 6))
def test_any_delivery_order_yields_the_same_incident_ledger(
    scenario: list[Lifecycle], rnd: random.Random, extra: int
) -> None:
    """Shuffled deliveries with duplicates record the same latest update of every incident."""
    base = ordered(scenario)
    shuffled = base + [rnd.choice(base) for _ in range(extra)]
    rnd.shuffle(shuffled)

    assert ledger(run(base)) == ledger(run(shuffled))


@FAST
@given(scenarios(), st.randoms(use_true_random=False), st.integers(0, 8))
def test_redeliveries_and_same_phase_swaps_end_in_the_ordered_state(
    scenario: list[Lifecycle], rnd: random.Random, redeliveries: int
) -> None:
    """Late re-deliveries and swapped same-impact updates end exactly where the ordered run ends."""
    base = ordered(scenario)
    perturbed = list(base)
    for i in range(len(perturbed) - 1):
        a, b = perturbed[i], perturbed[i + 1]
        if _same_phase_class(a, b) and rnd.random() < 0.5:
            perturbed[i], perturbed[i + 1] = b, a
    for _ in range(redeliveries):
        pick = rnd.randrange(len(base))
        first = perturbed.index(base[pick])
        perturbed.insert(rnd.randint(first + 1, len(perturbed)), base[pick])

    assert essence(run(base)) == essence(run(perturbed))


def _same_phase_class(a: Signal, b: Signal) -> bool:
    """Same incident, same phase class, same impact: only their update ids and times differ."""
    closing = (Phase.RESOLVED, Phase.RCA)
    same_phase = (a.phase is b.phase is Phase.ACTIVE) or (a.phase in closing and b.phase in closing)
    same_impact = (a.services, a.health, a.incident_type) == (b.services, b.health, b.incident_type)
    return a.key == b.key and same_phase and same_impact


class DeliveryMachine(RuleBasedStateMachine):
    """Arbitrary deliveries and re-deliveries to one group; the promises hold after each."""

    def __init__(self) -> None:
        super().__init__()
        self.grp = GROUP
        self.current = state(self.grp)
        self.delivered: list[Signal] = []
        self.step = 0

    @rule(
        key=st.sampled_from(["A", "B", "C"]),
        regions=st.sets(st.sampled_from(sorted(REGIONS)), min_size=1, max_size=3),
        phase=st.sampled_from([Phase.ACTIVE, Phase.ACTIVE, Phase.RESOLVED, Phase.RCA]),
        minutes=st.integers(0, 600),
    )
    def deliver(self, key: str, regions: set[str], phase: Phase, minutes: int) -> None:
        """A new update of some incident arrives."""
        signal = incident(
            key,
            tuple(sorted(regions)),
            phase=phase,
            update=f"{key}{minutes}{phase}",
            minutes=minutes,
        )
        self._apply(signal)
        self.delivered.append(signal)

    @rule(
        acct=st.sampled_from([EAST, WEST, CENTRAL]),
        healthy=st.booleans(),
        minutes=st.integers(0, 600),
    )
    def resource_event(self, acct: Account, healthy: bool, minutes: int) -> None:
        """A Resource Health event for one account arrives."""
        health = "Available" if healthy else "Unavailable"
        signal = resource_health(acct, health, minutes=minutes, update=f"rh{minutes}{healthy}")
        self._apply(signal)
        self.delivered.append(signal)

    @precondition(lambda self: bool(self.delivered))
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """An earlier delivery arrives again: it changes nothing."""
        signal = data.draw(st.sampled_from(self.delivered))
        before = essence(self.current)

        action = self._apply(signal)

        assert "duplicate" == action
        assert before == essence(self.current)

    def _apply(self, signal: Signal) -> str:
        self.step += 1
        now = T0 + timedelta(hours=12, seconds=self.step)
        decision = decide(signal, self.grp, self.current, now, f"d{self.step}")
        if decision.action == "failed_over":
            assert decision.new_state is not None
            blocked = {
                a
                for i in decision.new_state.incidents.values()
                if i.blocks_target
                for a in i.impacted
            }
            assert decision.to_account not in blocked
        self.current = decision.new_state or self.current
        return decision.action

    @invariant()
    def exactly_one_active_account(self) -> None:
        """The group always has exactly one active account, and it is one of its own."""
        assert 1 == sum(a.name == self.current.active for a in self.grp.accounts)

    @invariant()
    def impacted_active_account_means_no_way_out(self) -> None:
        """If the active account is hit by a failover-worthy incident, every account is blocked
        or the group is where the rules put it (blocked)."""
        hit = any(
            i.triggers_failover and self.current.active in i.impacted
            for i in self.current.incidents.values()
        )
        if hit:
            free = [
                a.name
                for a in self.grp.accounts
                if a.name != self.current.active
                and not any(
                    i.blocks_target and a.name in i.impacted
                    for i in self.current.incidents.values()
                )
            ]
            assert free == []


DeliveryMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None
)
test_delivery_machine = DeliveryMachine.TestCase
