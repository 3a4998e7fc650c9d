"""Replay: a history of alert deliveries run through the decision core on a simulated clock.

Pure, like the rest of the core: no storage, no network, no wall clock. It does what the app's
shell does with the same core functions: parse each delivery, keep each incident's newest
update, decide for every group the update names or tracks (answering the probes a decision
asks for from the readiness windows), and between deliveries run the readiness tick every
`tick`, so blocked failovers complete and automatic failbacks happen as in the app. Accounts
without a readiness window probe healthy, as the local stack's stand-in does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.core.alerts import parse_alert
from shared.core.decide import concerns, decide
from shared.core.failover import initial_state
from shared.core.jsontext import InvalidAlertError
from shared.core.lifecycle import (
    is_closing,
)
from shared.core.model import (
    Config,
    Group,
    NotOurs,
    ProbeResult,
    ReadinessStatus,
    Signal,
    SignalKind,
    Timekeeping,
)
from shared.core.newest import is_watched, kept_newest, watched_names
from shared.core.preflight import Preflight
from shared.core.replay_input import Delivery, ReadinessWindow, ReplayInputError, in_order
from shared.core.state import Decision, GroupState, KnownUpdate
from shared.core.tick import decide_tick

DEFAULT_TICK = timedelta(minutes=5)  # READINESS_SCHEDULE's default, 0 */5 * * * *
DEFAULT_TAIL = timedelta(hours=4)
HEALTHY_EVIDENCE = "replay: no readiness event covers it, taken as healthy"


@dataclass(frozen=True)
class Step:
    """One line of a group's timeline: a decision on a delivery, or what a tick did."""

    time: datetime
    group: str  # "" for a delivery that touched no group
    source: str  # the delivery's source, or "tick"
    signal: str  # e.g. "ServiceHealth VT0X-1AB Incident (active)"; "" for ticks
    action: str
    from_account: str
    to_account: str
    reason: str


@dataclass(frozen=True)
class Track:
    """Where a group was from `time` on: its active account, and whether a failover was blocked."""

    time: datetime
    active: str
    blocked: bool


@dataclass(frozen=True)
class ReplayRun:
    """Everything a replay saw: the steps in time order, each group's end state and tracks."""

    start: datetime
    end: datetime
    steps: tuple[Step, ...]
    states: dict[str, GroupState]
    tracks: dict[str, tuple[Track, ...]]


def as_active(config: Config) -> Config:
    """Every group in active mode: replayed, a group in shadow mode shows the moves it would
    have made (`failed_over`, …) and its summary counts them, rather than `would_…` lines."""
    return Config(
        groups=tuple(replace(g, policy=replace(g.policy, mode="active")) for g in config.groups)
    )


def replay(
    config: Config,
    deliveries: Sequence[Delivery],
    readiness: Sequence[ReadinessWindow] = (),
    *,
    tick: timedelta = DEFAULT_TICK,
    tail: timedelta = DEFAULT_TAIL,
    clock: Timekeeping = Timekeeping(),  # noqa: B008  frozen, so safe as a default
) -> ReplayRun:
    """Run the deliveries, in the order they were received, and ticks until `tail` after the
    last one. ReplayInputError when an account has no location (replay cannot ask ARM)."""
    for group in config.groups:
        missing = [a.name for a in group.accounts if not a.location]
        if missing:
            raise ReplayInputError(
                f"group {group.name}: account {missing[0]} has no location; replay cannot read "
                "it from ARM, so give every account its location"
            )
    # Replay shows what the policy does; shadow mode only keeps production's flag from moving.
    config = as_active(config)
    ordered = in_order(deliveries)
    ends = [w.end for w in readiness if w.end is not None]
    times = [d.received for d in ordered] + [w.start for w in readiness] + ends
    if not times:
        raise ReplayInputError("the history holds no alert and no readiness event")
    start = min(times)
    end = max(times) + tail
    sim = _Simulation(config, readiness, clock, start)
    due = _first_tick_after(start, tick)
    for n, delivery in enumerate(ordered, start=1):
        while due <= delivery.received:
            sim.tick(due, f"tick-{due:%Y%m%dT%H%M%S}")
            due += tick
        sim.deliver(delivery, f"replay-{n}")
    while due <= end:
        sim.tick(due, f"tick-{due:%Y%m%dT%H%M%S}")
        due += tick
    tracks = {name: tuple(t) for name, t in sim.tracks.items()}
    return ReplayRun(start, end, tuple(sim.steps), dict(sim.states), tracks)


