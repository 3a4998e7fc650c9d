"""Builders for the pure core's tests: groups, signals and states, with readable defaults."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.core.failover import initial_state
from shared.core.model import (
    Account,
    Group,
    ImpactedService,
    Phase,
    Policy,
    ReadinessStatus,
    Signal,
    SignalKind,
)
from shared.core.state import GroupState, Readiness

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SUB = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-video"


def account(name: str, location: str) -> Account:
    """An account with a resource id derived from its name."""
    return Account(
        name=name,
        account_id=f"{name}-id",
        location=location,
        resource_id=f"{SUB}/providers/Microsoft.VideoIndexer/accounts/{name}",
    )


EAST = account("contoso-eastus", "eastus")
WEST = account("contoso-westus", "westus")
CENTRAL = account("contoso-centralus", "centralus")


def group(*accounts: Account, name: str = "default", **policy: Any) -> Group:
    """A group over these accounts (default east, west) with policy overrides."""
    return Group(name=name, accounts=accounts or (EAST, WEST), policy=replace(Policy(), **policy))


def state(grp: Group, active: str | None = None, **changes: Any) -> GroupState:
    """The group's initial state at T0, optionally active elsewhere."""
    base = initial_state(grp, T0)
    return replace(base, active=active or base.active, **changes)


def incident(
    tracking_id: str = "VT0X-1AB",
    regions: tuple[str, ...] = ("East US",),
    *,
    phase: Phase = Phase.ACTIVE,
    incident_type: str = "Incident",
    update: str = "1",
    minutes: float = 0,
    service: str = "Azure AI Video Indexer",
    synthetic: bool = False,
) -> Signal:
    """A Service Health update, `minutes` after T0."""
    return Signal(
        kind=SignalKind.SERVICE_HEALTH,
        key=tracking_id,
        update_id=update,
        event_time=T0 + timedelta(minutes=minutes),
        phase=phase,
        incident_type=incident_type,
        status="Resolved" if phase in (Phase.RESOLVED, Phase.RCA) else "Active",
        stage=phase.name.title(),
        title=f"{service} - {', '.join(regions)}",
        services=(ImpactedService(service, regions),),
        synthetic=synthetic,
        tracking_id=tracking_id,
        communication_id=update,
    )


def resource_health(
    acct: Account, health: str = "Unavailable", *, minutes: float = 0, update: str = "rh-1"
) -> Signal:
    """A Resource Health update for one account."""
    resolved = health == "Available"
    return Signal(
        kind=SignalKind.RESOURCE_HEALTH,
        key=acct.resource_id.lower(),
        update_id=update,
        event_time=T0 + timedelta(minutes=minutes),
        phase=Phase.RESOLVED if resolved else Phase.ACTIVE,
        incident_type="Downtime",
        status="Resolved" if resolved else "Active",
        stage="",
        title="Video Indexer account health",
        resource_id=acct.resource_id.lower(),
        health=health,
    )


def passing(since: datetime = T0 - timedelta(days=1)) -> Readiness:
    """Readiness of an account whose probes have passed since `since`."""
    return Readiness(ReadinessStatus.HEALTHY, since, "200 in 80 ms", passing_since=since)


def failing(failures: int = 1, status: ReadinessStatus = ReadinessStatus.UNREACHABLE) -> Readiness:
    """Readiness of an account whose last `failures` probes failed."""
    return Readiness(status, T0, "503 from the data plane", failures, last_failure_at=T0)


class FakeClock:
    """A clock the test moves by hand; starts at T0."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now
