"""The incident lifecycle end to end: the local host (as `make run` starts it, with its ARM/VI
stand-in) on real Azurite, real-shaped alerts over real sockets, event times relative to the
wall clock (whatever day the suite runs on)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devhost.azurite import Azurite
from tests import alertfactory as af
from tests import apicontract as api
from tests.e2e_stack import Stack, stack_on, wait_for
from tests.hosting import DEMO_CONFIG

SECOND = timedelta(seconds=1)


def run_timer(running: Stack) -> None:
    """Run the readiness timer once and wait until its check is recorded."""
    before = running.status()["lastReadinessCheck"]
    running.run_readiness()
    wait_for(lambda: running.status()["lastReadinessCheck"] != before, "a timer run")


def ago(delta: timedelta) -> str:
    """An event time `delta` before the wall clock, as Azure writes it."""
    return (datetime.now(UTC) - delta).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@pytest.fixture
def stack(azurite: Azurite, table_name: str) -> Iterator[Stack]:
    """The demo configuration (manual failback)."""
    with stack_on(azurite, table_name, str(DEMO_CONFIG)) as running:
        yield running


def test_a_resolution_dated_weeks_ago_is_recorded(stack: Stack) -> None:
    """An incident and its resolution whose event times are 400 days old: failed over, then
    recorded and closed (never a 500), and an RCA after it reopens nothing."""
    opened = stack.post(af.service_health(event_time=ago(timedelta(days=400))))
    resolved = stack.post(
        af.service_health(
            stage="Resolved", communication_id="1001", event_time=ago(timedelta(days=399))
        )
    )
    rca = stack.post(
        af.service_health(stage="RCA", communication_id="1002", event_time=ago(timedelta(0)))
    )
    again = stack.post(af.service_health(event_time=ago(timedelta(days=400))))

    status = stack.status()
    assert ["failed_over", "recorded", "recorded", "duplicate"] == [
        r.json()["outcome"] for r in (opened, resolved, rca, again)
    ]
    assert ([], ["closed"]) == (
        status["openIncidents"],
        [i["status"] for i in status["closedIncidents"]],  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize("regions", [("East US",), ()], ids=["with regions", "region-less"])
def test_a_resolution_before_its_activation_keeps_the_group_on_its_primary(
    stack: Stack, regions: tuple[str, ...]
) -> None:
    """The resolution arrives first (with or without regions): recorded; the activation that
    arrives late is a duplicate and the flag stays on East US."""
    resolution = af.service_health(
        stage="Resolved",
        communication_id="1001",
        event_time=ago(timedelta(minutes=5)),
        services=(("Azure AI Video Indexer", regions),) if regions else (),
    )
    activation = af.service_health(event_time=ago(timedelta(minutes=30)))

    first = stack.post(resolution)
    late = stack.post(activation)

    active = api.get(f"{stack.host.url}/active-account", timeout=30).json()
    assert ("recorded", "duplicate") == (first.json()["outcome"], late.json()["outcome"])
    assert ("contoso-eastus", 1) == (active["account"]["name"], active["version"])


def test_an_update_from_the_future_does_not_block_the_updates_after_it(stack: Stack) -> None:
    """An activation stamped a day ahead fails over; the genuine resolution sent after it
    closes the incident; re-sending the future one changes nothing."""
    future = af.service_health(event_time=ago(-timedelta(days=1)))

    opened = stack.post(future)
    resolved = stack.post(
        af.service_health(stage="Resolved", communication_id="1001", event_time=ago(timedelta(0)))
    )
    again = stack.post(future)

    assert ["failed_over", "recorded", "duplicate"] == [
        r.json()["outcome"] for r in (opened, resolved, again)
    ]
    assert "ordered as received" in opened.json()["reason"]
    assert [] == stack.status()["openIncidents"]


def test_resource_health_available_from_9999_cannot_hide_an_outage(stack: Stack) -> None:
    """Available stamped 9999-12-31, then the genuine Unavailable: the group fails over."""
    account = json.loads(DEMO_CONFIG.read_text())["groups"][0]["accounts"][0]["resourceId"]
    bogus = af.resource_health(
        resource_id=account,
        current="Available",
        event_data_id="rh-1",
        event_time="9999-12-31T23:59:59.9999999Z",
    )

    first = stack.post(bogus)
    real = af.resource_health(resource_id=account, event_data_id="rh-2", event_time=ago(-SECOND))
    second = stack.post(real)

    assert ("recorded", "failed_over") == (first.json()["outcome"], second.json()["outcome"])


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1600-06-01T00:00:00Z"],
)
def test_out_of_range_times_are_400_and_everything_still_reads(stack: Stack, moment: str) -> None:
    """Times Table Storage cannot hold are 400 naming the field, in alerts and in pinUntil; the
    status and history still answer 200 afterwards."""
    alert = stack.post(af.service_health(event_time=moment))
    pin = api.post(
        f"{stack.host.url}/failover",
        json={"to": "contoso-westus", "reason": "hold", "pin": True, "pinUntil": moment},
        timeout=30,
    )

    assert (400, "InvalidAlert") == (alert.status_code, alert.json()["error"])
    assert "eventTimestamp" in alert.json()["message"]
    assert (400, "InvalidRequest") == (pin.status_code, pin.json()["error"])
    assert pin.json()["message"].startswith("pinUntil")
    assert 200 == api.get(f"{stack.host.url}/status", timeout=30).status_code
    assert 200 == api.get(f"{stack.host.url}/history", timeout=30).status_code


def test_failback_after_a_region_drop_waits_for_the_stable_window(
    azurite: Azurite, table_name: str
) -> None:
    """failbackStableMinutes 1: after an update that drops East US, timer runs within the
    minute keep the group on West US, and the status says when East's impact ended."""
    config = json.loads(DEMO_CONFIG.read_text())
    config["policy"] |= {"failback": "auto", "failbackStableMinutes": 1, "minDwellMinutes": 0}
    with stack_on(azurite, table_name, json.dumps(config)) as running:
        running.run_readiness()
        wait_for(lambda: running.status()["lastReadinessCheck"] is not None, "a readiness check")
        assert (
            "failed_over"
            == running.post(af.service_health(event_time=ago(timedelta(minutes=2)))).json()[
                "outcome"
            ]
        )
        dropped = af.service_health(
            communication_id="1001",
            event_time=ago(timedelta(minutes=1)),
            services=(("Azure AI Video Indexer", ("Central US",)),),
        )
        assert "impact on contoso-eastus ended now" in running.post(dropped).json()["reason"]

        for _ in range(3):
            run_timer(running)

        status = running.status()
        east = next(a for a in status["accounts"] if a["name"] == "contoso-eastus")  # type: ignore[attr-defined]
        assert "contoso-westus" == status["account"]["name"]  # type: ignore[index]
        assert (False, True) == (east["impacted"], east["impactEndedAt"] is not None)