def _first_tick_after(start: datetime, tick: timedelta) -> datetime:
    """Ticks fall on whole multiples of `tick` within the day, as an NCRONTAB schedule does."""
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((start - midnight) // tick + 1) * tick


class _Simulation:
    """The app's shell, in memory: state per group, newest update per incident, steps."""

    def __init__(
        self,
        config: Config,
        readiness: Sequence[ReadinessWindow],
        clock: Timekeeping,
        start: datetime,
    ) -> None:
        self.config = config
        self.readiness = readiness
        self.clock = clock
        self.states = {g.name: initial_state(g, start) for g in config.groups}
        self.tracks = {g.name: [Track(start, g.accounts[0].name, False)] for g in config.groups}
        self.newest: dict[str, KnownUpdate] = {}
        self.steps: list[Step] = []
        self.service_names = watched_names(config)

    def probe(self, account: str, now: datetime) -> ProbeResult:
        """What a probe of the account at `now` finds: the window covering it, else healthy."""
        for w in self.readiness:
            if w.account == account and w.start <= now and (w.end is None or now < w.end):
                return ProbeResult(w.status, w.evidence, now)
        return ProbeResult(ReadinessStatus.HEALTHY, HEALTHY_EVIDENCE, now)

    def tick(self, now: datetime, delivery: str) -> None:
        forget = now - self.clock.retention  # as the app's timer forgets old newest updates
        self.newest = {k: u for k, u in self.newest.items() if u.remembered_at >= forget}
        for group in self.config.groups:
            probes = {a.name: self.probe(a.name, now) for a in group.accounts}
            state = self.states[group.name]
            decision = decide_tick(group, state, probes, now, delivery, self.clock)
            self._save(group, decision, now)
            for record in decision.audit:
                self.steps.append(
                    Step(
                        now,
                        group.name,
                        "tick",
                        "",
                        record.action,
                        record.from_account,
                        record.to_account,
                        record.reason,
                    )
                )

    def deliver(self, delivery: Delivery, delivery_id: str) -> None:
        now = delivery.received
        try:
            parsed = parse_alert(delivery.payload)
        except InvalidAlertError as exc:  # the app answers 400 and writes nothing
            self._unmatched(delivery, "", "invalid", f"not an alert: {exc}")
            return
        if isinstance(parsed, NotOurs):
            self._unmatched(delivery, parsed.alert_kind, "ignored", parsed.reason)
            return
        newest = self._remember(parsed, now)
        touched = [g for g in self.config.groups if concerns(parsed, g, self.states[g.name])]
        what = describe(parsed)
        for group in touched:
            decision = self._decide(parsed, group, now, delivery_id, newest)
            self._save(group, decision, now)
            self.steps.append(
                Step(
                    now,
                    group.name,
                    delivery.source,
                    what,
                    decision.action,
                    decision.from_account,
                    decision.to_account,
                    decision.reason,
                )
            )
        if not touched:
            action, reason = "ignored", "names no configured group"
            if parsed.synthetic:
                reason = "synthetic test alert that names no configured account"
            elif is_watched(parsed, self.service_names) and is_closing(parsed):
                # As the app does: kept as the incident's newest update, so that a late
                # activation of it moves nothing.
                action, reason = "recorded", "names no configured group; kept as the newest update"
            self._unmatched(delivery, what, action, reason)

    def _decide(
        self, signal: Signal, group: Group, now: datetime, delivery: str, newest: KnownUpdate | None
    ) -> Decision:
        """The core's decision, answering the probes it asks for, as the app's shell does."""
        probes: dict[str, ProbeResult] = {}
        while True:
            preflight = Preflight(dict(probes), frozenset(probes))
            state = self.states[group.name]
            decision = decide(
                signal, group, state, now, delivery, newest=newest, clock=self.clock,
                preflight=preflight,
            )  # fmt: skip
            if not decision.needs:
                return decision
            probes |= {name: self.probe(name, now) for name in decision.needs}

    def _remember(self, signal: Signal, now: datetime) -> KnownUpdate | None:
        """The newest update seen of the incident before this one; keeps this one if newer."""
        if signal.kind is not SignalKind.SERVICE_HEALTH:
            return None
        before = self.newest.get(signal.key)
        if not is_watched(signal, self.service_names):
            return before
        kept = kept_newest(signal, before, now, self.clock, self.service_names)
        if kept is not None:
            self.newest[signal.key] = kept
        return before

    def _save(self, group: Group, decision: Decision, now: datetime) -> None:
        if decision.new_state is None:
            return
        self.states[group.name] = decision.new_state
        track = self.tracks[group.name]
        blocked = decision.new_state.blocked_since is not None
        if (track[-1].active, track[-1].blocked) != (decision.new_state.active, blocked):
            track.append(Track(now, decision.new_state.active, blocked))

    def _unmatched(self, delivery: Delivery, what: str, action: str, reason: str) -> None:
        self.steps.append(
            Step(delivery.received, "", delivery.source, what, action, "", "", reason)
        )


def describe(signal: Signal) -> str:
    """A signal in a few words, for a timeline."""
    kind = signal.health if signal.kind is SignalKind.RESOURCE_HEALTH else signal.incident_type
    key = signal.key.rsplit("/", 1)[-1] if signal.kind is SignalKind.RESOURCE_HEALTH else signal.key
    phase = signal.phase.name.lower()
    test = " [test]" if signal.synthetic else ""
    return f"{signal.kind.value} {key} {kind or signal.status} ({phase}){test}"
