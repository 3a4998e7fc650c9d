"""The readiness timer: probe every account once, record what each group learns, make the moves
that are due (a blocked failover, a probe-driven failover, an automatic failback), and keep the
table tidy. One group's trouble never stops the others."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from shared.app.accounts import AccountDirectory
from shared.app.errors import UnavailableError
from shared.app.notifications import TICK_WAIT_SECONDS, Notifications
from shared.app.parallel import Parallel
from shared.app.ports import StateStore
from shared.app.probes import ProbeBroker
from shared.app.telemetry import (
    DELIVERY,
    TICK_SPAN,
    NullTelemetry,
    Telemetry,
    describe,
    tick_report,
)
from shared.app.unit_of_work import GroupWriter
from shared.core.limits import UnstorableValueError
from shared.core.model import Group, ProbeResult, Timekeeping
from shared.core.state import Decision, GroupState, most_significant
from shared.core.tick import decide_tick

log = logging.getLogger(__name__)

TICK_PROBE_SECONDS = 60.0  # a tick waits for slow accounts much longer than an alert may
MAX_FORGOTTEN_PER_TICK = 200
# Audit lines of alerts that touched no group (other services, junk) are kept this long, and at
# most this many are deleted per tick: a flood of junk stays bounded.
UNMATCHED_RETENTION = timedelta(days=30)
MAX_UNMATCHED_FORGOTTEN_PER_TICK = 2000
UNAVAILABLE_GROUPS = "vi_failover.unavailable_groups"


class _GroupTick(NamedTuple):
    """One group's part of a tick: its outcome, decision and the state it was left in."""

    outcome: str
    decision: Decision | None = None
    state: GroupState | None = None  # None when the group could not be updated


class ReadinessTick:
    """Runs one readiness tick over every configured group."""

    def __init__(
        self,
        store: StateStore,
        directory: AccountDirectory,
        writer: GroupWriter,
        probes: ProbeBroker,
        parallel: Parallel,
        notifications: Notifications,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        timekeeping: Timekeeping,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._telemetry = telemetry or NullTelemetry()
        self._store = store
        self._directory = directory
        self._writer = writer
        self._probes = probes
        self._parallel = parallel
        self._notifications = notifications
        self._clock = clock
        self._new_id = new_id
        self._timekeeping = timekeeping

    def run(self) -> dict[str, str]:
        """Each group's outcome (for logs and the local host's manual trigger); never raises."""
        with self._telemetry.span(TICK_SPAN) as span:
            if not self._probes.enabled:
                log.info("readiness tick skipped: no prober configured")
                describe(span, "skipped", [])
                return {}
            groups = list(self._directory.config.groups)
            accounts = {a.resource_id.lower(): a for g in groups for a in g.accounts}
            results = self._probes.probe(list(accounts.values()), deadline=TICK_PROBE_SECONDS)
            delivery = self._new_id()
            span.set(DELIVERY, delivery)
            ticks = self._parallel.map(groups, lambda g: self._tick(g, results, delivery))
            self._forget_old_updates()
            decisions = [t.decision for t in ticks if t.decision]
            self._notifications.send_and_wait(decisions, TICK_WAIT_SECONDS)
            outcomes = {g.name: t.outcome for g, t in zip(groups, ticks, strict=True)}
            outcome = (
                most_significant([d.action for d in decisions]) if decisions else "unavailable"
            )
            describe(span, outcome if groups else "skipped", list(outcomes))
            span.set(UNAVAILABLE_GROUPS, sum(t.state is None for t in ticks))
            states = [t.state for t in ticks]
            self._telemetry.ticked(tick_report(groups, states, results, self._clock()))
            return outcomes

    def _tick(self, group: Group, results: dict[str, ProbeResult], delivery: str) -> _GroupTick:
        probes = {a.name: results[a.resource_id.lower()] for a in group.accounts}
        clock = self._timekeeping
        seen: list[GroupState] = []  # the state decided on last: the group's when unchanged

        def choose(state: GroupState, now: datetime) -> Decision:
            seen.append(state)
            return decide_tick(resolved, state, probes, now, delivery, clock)

        try:
            resolved = self._directory.resolved(group)
            decision = self._writer.apply(resolved, delivery, choose)
        except (UnavailableError, UnstorableValueError) as exc:
            log.warning("readiness tick: group %s not updated: %s", group.name, exc)
            return _GroupTick(f"unavailable: {exc}")
        if decision.action != "recorded":
            log.info(
                "readiness tick → group %s: %s: %s", group.name, decision.action, decision.reason
            )
        return _GroupTick(decision.action, decision, decision.new_state or seen[-1])

    def _forget_old_updates(self) -> None:
        """Incidents' newest updates kept past the retention, and audit lines of alerts that
        matched no group older than UNMATCHED_RETENTION, are deleted, a few per tick."""
        before = self._clock() - self._timekeeping.retention
        try:
            forgotten = self._store.forget_newest(before, MAX_FORGOTTEN_PER_TICK)
        except UnavailableError as exc:
            log.warning("readiness tick: old incident updates not forgotten: %s", exc)
            return
        if forgotten:
            log.info(
                "forgot the newest update of %d incident(s), kept before %s", forgotten, before
            )
        unmatched_before = self._clock() - UNMATCHED_RETENTION
        try:
            forgotten = self._store.forget_unmatched(
                unmatched_before, MAX_UNMATCHED_FORGOTTEN_PER_TICK
            )
        except UnavailableError as exc:
            log.warning("readiness tick: old audit lines of unmatched alerts kept: %s", exc)
            return
        if forgotten:
            log.info(
                "forgot %d audit line(s) of alerts that matched no group, written before %s",
                forgotten,
                unmatched_before,
            )
