"""One unit of work on one group, used by every use case: load → decide → conditional save →
bounded retry.

A group that was never written starts from its initial state and is created by the same
conditional write (insert if absent): no request writes every group. A group whose stored
active account is no longer configured is moved back to its primary first, audited and
notified; a change of the group's `policy.mode` is audited the same way (it moves nothing).
When another writer got there first, the state is read and decided again, a bounded number of
times; each write is stamped with its delivery, so a conflict caused by our own write (its
reply lost, the request resent) is recognised and not decided twice.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from shared.app.errors import ConflictError, WriteConflictError
from shared.app.ports import StateStore
from shared.app.telemetry import MOVES, NullTelemetry, Telemetry
from shared.core.drift import after_realigning, realigned
from shared.core.failover import initial_state
from shared.core.model import Group
from shared.core.shadow import kept_apart, mode_switched
from shared.core.state import Decision, GroupState

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CONFLICT_BACKOFF_SECONDS = 0.01  # doubled after each lost write, jittered, at most 0.5 s
MAX_BACKOFF_SECONDS = 0.5

Choose = Callable[[GroupState, datetime], Decision]


class GroupWriter:
    """Applies decisions to groups' stored state, one conditional write each."""

    def __init__(
        self,
        store: StateStore,
        clock: Callable[[], datetime],
        *,
        sleep: Callable[[float], None] = time.sleep,
        # Told of each change the configuration made: a realignment, a change of mode.
        on_realigned: Callable[[Decision], object] = lambda _: None,
        max_attempts: int = MAX_ATTEMPTS,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._telemetry = telemetry or NullTelemetry()
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._on_realigned = on_realigned
        self._max_attempts = max_attempts

    def apply(self, group: Group, delivery: str, choose: Choose) -> Decision:
        """Decide on the stored state (or the initial one) and save the result conditionally.

        `choose` may be called more than once (after a conflict): it must not have effects of
        its own beyond what it returns."""
        pending: Decision | None = None  # our decision whose save hit a conflict
        for attempt in range(1, self._max_attempts + 1):
            previous = self._store.load_group(group.name)
            if pending is not None and previous is not None and previous.last_delivery == delivery:
                log.info("group %s: our write landed though its reply was lost", group.name)
                return pending
            now = self._clock()
            start = previous or initial_state(group, now)
            realign = realigned(group, start, now, delivery)
            aligned = realign.new_state if realign and realign.new_state else start
            switch = mode_switched(group, aligned, now, delivery)
            decision = choose(switch.new_state if switch and switch.new_state else aligned, now)
            decision = after_realigning(realign, after_realigning(switch, decision))
            if decision.new_state is None:
                if decision.audit:
                    self._store.append_audit(decision.audit)
                return decision
            stamped = replace(kept_apart(start, decision.new_state, now), last_delivery=delivery)
            try:
                saved = self._store.save(group, previous, stamped, decision.audit)
            except ConflictError:
                pending = decision
                log.info(
                    "group %s changed under us (attempt %d); deciding again", group.name, attempt
                )
                # Jitter keeps writers racing on one hot group from colliding again in step.
                backoff = min(MAX_BACKOFF_SECONDS, CONFLICT_BACKOFF_SECONDS * 2**attempt)
                self._sleep(random.uniform(0, backoff))  # noqa: S311  not crypto
                continue
            for change in (realign, switch):
                if change is not None:
                    log.warning("group %s: %s", group.name, change.reason)
                    self._on_realigned(change)
            if saved.active != start.active:
                self._telemetry.moved(decision.action if decision.action in MOVES else "realigned")
            return replace(decision, new_state=saved)
        raise WriteConflictError(
            f"group {group.name}: its state kept changing; gave up after {self._max_attempts} "
            "attempts"
        )

    def read(self, group: Group) -> GroupState:
        """The group's stored state, or its initial state when it was never written."""
        state = self._store.load_group(group.name)
        return state if state is not None else initial_state(group, self._clock())
