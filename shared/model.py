"""Domain values: accounts, groups, policy, signals, incidents, group state and decisions.

Pure data, standard library only. Everything here is immutable so the decision core can
return new values without aliasing the old ones.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal


def normalize_region(name: str) -> str:
    """Display name or ARM name to the ARM form: "East US" and "EastUS" both become "eastus"."""
    return "".join(name.split()).lower()


@dataclass(frozen=True)
class Account:
    """One Video Indexer account a group can be active on."""

    name: str
    account_id: str
    location: str  # normalised ARM form, e.g. "eastus"
    resource_id: str


FailbackMode = Literal["manual", "auto"]


@dataclass(frozen=True)
class Policy:
    """When to move a group; see the decision rules in the README."""

    service_names: tuple[str, ...] = ("video indexer",)
    failover_on: frozenset[str] = frozenset({"incident"})  # lower-cased incident types
    failover_on_resource_health: frozenset[str] = frozenset({"unavailable"})  # lower-cased
    include_global: bool = True
    failback: FailbackMode = "manual"
    failback_stable_minutes: int = 30
    min_dwell_minutes: int = 10
    accept_synthetic: bool = False
    confirm_with_probe: int = 0  # >0: a Service Health failover waits for N failed probes
    failover_on_probe_failures: int = 0  # >0: N failed probes of the active account move it
    max_auto_moves_per_day: int = 4  # caps failbacks and probe-driven moves, not alert moves


@dataclass(frozen=True)
class Group:
    """One tenant's accounts in priority order (the first is the primary) and its policy."""

    name: str
    accounts: tuple[Account, ...]
    policy: Policy

    def account(self, name: str) -> Account | None:
        """The account called `name`, or None."""
        return next((a for a in self.accounts if a.name == name), None)

    def role(self, name: str) -> str:
        """ "primary", "secondary", "tertiary", … for the account's place in priority order."""
        index = [a.name for a in self.accounts].index(name)
        return _ROLES[index] if index < len(_ROLES) else f"priority-{index + 1}"


_ROLES = ("primary", "secondary", "tertiary", "quaternary", "quinary")


@dataclass(frozen=True)
class Config:
    """Every group this deployment serves."""

    groups: tuple[Group, ...]

    def group(self, name: str) -> Group | None:
        """The group called `name`, or None."""
        return next((g for g in self.groups if g.name == name), None)


class SignalKind(enum.StrEnum):
    """Which Azure health feed a signal came from."""

    SERVICE_HEALTH = "ServiceHealth"
    RESOURCE_HEALTH = "ResourceHealth"


class Phase(enum.IntEnum):
    """Lifecycle position of one update; the value orders updates with equal timestamps."""

    PLANNED = 0  # maintenance announced, not yet impacting
    ACTIVE = 1
    RESOLVED = 2
    RCA = 3  # post-incident review, after resolution: never a new outage


@dataclass(frozen=True)
class ImpactedService:
    """One entry of `impactedServices`: a service display name and its region display names."""

    name: str
    regions: tuple[str, ...]


@dataclass(frozen=True)
class Signal:
    """One Service Health or Resource Health update, parsed from either alert envelope."""

    kind: SignalKind
    key: str  # incident key: the trackingId, or the lower-cased resource id for Resource Health
    update_id: str  # one update: communicationId, else eventDataId, else a digest of the body
    event_time: datetime  # timezone-aware UTC
    phase: Phase
    incident_type: str  # as sent ("Incident", "Maintenance", …); Resource Health: its type
    status: str  # as sent ("Active", "Resolved", "In Progress", …)
    stage: str  # as sent; "" when absent
    title: str
    services: tuple[ImpactedService, ...] = ()
    resource_id: str = ""  # Resource Health only, lower-cased
    health: str = ""  # Resource Health currentHealthStatus as sent; "" when null
    synthetic: bool = False
    tracking_id: str = ""
    communication_id: str = ""


@dataclass(frozen=True)
class NotOurs:
    """A well-formed alert that is not a health signal we act on; `reason` says why."""

    reason: str
    alert_kind: str  # e.g. "Platform", "Log Alerts V2", schema id for other envelopes


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
class Timekeeping:
    """The controller's own bookkeeping limits; all measured on its clock, never the payload's."""

    max_skew: timedelta = timedelta(minutes=15)  # event times further ahead are clamped
    retention: timedelta = timedelta(days=60)  # a closed incident is forgotten this long after
    # its last update (CLOCK_SKEW_MINUTES and INCIDENT_RETENTION_DAYS set these two)
    detail: timedelta = timedelta(days=7)  # a closed incident keeps its details this long


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
    etag: str | None = None  # store concurrency token; None before the first write

    def unready(self) -> frozenset[str]:
        """Accounts whose latest readiness check failed."""
        return frozenset(name for name, r in self.readiness.items() if not r.ready)

    def pin_in_force(self, now: datetime) -> bool:
        """True when the group is pinned and the pin has not expired."""
        return self.pinned and (self.pin_expires is None or now < self.pin_expires)


class ReadinessStatus(enum.StrEnum):
    """What the latest probe of an account found (README, "Readiness")."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"  # answers, but too slowly or still rate-limited to take over work
    UNREACHABLE = "unreachable"  # connection errors, timeouts, 5xx, malformed answers
    UNAUTHORIZED = "unauthorized"  # 401/403 from ARM, the token endpoint or the data plane
    MISCONFIGURED = "misconfigured"  # missing, not Succeeded, or not what the config says
    UNKNOWN = "unknown"  # never probed

    @property
    def ready(self) -> bool:
        """Whether an account in this state may receive a failover (never probed counts)."""
        return self in (ReadinessStatus.HEALTHY, ReadinessStatus.UNKNOWN)


@dataclass(frozen=True)
class ProbeResult:
    """One readiness check of one account: control plane (ARM) and data plane (VI API)."""

    status: ReadinessStatus
    evidence: str  # what was seen, e.g. "GET …/Videos?pageSize=1 → 503 in 120 ms"
    checked_at: datetime
    latency_ms: float | None = None  # of the data-plane call, when it answered
    account_id: str | None = None  # as ARM reports it
    location: str | None = None  # as ARM reports it, normalised


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
    "failed_over", "failed_back", "blocked", "suppressed", "recorded", "duplicate", "ignored"
]
ManualAction = Literal["moved", "pinned", "unpinned", "unchanged"]

# Most significant first: an alert's overall outcome is the first of these any group reached.
ACTION_ORDER: tuple[Action, ...] = (
    "failed_over",
    "failed_back",
    "blocked",
    "suppressed",
    "recorded",
    "duplicate",
    "ignored",
)


@dataclass(frozen=True)
class AuditRecord:
    """One append-only line of the audit trail, with the evidence behind it."""

    group: str  # "" for alerts that touched no group
    time: datetime
    action: str  # an Action, or "manual_move", "pinned", "unpinned"
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


@dataclass(frozen=True)
class Decision:
    """What the core decided for one group, and the state and audit lines that make it so."""

    group: str
    action: Action | ManualAction
    from_account: str
    to_account: str
    reason: str
    new_state: GroupState | None  # None when nothing about the group's state changes
    audit: tuple[AuditRecord, ...] = ()
    notify: bool = False  # worth a page: a move, a pin change, or a newly blocked failover


def most_significant(actions: Sequence[str]) -> str:
    """The outcome to report for an alert that touched groups with these actions."""
    ranked = [a for a in ACTION_ORDER if a in actions]
    return ranked[0] if ranked else "ignored"
