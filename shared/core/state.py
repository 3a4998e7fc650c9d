"""What the controller knows and decides: incidents, readiness, group state, audit lines and
decisions. Pure data, standard library only, immutable.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from shared.core.model import Mode, Phase, ReadinessStatus, Signal, SignalKind


class IncidentStatus(enum.StrEnum):
    """Where an incident is in its lifecycle (README, "The incident lifecycle")."""

    ANNOUNCED = "announced"  # planned maintenance: known, not impacting yet
    OPEN = "open"  # impacting the accounts it names
    UNKNOWN = "unknown"  # Resource Health reports Unknown: not proven healthy
    CLOSED = "closed"  # resolved; kept in full for a week, for the status page
    TOMBSTONE = "tombstone"  # closed long ago: only its key and last update are kept

    @property
    def closed(self) -> bool:
        """True once the incident has ended (in full or as a tombstone)."""
        return self in (IncidentStatus.CLOSED, IncidentStatus.TOMBSTONE)


@dataclass(frozen=True)
class Incident:
    """What one group knows of one incident: the latest update applied and whom it impacts.

    `event_time` is the update's payload time, used only to order the incident's updates
    (clamped to the controller's clock when it was too far ahead). `first_seen` and
    `closed_at` are the controller's own clock.
    """

    key: str
    kind: SignalKind
    status: IncidentStatus
    triggers_failover: bool  # open and of a kind the policy fails over on
    blocks_target: bool  # open and bad enough that no move may go into the accounts it impacts
    impacted: frozenset[str]  # account names of the group
    event_time: datetime  # order time of the latest update applied
    phase: Phase
    update_id: str
    title: str
    incident_type: str
    first_seen: datetime
    updated_at: datetime  # when the controller applied the latest update
    closed_at: datetime | None = None
    # Updates whose event time was clamped: their order time was the controller's clock, so a
    # re-delivery (which would be clamped again, later) is recognised by its id instead.
    clamped_updates: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        """True while the incident impacts (or may impact, for Unknown) the accounts it names."""
        return self.status in (IncidentStatus.OPEN, IncidentStatus.UNKNOWN)

    def order_key(self) -> tuple[datetime, int, str]:
        """Total order of updates within one incident: newer wins, ties broken deterministically."""
        return (self.event_time, int(self.phase), self.update_id)

    def holds(self, name: str) -> bool:
        """True when this incident keeps account `name` from counting as free of impact.

        Open incidents that block moves into the account do, and so does a Resource Health
        Unknown: not proven healthy. Such an account is no failback target, and its
        `failbackStableMinutes` start only when this ends.
        """
        if name not in self.impacted:
            return False
        return self.status is IncidentStatus.UNKNOWN or (
            self.status is IncidentStatus.OPEN and self.blocks_target
        )


@dataclass(frozen=True)
class KnownUpdate:
    """The newest update of a Service Health incident the controller has seen, whichever groups
    it named, kept by tracking id: an older delivery is stale for every group.

    `signal` keeps only what decisions need (the services the configuration watches), and its
    `event_time` is the update's order time (clamped when it was too far ahead).
    """

    signal: Signal
    remembered_at: datetime  # the controller's clock; the retention counts from here
    clamped_updates: tuple[str, ...] = ()

    def order_key(self) -> tuple[datetime, int, str]:
        """The same order as `Incident.order_key`."""
        return (self.signal.event_time, int(self.signal.phase), self.signal.update_id)


@dataclass(frozen=True)
class Placement:
    """Where the controller would have put a group in shadow mode (README, "Shadow mode"), with
    the bookkeeping of its own would-be moves: the placement an active controller would hold."""

    account: str
    since: datetime
    reason: str
    actor: str
    auto_moves: tuple[datetime, ...] = ()
    blocked_since: datetime | None = None
    apart_since: datetime | None = None  # since when apps are on another account; None: same


@dataclass(frozen=True)
class GroupState:
    """A group's controller state: the active account and the incidents that touch it."""

    group: str
    active: str  # account name
    version: int  # bumps with every change to the active-account entity (move, pin, unpin)
    since: datetime  # when the active account became active
    reason: str
    pinned: bool = False
    pin_expires: datetime | None = None
    actor: str = "system"
    incidents: dict[str, Incident] = field(default_factory=dict)
    readiness: dict[str, Readiness] = field(default_factory=dict)  # by account name
    auto_moves: tuple[datetime, ...] = ()  # automatic moves of the last 24 hours
    blocked_since: datetime | None = None  # set while a wanted failover has nowhere to go
    # By account: when the controller saw its last impact end (README, "The incident lifecycle").
    impact_ended: dict[str, datetime] = field(default_factory=dict)
    last_delivery: str = ""  # id of the delivery that wrote this state: tells a lost reply apart
    mode: Mode = "active"  # the policy.mode the state was last saved under
    shadow: Placement | None = None  # in shadow mode: where the controller would have put it
    etag: str | None = None  # store concurrency token; None before the first write

    def unready(self) -> frozenset[str]:
        """Accounts whose latest readiness check failed."""
        return frozenset(name for name, r in self.readiness.items() if not r.ready)

    def pin_in_force(self, now: datetime) -> bool:
        """True when the group is pinned and the pin has not expired."""
        return pin_holds(self.pinned, self.pin_expires, now)


def pin_holds(pinned: bool, expires: datetime | None, now: datetime) -> bool:
    """A pin holds from when it is set until its expiry (if it has one)."""
    return pinned and (expires is None or now < expires)


@dataclass(frozen=True)
class Readiness:
    """What a group knows of one account's readiness: the latest probe and its streaks."""

    status: ReadinessStatus
    checked_at: datetime
    evidence: str
    consecutive_failures: int = 0
    last_failure_at: datetime | None = None
    passing_since: datetime | None = None  # first passing probe since the last failure

    @property
    def ready(self) -> bool:
        """Whether the account may receive a failover."""
        return self.status.ready


Action = Literal[
    "failed_over",
    "failed_back",
    "blocked",
    "suppressed",
    "recorded",
    "duplicate",
    "ignored",
    # Shadow mode: what the controller would have done; the flag apps read did not move.
    "would_fail_over",
    "would_fail_back",
    "would_block",
]
ManualAction = Literal["moved", "pinned", "unpinned", "unchanged"]
ModeAction = Literal["mode_changed"]

# Most significant first: an alert's overall outcome is the first of these any group reached.
ACTION_ORDER: tuple[Action, ...] = (
    "failed_over",
    "failed_back",
    "blocked",
    "suppressed",
    "would_fail_over",
    "would_fail_back",
    "would_block",
    "recorded",
    "duplicate",
    "ignored",
)


@dataclass(frozen=True)
class AuditRecord:
    """One append-only line of the audit trail, with the evidence behind it."""

    group: str  # "" for alerts that touched no group
    time: datetime
    action: str  # an Action or ManualAction, "mode_changed", "readiness", "notify_failed"
    from_account: str
    to_account: str
    reason: str
    actor: str
    record_id: str  # unique within the group; makes re-appending the same record idempotent
    version: int = 0
    signal_kind: str = ""
    tracking_id: str = ""
    communication_id: str = ""
    title: str = ""
    incident_type: str = ""
    stage: str = ""
    regions: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    resource_id: str = ""
    # The signal as parsed, for `history --export` and replay; stored cut to fit (signal_json).
    signal: Signal | None = None


@dataclass(frozen=True)
class Decision:
    """What the core decided for one group, and the state and audit lines that make it so."""

    group: str
    action: Action | ManualAction | ModeAction
    from_account: str
    to_account: str
    reason: str
    new_state: GroupState | None  # None when nothing about the group's state changes
    audit: tuple[AuditRecord, ...] = ()
    notify: bool = False  # worth a page: a move, a pin change, or a newly blocked failover
    # Not final yet: probe these accounts (names), then decide again with the results.
    needs: frozenset[str] = frozenset()


def most_significant(actions: Sequence[str]) -> str:
    """The outcome to report for an alert that touched groups with these actions."""
    ranked = [a for a in ACTION_ORDER if a in actions]
    return ranked[0] if ranked else "ignored"
