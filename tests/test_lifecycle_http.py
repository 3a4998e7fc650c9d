"""The incident lifecycle through the HTTP handlers (requests built as the Functions host builds
them), over the controller with an in-memory store, a clock the test moves and a scripted
prober: old resolutions, resolutions first, updates from the future, out-of-range times, and
the failback stable window after a region drop or Resource Health Unknown."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from itertools import count

import pytest

from shared.adapters.memory_store import InMemoryStateStore
from shared.app.controller import Controller
from shared.core.model import Account, Config, Group, ProbeResult, ReadinessStatus, SignalKind
from shared.core.state import AuditRecord, GroupState
from shared.http.handlers import HttpApi
from shared.settings import Settings, StorageSettings
from tests import alertfactory as af
from tests.apicontract import checked
from tests.core import EAST, T0, WEST, FakeClock, group
from tests.funcrequests import body_of, request

AUTO = group(failback="auto", failback_stable_minutes=30, min_dwell_minutes=0)
DAY = timedelta(days=1)


def stamp(moment: datetime) -> str:
    """An event time as Azure writes it (7 fraction digits, Z)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


class Healthy:
    """Every account passes its probe, checked on the test's clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def probe(self, account: Account) -> ProbeResult:
        return ProbeResult(ReadinessStatus.HEALTHY, "scripted: 200", self.clock())


class RacingStore(InMemoryStateStore):
    """The in-memory store, running `before_save` (once) just before a group's write lands."""

    def __init__(self) -> None:
        super().__init__()
        self.before_save: Callable[[GroupState], None] | None = None

    def save(
        self,
        group: Group,
        previous: GroupState | None,
        new: GroupState,
        audit: Sequence[AuditRecord],
    ) -> GroupState:
        hook, self.before_save = self.before_save, None
        if hook is not None:
            hook(new)
        return super().save(group, previous, new, audit)


class Stack:
    """The HTTP handlers over a controller with a movable clock."""

    def __init__(self, config: Config) -> None:
        self.clock = FakeClock()
        self.store = RacingStore()
        ids = count(1)
        self.controller = Controller(
            config, self.store, self.clock, lambda: f"d{next(ids)}", prober=Healthy(self.clock)
        )
        settings = Settings(
            config=config,
            storage=StorageSettings(connection_string="x=y"),
            operator_auth="local",
        )
        self.api = HttpApi(settings, lambda: self.controller)

    def at(self, offset: timedelta) -> Stack:
        """Move the controller's clock to T0 + offset."""
        self.clock.now = T0 + offset
        return self

    def alert(self, payload: dict[str, object]) -> tuple[int, dict[str, object]]:
        sent = request("POST", "alerts", body=af.to_body(payload))
        response = checked(sent, self.api.alerts(sent))
        return response.status_code, body_of(response)

    def outcome(self, payload: dict[str, object]) -> str:
        status, body = self.alert(payload)
        assert 200 == status, body
        return str(body["outcome"])

    def active(self) -> str:
        sent = request("GET", "active-account")
        body = body_of(checked(sent, self.api.active_account(sent)))
        return str(body["account"]["name"])  # type: ignore[index]

    def status(self) -> dict[str, object]:
        sent = request("GET", "status")
        body = body_of(checked(sent, self.api.status(sent)))
        groups = body["groups"]
        assert isinstance(groups, list)
        first = groups[0]
        assert isinstance(first, dict)
        return first

    def state(self) -> GroupState:
        return self.controller.state(self.controller.config.groups[0])

    def tick(self) -> str:
        return self.controller.readiness_tick()[self.controller.config.groups[0].name]


INCIDENT = af.service_health()  # East US, event time T0
RESOLVED = af.service_health(stage="Resolved", communication_id="1001", event_time=stamp(T0))


