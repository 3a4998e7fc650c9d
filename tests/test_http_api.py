"""HTTP handlers, driven with `func.HttpRequest` built as the Functions host builds it."""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import count

import azure.functions as func
import pytest

from shared.adapters.memory_store import InMemoryStateStore
from shared.app.controller import Controller
from shared.core.model import Config
from shared.http.handlers import HttpApi
from shared.settings import Settings, StorageSettings
from tests import alertfactory as af
from tests.apicontract import checked
from tests.core import CENTRAL, EAST, T0, WEST, FakeClock, group
from tests.funcrequests import body_of, request


class Stack:
    """The handlers over an in-memory store, with a fake clock."""

    def __init__(self, config: Config) -> None:
        self.clock = FakeClock()
        self.store = InMemoryStateStore()
        ids = count(1)
        self.controller = Controller(config, self.store, self.clock, lambda: f"d{next(ids)}")
        settings = Settings(
            config=config,
            storage=StorageSettings(connection_string="x=y"),
            operator_auth="local",
        )
        self.api = HttpApi(settings, lambda: self.controller)

    def post_alert(self, payload: object | bytes) -> func.HttpResponse:
        body = payload if isinstance(payload, bytes) else af.to_body(payload)
        sent = request("POST", "alerts", body=body)
        return checked(sent, self.api.alerts(sent))

    def get(self, route: str, **params: str) -> func.HttpResponse:
        handler = {
            "active-account": self.api.active_account,
            "status": self.api.status,
            "history": self.api.history,
            "health": self.api.health,
        }[route]
        sent = request("GET", route, params=params)
        return checked(sent, handler(sent))

    def failover(self, body: object, principal: str | None = None) -> func.HttpResponse:
        headers = {"x-ms-client-principal-name": principal} if principal else {}
        sent = request("POST", "failover", body=json.dumps(body).encode(), headers=headers)
        return checked(sent, self.api.failover(sent))

    def history(self) -> list[dict[str, object]]:
        records = body_of(self.get("history"))["records"]
        assert isinstance(records, list)
        return records


ONE = Config(groups=(group(),))
TWO = Config(groups=(group(name="tenant-a"), group(EAST, CENTRAL, name="tenant-b")))


@pytest.fixture
def stack() -> Stack:
    """One group, east then west."""
    return Stack(ONE)


