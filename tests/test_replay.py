"""Replay: a history of alerts through the decision core on a simulated clock (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.core.alerts import parse_alert
from shared.core.config import load_config, parse_config
from shared.core.model import Config, Phase, ReadinessStatus, Signal
from shared.core.replay import Step, replay
from shared.core.replay_input import (
    Delivery,
    ReadinessWindow,
    ReplayInputError,
    delivery_of,
    readiness_windows,
)
from shared.core.replay_report import differences, summarize
from tests import alertfactory as af

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "examples" / "replay"
DEMO = ROOT / "devhost" / "demo-config.json"
AUTO = ROOT / "examples" / "config-auto-failback.json"
ACCOUNTS = ["contoso-eastus", "contoso-westus"]
WEST_ID = (
    "/subscriptions/9b2c4e71-5d3a-4f0e-8c6b-2a7d1e9f4c30/resourceGroups/rg-video/providers/"
    "Microsoft.VideoIndexer/accounts/contoso-westus"
)
EARLIER = "2026-11-20T09:00:00.0000000Z"  # before alertfactory's default event time


def history() -> list[Delivery]:
    """The example history: an incident, an update adding West US, a test-button alert, the
    resolution (legacy envelope), an RCA, and a Resource Health flap (partly exported events)."""
    files = sorted(HISTORY.glob("*.json"))
    return [delivery_of(json.loads(f.read_text(encoding="utf-8")), f.name) for f in files]


def moves(steps: tuple[Step, ...]) -> list[tuple[str, str, str]]:
    return [
        (f"{s.time:%m-%d %H:%M}", s.action, s.to_account)
        for s in steps
        if s.action in ("failed_over", "failed_back", "blocked")
    ]


def with_policy(**policy: object) -> Config:
    raw = json.loads(DEMO.read_text(encoding="utf-8"))
    raw["policy"] |= policy
    return parse_config(raw)


def test_the_example_history_gives_the_timeline_of_each_decision() -> None:
    """Each alert is decided in the order received, with the reason; a test alert and the RCA
    move nothing; the Resource Health flap of the active account moves it once."""
    run = replay(load_config(str(DEMO)), history())

    actions = [(s.source, s.action) for s in run.steps if s.source != "tick"]

    assert [
        ("01-incident-eastus.json", "failed_over"),
        ("02-update-adds-westus.json", "blocked"),
        ("03-test-button.json", "ignored"),
        ("04-resolved.json", "recorded"),
        ("05-rca.json", "recorded"),
        ("06-westus-unavailable.json", "failed_over"),
        ("07-westus-available.activitylog.json", "recorded"),
        ("08-westus-unavailable-again.json", "recorded"),
        ("09-westus-available-again.activitylog.json", "recorded"),
    ] == actions
    assert "contoso-westus is impacted by RPL4-8QK but no account can take over" in (
        run.steps[[s.source for s in run.steps].index("02-update-adds-westus.json")].reason
    )


def test_the_summary_counts_moves_time_on_each_account_and_minutes_blocked() -> None:
    """Blocked from the update adding West US until the resolution: 93.9 minutes."""
    run = replay(load_config(str(DEMO)), history(), tail=timedelta(hours=1))

    summary = summarize(run, "default", ACCOUNTS)

    assert (2, 2, 0, "contoso-eastus") == (
        summary.moves,
        summary.failovers,
        summary.failbacks,
        summary.active,
    )
    assert 93.9 == round(summary.minutes_blocked, 1)
    total = (run.end - run.start).total_seconds() / 60
    assert round(total, 6) == round(sum(summary.minutes_on.values()), 6)
    assert {"RPL4-8QK": "closed"} == {k: v for k, v in summary.incidents.items() if "/" not in k}


def test_a_standby_down_blocks_the_failover_until_a_tick_finds_it_ready() -> None:
    """The readiness window answers the probes the core asks for; the tick after it ends
    completes the failover, as the app's timer does (the clock runs at least to its end)."""
    down = ReadinessWindow(
        "contoso-westus",
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 9, 20, tzinfo=UTC),
        ReadinessStatus.UNREACHABLE,
        "VI API 503",
    )

    run = replay(load_config(str(DEMO)), history()[:1], [down], tail=timedelta(0))

    assert [("03-02 09:12", "blocked", "contoso-eastus"), ("03-02 09:20", "failed_over",
            "contoso-westus")] == moves(run.steps)  # fmt: skip
    assert round(7 + 19.5 / 60, 1) == round(summarize(run, "default", ACCOUNTS).minutes_blocked, 1)


def test_automatic_failback_happens_on_the_tick_after_the_stable_window() -> None:
    """failback auto, 30 stable minutes: the resolution at 11:20:55 lets the 11:55 tick move
    back (11:50 is 29 minutes after it)."""
    config = with_policy(failback="auto", failbackStableMinutes=30, minDwellMinutes=10)

    run = replay(config, history()[:4], tail=timedelta(hours=1))

    assert ("03-02 11:55", "failed_back", "contoso-eastus") == moves(run.steps)[-1]
    assert 1 == summarize(run, "default", ACCOUNTS).failbacks


