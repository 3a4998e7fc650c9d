"""Telemetry: the controller's spans, figures and logs through the OpenTelemetry adapter, read
back from the SDK's in-memory exporters; probes go over HTTP to the ARM/VI stand-in."""

from __future__ import annotations

import logging
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from devhost.standin import AzureStandIn
from shared.adapters.arm import ArmClient, StaticTokenCredential
from shared.adapters.memory_store import InMemoryStateStore, InMemoryWorkQueue
from shared.adapters.probe import AccountProber
from shared.adapters.telemetry import OpenTelemetryTelemetry
from shared.app.controller import Controller
from shared.core.jsontext import InvalidAlertError
from shared.core.model import Config
from shared.http.handlers import HttpApi
from shared.settings import Settings, StorageSettings
from tests import alertfactory as af
from tests.core import EAST, WEST, FakeClock, group
from tests.funcrequests import body_of, request

Attributes = frozenset[tuple[str, Any]]


class Rig:
    """The controller on the in-memory store and the stand-in, reporting to in-memory
    exporters."""

    def __init__(self, standin: AzureStandIn, config: Config, *, inline_groups: int = 100) -> None:
        self.clock = FakeClock()
        self.monotonic = 1000.0
        self.spans = InMemorySpanExporter()
        self.tracer_provider = tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.telemetry = OpenTelemetryTelemetry(
            tracer_provider,
            MeterProvider(metric_readers=[self.metrics]),
            monotonic=lambda: self.monotonic,
        )
        arm = ArmClient(StaticTokenCredential("test-token"), base_url=standin.url, timeout=0.5)
        prober = AccountProber(
            arm, vi_base_url=standin.url, timeout=0.5, slow_ms=100, sleep=lambda _: None
        )
        ids = count(1)
        self.queue = InMemoryWorkQueue()
        self.controller = Controller(
            config,
            InMemoryStateStore(),
            self.clock,
            lambda: f"d{next(ids)}",
            prober=prober,
            queue=self.queue,
            inline_groups=inline_groups,
            telemetry=self.telemetry,
        )

    def alert(self, **kwargs: Any) -> str:
        return self.controller.handle_alert(af.to_body(af.service_health(**kwargs))).outcome

    def span(self, name: str) -> ReadableSpan:
        """The one finished span of that name."""
        found = [s for s in self.spans.get_finished_spans() if s.name == name]
        assert 1 == len(found), [s.name for s in self.spans.get_finished_spans()]
        return found[0]

    def figures(self, name: str) -> dict[Attributes, Any]:
        """The data points of one metric, by their attributes."""
        data = self.metrics.get_metrics_data()
        assert data is not None
        return {
            frozenset((point.attributes or {}).items()): point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        }

    def values(self, name: str) -> dict[Attributes, float]:
        return {key: point.value for key, point in self.figures(name).items()}


def key(**attributes: str) -> Attributes:
    return frozenset(attributes.items())


NONE = key()


@pytest.fixture
def rig(standin: AzureStandIn) -> Rig:
    """One group, east then west."""
    return Rig(standin, Config(groups=(group(),)))


def test_a_failover_gives_the_alert_span_its_attributes_and_counts_the_move(rig: Rig) -> None:
    """An East US incident: the alert's span says failed_over, the group and the tracking id;
    alerts by outcome, moves by kind and the standby's probe are counted."""
    outcome = rig.alert(tracking_id="VT0X-1AB")

    span = rig.span("vi-failover alert")
    assert "failed_over" == outcome
    assert {
        "vi_failover.outcome": "failed_over",
        "vi_failover.groups": 1,
        "vi_failover.group_names": ("default",),
        "vi_failover.tracking_id": "VT0X-1AB",
    } == dict(span.attributes or {})
    assert StatusCode.ERROR != span.status.status_code
    assert {key(outcome="failed_over"): 1} == rig.values("vi_failover.alerts")
    assert {key(kind="failed_over"): 1} == rig.values("vi_failover.moves")
    probes = rig.figures("vi_failover.probe.duration")
    assert 1 == probes[key(account=WEST.name, status="healthy")].count


def test_an_alert_that_is_not_ours_moves_nothing_and_counts_as_ignored(rig: Rig) -> None:
    """A metric alert: span and counter say ignored; no move is counted."""
    rig.controller.handle_alert(af.to_body(af.metric_alert()))

    span = rig.span("vi-failover alert")
    assert "ignored" == (span.attributes or {})["vi_failover.outcome"]
    assert 0 == (span.attributes or {})["vi_failover.groups"]
    assert {key(outcome="ignored"): 1} == rig.values("vi_failover.alerts")
    assert {} == rig.values("vi_failover.moves")


def test_a_body_that_is_not_an_alert_ends_its_span_as_failed(rig: Rig) -> None:
    """Not JSON: the span records the error and the counter says invalid."""
    with pytest.raises(InvalidAlertError):
        rig.controller.handle_alert(b"not json")

    span = rig.span("vi-failover alert")
    assert StatusCode.ERROR == span.status.status_code
    assert {key(outcome="invalid"): 1} == rig.values("vi_failover.alerts")