def test_incident_on_the_active_region_fails_over(stack: Stack) -> None:
    """A Video Indexer incident in East US moves the group to West US."""
    response = stack.post_alert(af.service_health())

    assert 200 == response.status_code
    body = body_of(response)
    assert "failed_over" == body["outcome"]
    decision = {"group": "default", "action": "failed_over", "from": EAST.name, "to": WEST.name}
    assert [decision] == [
        {k: d[k] for k in ("group", "action", "from", "to")}
        for d in body["decisions"]  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize("schema", ["common", "legacy"])
@pytest.mark.parametrize("impacted_as", ["string", "array"])
def test_both_envelopes_and_impacted_shapes_fail_over(
    stack: Stack, schema: af.Schema, impacted_as: af.ImpactedAs
) -> None:
    """Common and legacy envelopes, impactedServices as string or array, all fail over."""
    response = stack.post_alert(af.service_health(schema=schema, impacted_as=impacted_as))

    assert "failed_over" == body_of(response)["outcome"]


def test_active_account_names_the_new_account_with_a_new_etag(stack: Stack) -> None:
    """The ETag changes with the move, and the body names the secondary."""
    before = stack.get("active-account")

    stack.post_alert(af.service_health())
    after = stack.get("active-account")

    body = body_of(after)
    assert (WEST.name, "secondary", 2) == (
        body["account"]["name"],  # type: ignore[index]
        body["role"],
        body["version"],
    )
    assert before.headers["ETag"] != after.headers["ETag"]
    assert "max-age=10" == after.headers["Cache-Control"]


def test_matching_if_none_match_is_304_without_a_body(stack: Stack) -> None:
    """Revalidation with the current ETag answers 304 and the same ETag."""
    etag = stack.get("active-account").headers["ETag"]

    response = stack.api.active_account(
        request("GET", "active-account", headers={"If-None-Match": f"W/{etag}"})
    )

    assert (304, b"", etag) == (response.status_code, response.get_body(), response.headers["ETag"])


def test_unknown_group_is_404(stack: Stack) -> None:
    """An unknown group is 404 UnknownGroup."""
    response = stack.get("active-account", group="nope")

    assert (404, "UnknownGroup") == (response.status_code, body_of(response)["error"])


def test_group_is_required_with_several_groups() -> None:
    """With two groups, omitting `group` is 400 InvalidRequest naming the problem."""
    stack = Stack(TWO)

    response = stack.get("active-account")

    assert (400, "InvalidRequest") == (response.status_code, body_of(response)["error"])
    assert "group: required" in str(body_of(response)["message"])


def test_same_alert_again_is_duplicate(stack: Stack) -> None:
    """A re-delivery of the same alert is `duplicate` and moves nothing."""
    stack.post_alert(af.service_health())

    again = body_of(stack.post_alert(af.service_health()))

    assert "duplicate" == again["outcome"]
    assert 2 == body_of(stack.get("active-account"))["version"]


def test_resolution_is_recorded_and_closes_the_incident(stack: Stack) -> None:
    """With manual failback a resolution is `recorded`; status shows the incident closed."""
    stack.post_alert(af.service_health())
    resolved = af.service_health(
        stage="Resolved", communication_id="1001", event_time="2026-11-20T11:00:00Z"
    )

    outcome = body_of(stack.post_alert(resolved))
    status = body_of(stack.get("status"))["groups"][0]  # type: ignore[index]

    assert "recorded" == outcome["outcome"]
    assert "failback is manual" in str(outcome["reason"])
    assert (
        status["openIncidents"],
        [i["key"] for i in status["closedIncidents"]],
    ) == ([], ["VT0X-1AB"])
    assert WEST.name == status["account"]["name"]


@pytest.mark.parametrize(
    "payload",
    [af.metric_alert(), af.log_alert(), af.budget_alert(), af.administrative_alert()],
    ids=["metric", "log", "budget", "administrative"],
)
def test_alerts_that_are_not_ours_are_ignored_with_a_reason(stack: Stack, payload: object) -> None:
    """Well-formed alerts of other kinds are 200 `ignored` with a reason, and audited."""
    response = stack.post_alert(payload)

    body = body_of(response)
    assert (response.status_code, body["outcome"], body["decisions"]) == (200, "ignored", [])
    assert body["reason"]
    assert ["ignored"] == [r["action"] for r in stack.history()]


def test_portal_test_alert_is_ignored_as_synthetic(stack: Stack) -> None:
    """The action group's test button (IsSynthetic, Global, placeholder service) is ignored."""
    test_alert = af.service_health(
        tracking_id="TEST-TTT", synthetic=True, services=(("AzureServiceName", ("Global",)),)
    )

    body = body_of(stack.post_alert(test_alert))

    assert ("ignored", []) == (body["outcome"], body["decisions"])
    assert "synthetic test alert TEST-TTT" in str(body["reason"])


def test_other_region_is_ignored_and_says_why(stack: Stack) -> None:
    """A Video Indexer incident in a region with no account is ignored, naming the regions."""
    body = body_of(
        stack.post_alert(af.service_health(services=(("Video Indexer", ("Japan East",)),)))
    )

    assert "ignored" == body["outcome"]
    assert "Japan East" in str(body["reason"])


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", ""),
        (b'{"schemaId": "azureMonitorCommonAlertSchema"}', "data"),
        (b"\xff\xfe", "UTF-8"),
    ],
    ids=["not-json", "array", "no-data", "bad-utf8"],
)
def test_bad_bodies_are_400_and_write_nothing(stack: Stack, body: bytes, needle: str) -> None:
    """A body that is not JSON or not an alert is 400 InvalidAlert, and nothing is audited."""
    response = stack.post_alert(body)

    assert (400, "InvalidAlert") == (response.status_code, body_of(response)["error"])
    assert needle in str(body_of(response)["message"])
    assert stack.history() == []


def test_oversized_body_is_413_and_writes_nothing(stack: Stack) -> None:
    """A body above 1 MiB is 413 without being parsed."""
    response = stack.post_alert(b"{" + b" " * (1024 * 1024) + b"}")

    assert (413, "PayloadTooLarge") == (response.status_code, body_of(response)["error"])
    assert stack.history() == []


def test_storage_down_is_503_with_retry_after(stack: Stack) -> None:
    """Storage unreachable: alerts and health answer 503 with Retry-After; nothing changes."""
    stack.store.available = False

    alert = stack.post_alert(af.service_health())
    health = stack.get("health")

    assert (503, "10") == (alert.status_code, alert.headers["Retry-After"])
    assert (503, "unhealthy") == (health.status_code, body_of(health)["status"])
    stack.store.available = True
    assert "failed_over" == body_of(stack.post_alert(af.service_health()))["outcome"]