def test_a_resolution_a_year_after_its_event_time_is_recorded() -> None:
    """The resolution's event time is a year behind the controller's clock: recorded, closed,
    and the status shows when the controller closed it."""
    stack = Stack(Config(groups=(group(),)))
    stack.outcome(INCIDENT)

    outcome = stack.at(365 * DAY).outcome(RESOLVED)

    closed = stack.status()["closedIncidents"]
    assert "recorded" == outcome
    assert [("VT0X-1AB", "closed", (T0 + 365 * DAY).isoformat())] == [
        (i["key"], i["status"], i["closedAt"])
        for i in closed  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize("regions", [("East US",), ()], ids=["with regions", "region-less"])
def test_a_resolution_first_then_its_activation_moves_nothing(regions: tuple[str, ...]) -> None:
    """Resolution before activation, with or without regions: recorded, then the late
    activation is a duplicate and the group stays on its primary."""
    stack = Stack(Config(groups=(group(),)))
    resolution = af.service_health(
        stage="Resolved",
        communication_id="1001",
        event_time=stamp(T0 + timedelta(minutes=30)),
        services=(("Azure AI Video Indexer", regions),) if regions else (),
    )

    first = stack.outcome(resolution)
    late = stack.at(DAY).outcome(INCIDENT)

    assert ("recorded", "duplicate", EAST.name) == (first, late, stack.active())


def test_an_update_from_the_future_cannot_block_the_genuine_ones() -> None:
    """An activation stamped a year ahead fails over (ordered as received, and the reason says
    so); the genuine resolution sent minutes later is applied."""
    stack = Stack(Config(groups=(group(),)))
    future = af.service_health(event_time=stamp(T0 + 365 * DAY))
    _, opened = stack.alert(future)
    resolution = af.service_health(
        stage="Resolved", communication_id="1001", event_time=stamp(T0 + timedelta(minutes=4))
    )

    closed = stack.at(timedelta(minutes=5)).outcome(resolution)
    again = stack.at(400 * DAY).outcome(future)

    assert "failed_over" == opened["outcome"]
    assert "ordered as received" in str(opened["reason"])
    assert ("recorded", "duplicate") == (closed, again)
    assert [] == stack.status()["openIncidents"]


def test_resource_health_available_dated_9999_does_not_hide_the_outage() -> None:
    """Available stamped 9999-12-31 is ordered as received; the real Unavailable fails over."""
    stack = Stack(Config(groups=(group(),)))
    bogus = af.resource_health(
        resource_id=EAST.resource_id,
        current="Available",
        event_data_id="rh-1",
        event_time="9999-12-31T23:59:59.9999999Z",
    )
    real = af.resource_health(
        resource_id=EAST.resource_id,
        event_data_id="rh-2",
        event_time=stamp(T0 + timedelta(minutes=1)),
    )

    stack.outcome(bogus)
    outcome = stack.at(timedelta(minutes=1)).outcome(real)

    assert ("failed_over", WEST.name) == (outcome, stack.active())


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1600-12-31T23:59:59Z"],
    ids=["year 1 east of UTC", "year 9999 west of UTC", "before 1601"],
)
def test_times_table_storage_cannot_hold_are_400_naming_the_field(moment: str) -> None:
    """An alert whose event time is outside 1601-9999 is 400 naming eventTimestamp; nothing
    is written."""
    stack = Stack(Config(groups=(group(),)))

    status, body = stack.alert(af.service_health(event_time=moment))

    assert (400, "InvalidAlert") == (status, body["error"])
    assert "data.alertContext.eventTimestamp" in str(body["message"])
    assert [] == stack.controller.history(None, 10)


@pytest.mark.parametrize(
    "until", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "1500-01-01T00:00:00Z"]
)
def test_a_pin_until_a_time_table_storage_cannot_hold_is_400(until: str) -> None:
    """`pinUntil` outside Table Storage's range is 400 naming pinUntil, and changes nothing."""
    stack = Stack(Config(groups=(group(),)))
    body = {"to": WEST.name, "reason": "hold", "pin": True, "pinUntil": until}

    response = stack.api.failover(request("POST", "failover", body=json.dumps(body).encode()))

    assert 400 == response.status_code
    assert str(body_of(response)["message"]).startswith("pinUntil")
    assert (EAST.name, 1) == (stack.active(), stack.state().version)