def test_two_policies_differ_where_one_fails_back_and_the_other_later_fails_over() -> None:
    """Manual failback stays on West US and is moved by its Resource Health flap; automatic
    failback went home first, so the flap moves nothing."""
    manual = replay(load_config(str(DEMO)), history())
    auto = replay(load_config(str(AUTO)), history())

    found = [
        (d.source, d.first.action if d.first else None, d.second.action if d.second else None)
        for d in differences(manual, auto)
    ]

    assert [
        ("tick", None, "failed_back"),
        ("06-westus-unavailable.json", "failed_over", "recorded"),
    ] == found


def test_a_history_is_replayed_in_the_order_received_not_the_order_given() -> None:
    """The resolution given first still comes after the incident it resolves."""
    incident, _, _, resolution = history()[:4]

    run = replay(load_config(str(DEMO)), [resolution, incident], tail=timedelta(0))

    assert ["01-incident-eastus.json", "04-resolved.json"] == [
        s.source for s in run.steps if s.source != "tick"
    ]


def test_an_exported_service_health_event_is_read_as_the_webhook_would_have_sent_it() -> None:
    """An Activity Log export (`category.value`, `status.value`, properties as exported) parses
    with the app's own parser into the update the legacy webhook would have carried."""
    event = {
        "category": {"value": "ServiceHealth", "localizedValue": "Service Health"},
        "eventDataId": "4c8e2a10-5b3d-4f6e-8a91-0d2c7e9f1b35",
        "eventTimestamp": "2026-03-02T09:12:31.0000000Z",
        "submissionTimestamp": "2026-03-02T09:12:40.5118731Z",
        "status": {"value": "Active", "localizedValue": "Active"},
        "properties": {
            "title": "Azure AI Video Indexer - East US",
            "incidentType": "Incident",
            "trackingId": "EXP1-2AB",
            "impactedServices": json.dumps(
                [{"ImpactedRegions": [{"RegionName": "East US"}], "ServiceName": "Video Indexer"}]
            ),
            "stage": "Active",
            "communicationId": "638765119605118731",
        },
    }

    delivery = delivery_of(event, "export.json")
    signal = parse_alert(delivery.payload)

    assert isinstance(signal, Signal)
    assert ("EXP1-2AB", "638765119605118731", "Active", ("East US",)) == (
        signal.key,
        signal.update_id,
        signal.status,
        signal.services[0].regions,
    )
    assert datetime(2026, 3, 2, 9, 12, 40, 511873, tzinfo=UTC) == delivery.received


def test_an_exported_resource_health_event_keeps_its_health() -> None:
    """healthStatus becomes currentHealthStatus: Available resolves."""
    raw = json.loads((HISTORY / "07-westus-available.activitylog.json").read_text("utf-8"))

    signal = parse_alert(delivery_of(raw, "x").payload)

    assert isinstance(signal, Signal)
    assert ("Available", "Downtime", Phase.RESOLVED) == (
        signal.health,
        signal.incident_type,
        signal.phase,
    )


def test_an_exported_history_line_is_received_when_the_controller_received_it() -> None:
    """`receivedAt` orders it, not the alert's own times."""
    item = {"receivedAt": "2026-03-01T00:00:00Z", "alert": af.service_health()}

    delivery = delivery_of(item, "h.jsonl:1")

    assert datetime(2026, 3, 1, tzinfo=UTC) == delivery.received


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ([], "h:1: not a JSON object"),
        ({"receivedAt": "soon", "alert": {}}, "h:1: receivedAt"),
        ({"category": {"value": "Administrative"}, "properties": {}}, "category 'Administrative'"),
        ({"hello": 1}, "neither an alert"),
        ({"category": "ServiceHealth", "properties": {}}, "eventProperties is not"),
        ({"schemaId": "azureMonitorCommonAlertSchema", "data": {}}, "no time to order it by"),
    ],
    ids=[
        "not-object",
        "bad-received",
        "other-category",
        "unknown-shape",
        "no-event-properties",
        "no-time",
    ],
)
def test_an_item_replay_cannot_read_is_refused_naming_it(item: object, message: str) -> None:
    """Bad input fails before anything is replayed, naming the item."""
    with pytest.raises(ReplayInputError, match=message):
        delivery_of(item, "h:1")


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ({"events": {}}, "expected a list"),
        ([{"account": "nope", "from": "2026-03-02T09:00:00Z"}], "'nope' is not a configured"),
        ([{"account": "contoso-westus", "from": "x"}], r"events\[0\].from"),
        ([{"account": "contoso-westus", "from": "2026-03-02T09:00:00Z", "status": "sad"}], "sad"),
        (
            [
                {
                    "account": "contoso-westus",
                    "from": "2026-03-02T09:00:00Z",
                    "to": "2026-03-02T08:00:00Z",
                }
            ],
            "must be after",
        ),
        ([{"account": "contoso-westus", "from": "2026-03-02T09:00:00Z", "until": 1}], "until"),
    ],
    ids=["not-list", "unknown-account", "bad-from", "bad-status", "backwards", "unknown-key"],
)
def test_readiness_events_replay_cannot_read_are_refused_naming_the_key(
    events: object, message: str
) -> None:
    """Each readiness event names a configured account and a window that moves forward."""
    with pytest.raises(ReplayInputError, match=message):
        readiness_windows(events, "r.json", ACCOUNTS)


