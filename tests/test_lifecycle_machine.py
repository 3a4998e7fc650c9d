"""A Hypothesis state machine over the controller (in-memory store, fake clock and prober):
webhook bodies as Azure sends them, a clock that jumps by seconds or by years, and updates
that arrive late, early, twice, from the future, without regions, or out of range.

Invariants after every step: every delivery is answered (out-of-range times are the only
rejections, and they change nothing), each group has exactly one active account, no move
goes into an account an open incident holds, a re-delivery within the retention changes
nothing, no automatic failback comes before the primary has been free of impact for
`failbackStableMinutes` by the controller's clock, and every move has its audit line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from shared.adapters.memory_store import InMemoryStateStore
from shared.app.controller import Controller
from shared.core.alerts import InvalidAlertError
from shared.core.lifecycle import held
from shared.core.manual import ManualRequest, UnknownAccountError, UnsafeTargetError
from shared.core.model import Account, Config, ProbeResult, ReadinessStatus
from shared.core.state import ACTION_ORDER, GroupState
from tests import alertfactory as af
from tests.core import CENTRAL, EAST, T0, WEST, group

STABLE_MINUTES = 30
AUTO = group(
    EAST,
    WEST,
    CENTRAL,
    name="auto",
    failback="auto",
    failback_stable_minutes=STABLE_MINUTES,
    min_dwell_minutes=0,
    max_auto_moves_per_day=1000,
)
MANUAL = group(WEST, EAST, name="manual")
CONFIG = Config(groups=(AUTO, MANUAL))
ACCOUNTS = (EAST, WEST, CENTRAL)
REGIONS = {"East US": EAST, "West US": WEST, "Central US": CENTRAL}
RETENTION = timedelta(days=60)
# Deliveries of one incident start a new era when its last era began this long ago: within an
# era nothing of the incident can have been forgotten.
WINDOW = RETENTION - timedelta(days=1)
SKEW = timedelta(minutes=15)
FOREVER = datetime.max.replace(tzinfo=UTC)
_PHASES = {"Planned": 0, "Active": 1, "Resolved": 2, "RCA": 3}
MOVES = {"failed_over", "failed_back", "moved"}

SECONDS = st.integers(1, 59).map(lambda n: timedelta(seconds=n))
MINUTES = st.integers(1, 90).map(lambda n: timedelta(minutes=n))
DAYS = st.integers(1, 90).map(lambda n: timedelta(days=n))
YEARS = st.integers(1, 3).map(lambda n: timedelta(days=365 * n))
STEPS = st.one_of(SECONDS, SECONDS, MINUTES, MINUTES, DAYS, YEARS)
# Event time relative to the controller's clock: mostly a little behind, sometimes far behind,
# sometimes just within the skew bound, sometimes far in the future.
OFFSETS = st.one_of(
    st.integers(-600, 0).map(lambda n: timedelta(seconds=n)),
    st.integers(-600, 0).map(lambda n: timedelta(seconds=n)),
    st.integers(-400, -1).map(lambda n: timedelta(days=n)),
    st.integers(1, 14).map(lambda n: timedelta(minutes=n)),
    st.integers(1, 3000).map(lambda n: timedelta(days=n)),
)
OUT_OF_RANGE = ("1600-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00")


class Clock:
    """The controller's clock; the machine moves it."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Prober:
    """Readiness by account name, as the machine sets it; checked now."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.status = {a.name: ReadinessStatus.HEALTHY for a in ACCOUNTS}

    def probe(self, account: Account) -> ProbeResult:
        return ProbeResult(self.status[account.name], "scripted", self.clock())


@dataclass(frozen=True)
class Sent:
    """A delivered body, the incident it belongs to, and when that incident's history began."""

    body: bytes
    key: str
    era: datetime


