"""The telemetry port: a span around each alert, fan-out batch and readiness tick, and the
figures an SRE watches (alerts by outcome, moves, blocked and secondary groups, probes, the last
tick, the fan-out backlog). The use cases report through it and never learn where it goes:
`NullTelemetry`, the default, drops everything, and the OpenTelemetry adapter
(`shared.adapters.telemetry`) exports to Application Insights."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.core.model import Group, ProbeResult
from shared.core.state import GroupState

Attribute = str | int | float | bool | Sequence[str]

# The three spans; each is one row of AppDependencies in Application Insights.
ALERT_SPAN = "vi-failover alert"
BATCH_SPAN = "vi-failover fanout batch"
TICK_SPAN = "vi-failover readiness tick"
# Span attribute names, shared by the three spans.
OUTCOME = "vi_failover.outcome"
GROUPS = "vi_failover.groups"
GROUP_NAMES = "vi_failover.group_names"
TRACKING_ID = "vi_failover.tracking_id"
DELIVERY = "vi_failover.delivery"
NAMES_ON_A_SPAN = 20  # a span names a few groups; the count says how many there were

# Group actions that change the active account, counted as moves of that kind.
MOVES = frozenset({"failed_over", "failed_back", "moved"})


class Span(Protocol):
    """The span of one unit of work: attributes describe what it did."""

    def set(self, key: str, value: Attribute) -> None:
        """Set one attribute."""
        ...


@dataclass(frozen=True)
class AccountReadiness:
    """One account as a tick saw it."""

    ready: bool  # its probe found it ready
    active_groups: int  # groups it is the active account of (0: a standby everywhere)


@dataclass(frozen=True)
class TickReport:
    """What one readiness tick found across the groups."""

    blocked: int  # groups whose wanted failover has nowhere to go
    blocked_longest_seconds: float  # of the group blocked longest; 0 with none blocked
    secondary: int  # groups whose active account is not their primary
    accounts: Mapping[str, AccountReadiness] = field(default_factory=dict)  # by account name


class Telemetry(Protocol):
    """Where the use cases report spans and figures."""

    def span(self, name: str) -> AbstractContextManager[Span]:
        """A span around the work of the `with` block (an error ends it as failed)."""
        ...

    def alert(self, outcome: str) -> None:
        """One alert delivery was answered with this outcome."""
        ...

    def moved(self, kind: str) -> None:
        """A group's active account changed (`failed_over`, `failed_back`, `moved`, ...)."""
        ...

    def probed(self, account: str, status: str, seconds: float) -> None:
        """A readiness probe of this account ended with this status."""
        ...

    def ticked(self, report: TickReport) -> None:
        """A readiness tick ended (its time is the tick's age from now on)."""
        ...

    def watch_backlog(self, read: Callable[[], int]) -> None:
        """Read the fan-out backlog (messages waiting) with `read` when figures are collected."""
        ...


class _NullSpan:
    def set(self, key: str, value: Attribute) -> None:
        """Dropped."""


class NullTelemetry:
    """Telemetry off: nothing is recorded, nothing is imported."""

    @contextmanager
    def _span(self) -> Iterator[Span]:
        yield _NullSpan()

    def span(self, name: str) -> AbstractContextManager[Span]:
        """A span that records nothing."""
        return self._span()

    def alert(self, outcome: str) -> None:
        """Dropped."""

    def moved(self, kind: str) -> None:
        """Dropped."""

    def probed(self, account: str, status: str, seconds: float) -> None:
        """Dropped."""

    def ticked(self, report: TickReport) -> None:
        """Dropped."""

    def watch_backlog(self, read: Callable[[], int]) -> None:
        """Dropped."""


def describe(
    span: Span,
    outcome: str,
    groups: Sequence[str],
    tracking_id: str = "",
    *,
    count: int | None = None,
) -> None:
    """Set the attributes every span carries: outcome, groups touched (`count` of them when
    the names are not all at hand), tracking id."""
    span.set(OUTCOME, outcome)
    span.set(GROUPS, len(groups) if count is None else count)
    if groups:
        span.set(GROUP_NAMES, sorted(groups)[:NAMES_ON_A_SPAN])
    if tracking_id:
        span.set(TRACKING_ID, tracking_id)


def tick_report(
    groups: Sequence[Group],
    states: Sequence[GroupState | None],
    probes: Mapping[str, ProbeResult],
    now: datetime,
) -> TickReport:
    """The figures of a tick: `states` are the groups' states after it (None for a group it
    could not update), `probes` its results by lower-cased resource id."""
    known = [(g, s) for g, s in zip(groups, states, strict=True) if s is not None]
    blocked = [s.blocked_since for _, s in known if s.blocked_since is not None]
    active = Counter(s.active for _, s in known)
    accounts: dict[str, AccountReadiness] = {}
    for group in groups:
        for account in group.accounts:
            probe = probes.get(account.resource_id.lower())
            if probe is not None:
                accounts[account.name] = AccountReadiness(probe.status.ready, active[account.name])
    return TickReport(
        blocked=len(blocked),
        blocked_longest_seconds=max(((now - b).total_seconds() for b in blocked), default=0.0),
        secondary=sum(s.active != g.accounts[0].name for g, s in known),
        accounts=accounts,
    )