def test_an_invalid_alert_in_the_history_changes_nothing_and_is_shown() -> None:
    """What the app would answer 400 to is a step of its own, touching no group."""
    broken = Delivery(datetime(2026, 3, 2, tzinfo=UTC), {"schemaId": 7}, "bad.json")

    run = replay(load_config(str(DEMO)), [broken], tail=timedelta(0))

    assert [("", "invalid")] == [(s.group, s.action) for s in run.steps]
    assert "contoso-eastus" == run.states["default"].active


def test_an_account_without_a_location_cannot_be_replayed() -> None:
    """Replay cannot ask ARM, so it says which account needs its location."""
    raw = json.loads(DEMO.read_text(encoding="utf-8"))
    del raw["groups"][0]["accounts"][1]["location"]

    with pytest.raises(ReplayInputError, match="contoso-westus has no location"):
        replay(parse_config(raw), history())


def test_a_resolution_that_names_no_group_is_kept_and_a_late_activation_moves_nothing() -> None:
    """As the app does: the resolution of a Central US incident is recorded as the newest
    update, so its Active update arriving later (older) is stale for every group."""
    resolved = af.service_health(
        tracking_id="LATE-1", stage="Resolved", communication_id="2",
        services=[("Azure AI Video Indexer", ["Central US"])],
    )  # fmt: skip
    active = af.service_health(tracking_id="LATE-1", communication_id="1", event_time=EARLIER)
    history = [
        Delivery(datetime(2026, 11, 20, 10, 5, tzinfo=UTC), resolved, "resolved.json"),
        Delivery(datetime(2026, 11, 20, 10, 6, tzinfo=UTC), active, "late-active.json"),
    ]

    run = replay(load_config(str(DEMO)), history, tail=timedelta(0))

    assert [("", "recorded"), ("default", "duplicate")] == [
        (s.group, s.action) for s in run.steps if s.source != "tick"
    ]
    assert "contoso-eastus" == run.states["default"].active


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            {
                "time": "2026-03-02T11:20:55.908Z",
                "category": "ServiceHealth",
                "resultType": "Resolved",
                "operationName": "Microsoft.ServiceHealth/incident/action",
                "properties": {
                    "eventCategory": "ServiceHealth",
                    "eventProperties": {
                        "title": "Azure AI Video Indexer - East US",
                        "incidentType": "Incident",
                        "trackingId": "RPL4-8QK",
                        "impactedServices": '[{"ImpactedRegions":[{"RegionName":"East US"}],'
                        '"ServiceName":"Azure AI Video Indexer"}]',
                        "stage": "Resolved",
                        "communicationId": "638765196559082174",
                    },
                },
            },
            ("RPL4-8QK", Phase.RESOLVED, "", ("East US",)),
        ),
        (
            {
                "time": "2026-03-06T02:10:31.204Z",
                "category": "ResourceHealth",
                "resultType": "Active",
                "resourceId": WEST_ID,
                "properties": {
                    "eventCategory": "ResourceHealth",
                    "eventDataId": "9e5b4062-7b8f-4c2e-9da5-4fb06bd28e55",
                    "eventProperties": {
                        "title": "Video Indexer account health status changed to unavailable",
                        "currentHealthStatus": "Unavailable",
                        "previousHealthStatus": "Available",
                        "type": "Downtime",
                    },
                },
            },
            (WEST_ID.lower(), Phase.ACTIVE, "Unavailable", ()),
        ),
    ],
    ids=["service-health-resolved", "resource-health-unavailable"],
)
def test_a_diagnostic_setting_record_is_read_as_the_webhook_would_have_sent_it(
    record: dict[str, object], expected: tuple[object, ...]
) -> None:
    """Activity Log records a diagnostic setting wrote to storage or Log Analytics (`time`,
    `category`, `properties.eventProperties`) parse with the app's own parser."""
    delivery = delivery_of(record, "insights-activity-logs.json")
    signal = parse_alert(delivery.payload)

    assert isinstance(signal, Signal)
    regions = tuple(r for s in signal.services for r in s.regions)
    assert expected == (signal.key, signal.phase, signal.health, regions)
    assert str(record["time"]).startswith(f"{delivery.received:%Y-%m-%dT%H:%M:%S}")


def test_a_group_in_shadow_mode_is_replayed_as_the_policy_would_act() -> None:
    """Shadow mode keeps production's flag still; a replay shows what the policy does, so the
    same history gives the same decisions and moves whichever mode the config names."""
    active = replay(with_policy(mode="active"), history())
    shadow = replay(with_policy(mode="shadow"), history())

    decided = [[(s.source, s.action, s.to_account) for s in run.steps] for run in (active, shadow)]
    assert decided[0] == decided[1]
    assert 2 == summarize(shadow, "default", ACCOUNTS).moves