def test_one_alert_reaches_every_impacted_group() -> None:
    """One East US incident moves both groups whose active account is in East US."""
    stack = Stack(TWO)

    body = body_of(stack.post_alert(af.service_health()))

    assert [("tenant-a", WEST.name), ("tenant-b", CENTRAL.name)] == [
        (d["group"], d["to"])
        for d in body["decisions"]  # type: ignore[attr-defined]
    ]


def test_manual_failover_moves_pins_and_records_the_actor(stack: Stack) -> None:
    """A manual move with a pin records reason and actor (the signed-in operator, here the local
    development one: a principal header the caller sets is not the actor); a later incident is
    suppressed."""
    response = stack.failover(
        {"to": WEST.name, "reason": "drill", "pin": True, "pinMinutes": 60}, principal="ops@contoso"
    )

    assert ("moved", True) == (body_of(response)["outcome"], body_of(response)["pinned"])
    west_incident = af.service_health(services=(("Video Indexer", ("West US",)),))
    assert "suppressed" == body_of(stack.post_alert(west_incident))["outcome"]
    moved = [r for r in stack.history() if r["action"] == "moved"]
    assert ["developer (local, unauthenticated)"] == [r["actor"] for r in moved]
    assert "drill" in str(moved[0]["reason"])


def test_pin_expires(stack: Stack) -> None:
    """After pinMinutes the pin no longer holds the group."""
    stack.failover({"reason": "hold", "pin": True, "pinMinutes": 5})
    stack.clock.now = T0 + timedelta(minutes=6)

    body = body_of(stack.get("active-account"))

    assert False is body["pinned"]


def test_unpin(stack: Stack) -> None:
    """pin false unpins the group."""
    stack.failover({"reason": "hold", "pin": True})

    body = body_of(stack.failover({"reason": "done", "pin": False}))

    assert ("unpinned", False) == (body["outcome"], body["pinned"])


def test_manual_move_into_an_impacted_account_needs_force(stack: Stack) -> None:
    """Moving into an impacted account is 409 unless `force`; with force it moves."""
    stack.post_alert(af.service_health())

    refused = stack.failover({"to": EAST.name, "reason": "back"})
    forced = stack.failover({"to": EAST.name, "reason": "back", "force": True})

    assert (409, "UnsafeTarget") == (refused.status_code, body_of(refused)["error"])
    assert "moved" == body_of(forced)["outcome"]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"to": WEST.name}, 400, "reason"),
        ({"reason": "x"}, 400, "to"),
        ({"to": "nope", "reason": "x"}, 400, "nope"),
        ({"to": WEST.name, "reason": "x", "colour": "red"}, 400, "colour"),
        ({"to": WEST.name, "reason": "x", "pin": "yes"}, 400, "pin"),
        ({"to": WEST.name, "reason": "x", "pinMinutes": 5}, 400, "pinMinutes"),
        (
            {"to": WEST.name, "reason": "x", "pin": True, "pinUntil": "2001-01-01T00:00:00Z"},
            400,
            "pinUntil",
        ),
        ({"group": "nope", "to": WEST.name, "reason": "x"}, 404, "nope"),
    ],
    ids=[
        "no-reason",
        "no-target",
        "unknown-account",
        "unknown-field",
        "pin-not-bool",
        "minutes-without-pin",
        "pin-in-past",
        "unknown-group",
    ],
)
def test_bad_failover_requests_name_the_field_and_change_nothing(
    stack: Stack, body: dict[str, object], status: int, needle: str
) -> None:
    """Invalid manual requests get a 4xx naming the problem and leave the flag alone."""
    response = stack.failover(body)

    assert status == response.status_code
    assert needle in str(body_of(response)["message"])
    assert 1 == body_of(stack.get("active-account"))["version"]


def test_history_limit_and_group_filter(stack: Stack) -> None:
    """History honours `limit`, rejects a bad one, and 404s an unknown group."""
    for minute, payload in enumerate([af.service_health(), af.service_health(), af.metric_alert()]):
        stack.clock.now = T0 + timedelta(minutes=minute)
        stack.post_alert(payload)

    limited = body_of(stack.get("history", limit="1"))["records"]
    bad = stack.get("history", limit="0")
    unknown = stack.get("history", group="nope")

    assert ["ignored"] == [r["action"] for r in limited]  # type: ignore[attr-defined]
    assert (400, 404) == (bad.status_code, unknown.status_code)


def test_health_is_ok_when_storage_answers(stack: Stack) -> None:
    """Health is 200 with the storage reachable."""
    response = stack.get("health")

    assert (200, "reachable") == (response.status_code, body_of(response)["storage"])
