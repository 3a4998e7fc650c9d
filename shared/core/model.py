"""Domain values: accounts, groups, policy, signals and probe results.

Pure data, standard library only. Everything here is immutable so the decision core can
return new values without aliasing the old ones. What the controller knows and decides
(incidents, group state, decisions) is in `shared.core.state`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ArmAccount:
    """A Video Indexer account as ARM reports it."""

    resource_id: str
    location: str  # normalised, e.g. "eastus"
    account_id: str  # the data-plane id
    provisioning_state: str


FailbackMode = Literal["manual", "auto"]
Mode = Literal["active", "shadow"]  # shadow: decide and audit what it would do, move nothing


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
    mode: Mode = "active"


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


@dataclass(frozen=True)
class Timekeeping:
    """The controller's own bookkeeping limits; all measured on its clock, never the payload's."""

    max_skew: timedelta = timedelta(minutes=15)  # event times further ahead are clamped
    retention: timedelta = timedelta(days=60)  # a closed incident is forgotten this long after
    # its last update (CLOCK_SKEW_MINUTES and INCIDENT_RETENTION_DAYS set these two)
    detail: timedelta = timedelta(days=7)  # a closed incident keeps its details this long


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