class LifecycleMachine(RuleBasedStateMachine):
    """Deliveries, re-deliveries, clock jumps, probes, ticks and operator moves."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.prober = Prober(self.clock)
        self.store = InMemoryStateStore()
        ids = count(1)
        self.controller = Controller(
            CONFIG, self.store, self.clock, lambda: f"d{next(ids)}", prober=self.prober
        )
        self.sent: list[Sent] = []
        self.era: dict[str, datetime] = {}  # first delivery of each incident key, this era
        self.names: dict[str, str] = {}  # Service Health base key → tracking id in use
        # The oracle, kept apart from the controller: each incident's newest update (by the
        # documented order) and which accounts it impairs (`holding`) or forbids (`blocking`).
        self.newest: dict[str, tuple[datetime, int, str]] = {}
        self.holding: dict[str, frozenset[str]] = {}
        self.blocking: dict[str, frozenset[str]] = {}
        self.free_since: dict[str, datetime] = {}  # per (group, account): impact last ended
        self.updates = count(1)
        self.states = self._states()
        self._observe()

    # -- rules -------------------------------------------------------------------------------

    @rule(step=STEPS)
    def time_passes(self, step: timedelta) -> None:
        """The controller's clock moves on, by seconds or by years."""
        self.clock.now += step

    @rule(
        key=st.sampled_from(["INC-A", "INC-B", "INC-C"]),
        regions=st.lists(st.sampled_from(sorted(REGIONS)), max_size=3, unique=True),
        stage=st.sampled_from(["Active", "Active", "Planned", "Resolved", "Resolved", "RCA"]),
        incident_type=st.sampled_from(["Incident", "Incident", "Maintenance"]),
        offset=OFFSETS,
        services=st.booleans(),
    )
    def service_health(
        self,
        key: str,
        regions: list[str],
        stage: str,
        incident_type: str,
        offset: timedelta,
        services: bool,
    ) -> None:
        """A Service Health update: any phase, any regions (or none, or no services at all)."""
        listed = (("Azure AI Video Indexer", tuple(regions)),) if services else ()
        tracking_id = self._tracking_id(key)
        update = f"{tracking_id}-{next(self.updates)}"
        when = self._when(offset)
        payload = af.service_health(
            tracking_id=tracking_id,
            stage=stage,
            incident_type=incident_type,
            services=listed,
            communication_id=update,
            event_time=_stamp(when),
        )
        named = frozenset(REGIONS[r].name for r in regions) if services else frozenset()
        hit = named if stage == "Active" and incident_type == "Incident" else frozenset()
        self._deliver(af.to_body(payload), tracking_id, (when, _PHASES[stage], update), hit, hit)

    @rule(
        account=st.sampled_from(ACCOUNTS),
        health=st.sampled_from(["Available", "Unavailable", "Degraded", "Unknown"]),
        offset=OFFSETS,
    )
    def resource_health(self, account: Account, health: str, offset: timedelta) -> None:
        """A Resource Health update walking the account through any of its four states."""
        key = account.resource_id.lower()
        update = f"rh-{next(self.updates)}"
        when = self._when(offset)
        era = self.era.get(key)
        if key in self.newest and (era is None or self.clock.now - era >= WINDOW):
            # A new era of this account's history begins newer than anything kept of the
            # last one, which may or may not have been forgotten yet.
            when = max(when, self.newest[key][0] + timedelta(seconds=1))
        phase = 2 if health == "Available" else 1
        payload = af.resource_health(
            resource_id=account.resource_id,
            current=health,
            event_data_id=update,
            event_time=_stamp(when),
        )
        impaired = frozenset() if health == "Available" else frozenset({account.name})
        blocks = impaired if health in ("Unavailable", "Degraded") else frozenset()
        self._deliver(af.to_body(payload), key, (when, phase, update), impaired, blocks)

    @rule(stamp=st.sampled_from(OUT_OF_RANGE), resource=st.booleans())
    def out_of_range(self, stamp: str, resource: bool) -> None:
        """A time Table Storage cannot hold is rejected, naming the field, and changes nothing."""
        payload = (
            af.resource_health(resource_id=EAST.resource_id, event_time=stamp)
            if resource
            else af.service_health(tracking_id="INC-A", event_time=stamp)
        )
        before = self._states()

        with pytest.raises(InvalidAlertError, match="outside the times Table Storage can hold"):
            self.controller.handle_alert(af.to_body(payload))

        assert before == self._states()

    @precondition(lambda self: bool(self._redeliverable()))
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        """An earlier delivery arrives again, at any later time within the retention."""
        sent = data.draw(st.sampled_from(self._redeliverable()))
        before = self._states()

        result = self.controller.handle_alert(sent.body)

        assert result.outcome in {"duplicate", "ignored", "recorded", "failed_over"}
        self._check_moves(before)
        if result.outcome in {"duplicate", "ignored"}:
            assert _essence(before) == _essence(self._states())
        self._observe()

    @rule(account=st.sampled_from(ACCOUNTS), ready=st.booleans())
    def probes_change(self, account: Account, ready: bool) -> None:
        """An account starts or stops passing its probes."""
        status = ReadinessStatus.HEALTHY if ready else ReadinessStatus.UNREACHABLE
        self.prober.status[account.name] = status

    @rule()
    def readiness_tick(self) -> None:
        """The timer probes every account and makes any due move (failback included)."""
        before = self._states()

        self.controller.readiness_tick()

        self._check_moves(before)
        self._observe()

    @rule(target_account=st.sampled_from(ACCOUNTS), grp=st.sampled_from(CONFIG.groups))
    def operator_moves(self, target_account: Account, grp: object) -> None:
        """An operator moves a group without force: refused into impacted or unproven accounts."""
        name = grp.name  # type: ignore[attr-defined]
        request = ManualRequest(group=name, reason="drill", actor="oncall", to=target_account.name)
        before = self._states()
        try:
            self.controller.manual(request)
        except (UnknownAccountError, UnsafeTargetError):
            assert before == self._states()
        self._check_moves(before)
        self._observe()

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def groups_hold_the_newest_update_of_each_incident(self) -> None:
        """A group that knows an incident knows it as of its newest update, by payload order
        (or arrival, for an update from beyond the skew bound), whatever the delivery order."""
        for grp in CONFIG.groups:
            for key, incident in self.states[grp.name].incidents.items():
                era = self.era.get(key)
                if era is None or self.clock.now - era >= WINDOW:
                    continue  # the incident's records may have been forgotten since
                assert self.newest[key][2] == incident.update_id, (grp.name, key)

    @invariant()
    def impact_is_what_the_newest_updates_say(self) -> None:
        """The accounts the controller counts as impacted are exactly those the newest update
        of some incident impairs: Resource Health Unknown included, until it reports
        Available; a dropped region or a resolution ends it."""
        for grp in CONFIG.groups:
            expected = self._held(grp.accounts)
            assert expected == held(self.states[grp.name].incidents), grp.name

    @invariant()
    def exactly_one_active_account(self) -> None:
        """Every group has exactly one active account, and it is one of its own."""
        for grp in CONFIG.groups:
            active = self.states[grp.name].active
            assert 1 == sum(a.name == active for a in grp.accounts)

    # -- helpers -----------------------------------------------------------------------------

    def _when(self, offset: timedelta) -> datetime:
        """A payload event time `offset` from the clock, kept within Table Storage's range."""
        moment = self.clock.now + offset
        return moment if 1602 <= moment.year < 9999 else self.clock.now

    def _tracking_id(self, base: str) -> str:
        """The incident's tracking id: a new incident once the last one's window is over."""
        name = self.names.get(base)
        era = self.era.get(name) if name else None
        if name is None or era is None or self.clock.now - era >= WINDOW:
            name = self.names[base] = f"{base}-{next(self.updates)}"
        return name

    def _deliver(
        self,
        body: bytes,
        key: str,
        order: tuple[datetime, int, str],
        holding: frozenset[str],
        blocking: frozenset[str],
    ) -> None:
        before = self._states()

        result = self.controller.handle_alert(body)

        assert result.outcome in ACTION_ORDER
        era = self.era.get(key)
        if era is None or self.clock.now - era >= WINDOW:
            era = self.era[key] = self.clock.now
        self.sent.append(Sent(body, key, era))
        when, phase, update = order
        # The product's rule, stated once more: a time beyond the skew bound is ordered at
        # its arrival.
        ordered = (when if when - self.clock.now <= SKEW else self.clock.now, phase, update)
        if key not in self.newest or ordered > self.newest[key]:
            self.newest[key] = ordered
            self.holding[key] = holding
            self.blocking[key] = blocking
        self._check_moves(before)
        self._observe()

    def _redeliverable(self) -> list[Sent]:
        """Bodies whose incident's records cannot have been forgotten yet: every record of an
        incident is written at or after the first delivery of its era."""
        margin = RETENTION - timedelta(days=1)
        return [
            s for s in self.sent if self.era.get(s.key) == s.era and self.clock.now - s.era < margin
        ]

    def _states(self) -> dict[str, GroupState]:
        return {g.name: self.controller.state(g) for g in CONFIG.groups}

    def _check_moves(self, before: dict[str, GroupState]) -> None:
        """Each move went into an account nothing holds, an automatic failback only after the
        stable window, and each has its audit line."""
        after = self._states()
        for grp in CONFIG.groups:
            old, new = before[grp.name], after[grp.name]
            if old.active == new.active:
                continue
            history = self.controller.history(grp.name, 1000)
            blocking = {n for names in self.blocking.values() for n in names}
            lines = [
                r
                for r in history
                if r.group == grp.name and r.version == new.version and r.action in MOVES
            ]
            assert lines, f"{grp.name}: move to {new.active} v{new.version} has no audit line"
            (line,) = lines
            assert new.active == line.to_account
            if line.action != "moved":  # an operator's forced move may go anywhere
                assert new.active not in blocking, f"{grp.name}: moved into {new.active}"
            if line.action == "failed_back":
                assert new.active not in self._held(grp.accounts)
                freed = self.free_since.get(f"{grp.name}/{new.active}")
                if freed is not None:
                    waited = self.clock.now - freed
                    assert waited >= timedelta(minutes=STABLE_MINUTES), (grp.name, waited)

    def _observe(self) -> None:
        """Note, on the machine's own reading of the clock, when each account's impact ends."""
        for grp in CONFIG.groups:
            for account in grp.accounts:
                slot = f"{grp.name}/{account.name}"
                if account.name in self._held(grp.accounts):
                    self.free_since[slot] = FOREVER  # impact has not ended yet
                elif self.free_since.get(slot) == FOREVER:
                    self.free_since[slot] = self.clock.now
        self.states = self._states()

    def _held(self, accounts: tuple[Account, ...]) -> frozenset[str]:
        names = {a.name for a in accounts}
        return frozenset(n for hit in self.holding.values() for n in hit if n in names)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _essence(states: dict[str, GroupState]) -> dict[str, tuple[object, ...]]:
    """What a re-delivery must not change: where each group is and what it knows."""
    return {
        name: (
            s.active,
            s.version,
            s.pinned,
            {k: (i.status, i.update_id, i.event_time, i.impacted) for k, i in s.incidents.items()},
        )
        for name, s in states.items()
    }


# VI_FAILOVER_DEEP=1 runs twenty times as many examples (for a change to the lifecycle).
LifecycleMachine.TestCase.settings = settings(
    max_examples=3000 if os.environ.get("VI_FAILOVER_DEEP") else 400,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_lifecycle_machine = LifecycleMachine.TestCase