def test_failback_after_a_region_drop_waits_the_whole_stable_window() -> None:
    """An Active update that no longer names East US ends East's impact; ticks within the next
    30 minutes keep the group on West, the first tick after moves it back."""
    stack = Stack(Config(groups=(AUTO,)))
    stack.tick()  # both accounts pass from T0 on
    stack.at(2 * DAY).outcome(INCIDENT)
    dropped = af.service_health(
        communication_id="1002",
        event_time=stamp(T0 + timedelta(minutes=10)),
        services=(("Azure AI Video Indexer", ("Central US",)),),
    )

    stack.at(2 * DAY + timedelta(minutes=1)).outcome(dropped)
    early = stack.at(2 * DAY + timedelta(minutes=30)).tick()
    due = stack.at(2 * DAY + timedelta(minutes=31)).tick()

    assert ("recorded", "failed_back", EAST.name) == (early, due, stack.active())


def test_resource_health_unknown_is_open_and_holds_failback() -> None:
    """Unavailable → Unknown keeps the incident open as unknown (no closedAt) and the group on
    West; Available starts the stable window."""
    stack = Stack(Config(groups=(AUTO,)))
    stack.tick()
    stack.at(DAY).outcome(
        af.resource_health(
            resource_id=EAST.resource_id, event_data_id="rh-1", event_time=stamp(T0 + DAY)
        )
    )
    unknown = af.resource_health(
        resource_id=EAST.resource_id,
        current="Unknown",
        event_data_id="rh-2",
        event_time=stamp(T0 + DAY + timedelta(hours=1)),
    )
    stack.at(DAY + timedelta(hours=1)).outcome(unknown)

    held = stack.at(3 * DAY).tick()
    status = stack.status()
    available = af.resource_health(
        resource_id=EAST.resource_id,
        current="Available",
        event_data_id="rh-3",
        event_time=stamp(T0 + 3 * DAY),
    )
    stack.outcome(available)
    early = stack.at(3 * DAY + timedelta(minutes=29)).tick()
    due = stack.at(3 * DAY + timedelta(minutes=30)).tick()

    open_incidents = status["openIncidents"]
    assert [("unknown", None)] == [
        (i["status"], i["closedAt"])
        for i in open_incidents  # type: ignore[attr-defined]
    ]
    assert ("recorded", "recorded", "failed_back") == (held, early, due)


def test_a_newer_update_that_arrives_during_a_delivery_reaches_its_groups() -> None:
    """A region-less resolution kept while an older activation is being saved: the activation's
    delivery notices it afterwards and applies it, so no group holds the incident open."""
    stack = Stack(Config(groups=(group(),)))
    resolution = af.service_health(
        stage="Resolved",
        communication_id="1001",
        event_time=stamp(T0 + timedelta(minutes=30)),
        services=(),
    )
    raced: list[str] = []

    def deliver_the_resolution(new: GroupState) -> None:
        # The resolution's delivery runs after the activation read the incident's newest update
        # and before the activation's group write lands: it finds no group tracking it.
        raced.append(stack.controller.handle_alert(af.to_body(resolution)).outcome)

    stack.store.before_save = deliver_the_resolution
    outcome = stack.outcome(INCIDENT)

    incident = stack.state().incidents["VT0X-1AB"]
    assert ["recorded"] == raced
    assert ("failed_over", "closed", "1001") == (outcome, incident.status, incident.update_id)


def test_the_tick_forgets_kept_updates_and_tombstones_after_the_retention() -> None:
    """Housekeeping on the controller's clock: a week after closing an incident keeps only its
    tombstone; after the retention the tombstone and the kept newest update are gone."""
    stack = Stack(Config(groups=(group(),)))
    stack.outcome(INCIDENT)
    stack.outcome(RESOLVED)

    stack.at(8 * DAY).tick()
    week = stack.state().incidents["VT0X-1AB"]
    shown = stack.status()
    stack.at(61 * DAY).tick()

    assert ("tombstone", 1, []) == (
        week.status.value,
        shown["tombstones"],
        shown["closedIncidents"],
    )
    assert {} == stack.state().incidents
    assert stack.store.load_newest(SignalKind.SERVICE_HEALTH, "VT0X-1AB") is None