def test_a_tick_after_a_failover_reports_the_group_on_its_secondary(rig: Rig) -> None:
    """After the failover a tick finds the group on west: one group secondary, none blocked;
    each account's readiness and the groups it is active in; the tick's age grows from its end."""
    rig.alert()

    rig.controller.readiness_tick()
    rig.monotonic += 90

    span = rig.span("vi-failover readiness tick")
    assert "recorded" == (span.attributes or {})["vi_failover.outcome"]
    assert 1 == (span.attributes or {})["vi_failover.groups"]
    assert {NONE: 1} == rig.values("vi_failover.groups.secondary")
    assert {NONE: 0} == rig.values("vi_failover.groups.blocked")
    assert {key(account=EAST.name): 1, key(account=WEST.name): 1} == rig.values(
        "vi_failover.account.ready"
    )
    assert {key(account=EAST.name): 0, key(account=WEST.name): 1} == rig.values(
        "vi_failover.account.active_groups"
    )
    assert {NONE: 90} == rig.values("vi_failover.readiness.tick_age")


def test_a_blocked_group_is_reported_with_how_long_it_has_been_blocked(
    rig: Rig, standin: AzureStandIn
) -> None:
    """West is down when east's incident arrives: blocked; seven minutes later a tick reports
    one blocked group, blocked for 420 s, and west not ready."""
    standin.set_behaviour(WEST.name, "unhealthy")
    assert "blocked" == rig.alert()

    rig.clock.now += timedelta(minutes=7)
    rig.controller.readiness_tick()

    assert {NONE: 1} == rig.values("vi_failover.groups.blocked")
    assert {NONE: 420} == rig.values("vi_failover.groups.blocked_longest")
    assert {NONE: 0} == rig.values("vi_failover.groups.secondary")
    assert {key(account=EAST.name): 1, key(account=WEST.name): 0} == rig.values(
        "vi_failover.account.ready"
    )
    assert {key(outcome="blocked"): 1} == rig.values("vi_failover.alerts")


def test_an_account_that_recovers_leaves_no_stale_series_behind(
    rig: Rig, standin: AzureStandIn
) -> None:
    """West fails one tick and passes the next: one series per account, west's now 1 (a
    gauge repeats every series' last value, so a status among the attributes would leave
    west's failure reported for ever)."""
    standin.set_behaviour(WEST.name, "unhealthy")
    rig.controller.readiness_tick()
    standin.set_behaviour(WEST.name, "healthy")

    rig.controller.readiness_tick()

    assert {key(account=EAST.name): 1, key(account=WEST.name): 1} == rig.values(
        "vi_failover.account.ready"
    )


def test_no_tick_yet_means_no_tick_age(rig: Rig) -> None:
    """An instance that has not ticked reports no age rather than a made-up one."""
    assert {} == rig.values("vi_failover.readiness.tick_age")


def test_a_fanout_batch_has_its_span_and_the_backlog_is_measured(standin: AzureStandIn) -> None:
    """Two groups over an inline limit of one: the alert is accepted onto the queue (backlog
    counted), and the batch's span says failed_over for both groups with the tracking id."""
    config = Config(groups=(group(name="tenant-a"), group(name="tenant-b")))
    rig = Rig(standin, config, inline_groups=1)

    assert "recorded" == rig.alert(tracking_id="VT0X-2CD")
    waiting = len(rig.queue.messages)
    backlog = rig.values("vi_failover.fanout.backlog")
    for message in rig.queue.take():
        rig.controller.apply_batch(message)

    assert {NONE: waiting} == backlog
    assert {NONE: 0} == rig.values("vi_failover.fanout.backlog")
    alert = rig.span("vi-failover alert").attributes or {}
    assert (2, "VT0X-2CD") == (alert["vi_failover.groups"], alert["vi_failover.tracking_id"])
    batch = rig.span("vi-failover fanout batch").attributes or {}
    assert {
        "vi_failover.delivery": "d1",
        "vi_failover.outcome": "failed_over",
        "vi_failover.groups": 2,
        "vi_failover.group_names": ("tenant-a", "tenant-b"),
        "vi_failover.tracking_id": "VT0X-2CD",
    } == dict(batch)
    assert {key(kind="failed_over"): 2} == rig.values("vi_failover.moves")


def test_over_http_the_alert_span_is_a_child_of_the_invocations_span(rig: Rig) -> None:
    """POST /api/alerts runs its work on a worker thread within the 8 s budget; the alert's
    span still has the caller's (the host's invocation) span as its parent."""
    config = rig.controller.config
    api = HttpApi(
        Settings(config=config, storage=StorageSettings(connection_string="x=y")),
        lambda: rig.controller,
    )
    tracer = rig.tracer_provider.get_tracer("test")

    with tracer.start_as_current_span("invocation") as invocation:
        response = api.alerts(request("POST", "alerts", body=af.to_body(af.service_health())))

    assert (200, "failed_over") == (response.status_code, body_of(response)["outcome"])
    parent = rig.span("vi-failover alert").parent
    assert parent is not None
    assert invocation.get_span_context().span_id == parent.span_id


def test_the_controllers_logs_carry_the_alert_spans_ids(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the distro's logging handler on the root logger, the decision logs of a
    failover, from every thread that worked on it, are correlated with the alert's span."""
    exported = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]  # SDK: untyped
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exported))
    handler = LoggingHandler(logger_provider=provider)
    caplog.set_level(logging.INFO, logger="shared")
    logging.getLogger().addHandler(handler)
    try:
        rig.alert()
    finally:
        logging.getLogger().removeHandler(handler)

    span = rig.span("vi-failover alert").get_span_context()
    assert span is not None
    logs = [r.log_record for r in exported.get_finished_logs()]
    assert any("group default: failed_over" in str(r.body) for r in logs), logs
    assert any(str(r.body).startswith("probe contoso-westus") for r in logs), logs
    assert {(span.trace_id, span.span_id)} == {(r.trace_id, r.span_id) for r in logs}
