"""What a replay adds up to, per group, and where two policies part ways on one history. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.core.replay import ReplayRun, Step, Track

MOVES = ("failed_over", "failed_back")


@dataclass(frozen=True)
class GroupSummary:
    """A group's replay in numbers."""

    group: str
    active: str  # at the end of the replay
    failovers: int
    failbacks: int  # automatic: the readiness tick's
    minutes_on: dict[str, float]  # by account, in priority order
    minutes_blocked: float
    incidents: dict[str, str]  # key → status at the end

    @property
    def moves(self) -> int:
        """Failovers and failbacks."""
        return self.failovers + self.failbacks


@dataclass(frozen=True)
class Difference:
    """A moment where the two runs did different things (one side may have done nothing)."""

    time: datetime
    group: str
    source: str
    first: Step | None
    second: Step | None


def summarize(run: ReplayRun, group: str, accounts: Sequence[str]) -> GroupSummary:
    """The group's numbers over the whole replay, from its first item to `end`."""
    steps = [s for s in run.steps if s.group == group]
    minutes_on = dict.fromkeys(accounts, 0.0)
    blocked = 0.0
    track = run.tracks[group]
    for here, after in zip(track, [*track[1:], Track(run.end, "", False)], strict=True):
        minutes = _minutes(after.time - here.time)
        minutes_on[here.active] = minutes_on.get(here.active, 0.0) + minutes
        blocked += minutes if here.blocked else 0.0
    state = run.states[group]
    return GroupSummary(
        group=group,
        active=state.active,
        failovers=sum(1 for s in steps if s.action == "failed_over"),
        failbacks=sum(1 for s in steps if s.action == "failed_back"),
        minutes_on=minutes_on,
        minutes_blocked=blocked,
        incidents={k: i.status.value for k, i in sorted(state.incidents.items())},
    )


def differences(first: ReplayRun, second: ReplayRun) -> list[Difference]:
    """The decisions that differ between two runs of one history, in time order.

    Decisions on one delivery are paired by group; a tick's moves and readiness changes by
    group and time. A step that only one run has (a failback one policy made) is a difference.
    Readiness changes are left out: both runs see the same probes.
    """
    ours = _keyed(first.steps)
    theirs = _keyed(second.steps)
    found = []
    for key in sorted(ours.keys() | theirs.keys()):
        a, b = ours.get(key), theirs.get(key)
        if _same(a, b):
            continue
        time, group, source, _ = key
        found.append(Difference(time, group, source, a, b))
    return found


def _keyed(steps: Sequence[Step]) -> dict[tuple[datetime, str, str, str], Step]:
    keyed = {}
    for step in steps:
        if step.action == "readiness":
            continue  # both runs probe alike; only where the group is differs
        keyed[(step.time, step.group, step.source, "")] = step
    return keyed


def _same(a: Step | None, b: Step | None) -> bool:
    """The same decision, wherever the group was: the same action, and a move to the same place."""
    if a is None or b is None:
        return False
    return a.action == b.action and (a.action not in MOVES or a.to_account == b.to_account)


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60
