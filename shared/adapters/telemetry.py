"""`OpenTelemetryTelemetry`: the telemetry port on OpenTelemetry, and `start_azure_monitor`, which
points OpenTelemetry at Application Insights through the Azure Monitor distro.

Only the composition root imports this module, and only when
APPLICATIONINSIGHTS_CONNECTION_STRING is set: with telemetry off, no OpenTelemetry module is
loaded and a cold start costs what it did before.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from opentelemetry.trace import TracerProvider

from shared.app.errors import UnavailableError
from shared.app.telemetry import Attribute, Span, TickReport

log = logging.getLogger(__name__)

SCOPE = "vi_failover"
# Our loggers' decisions are INFO lines; the distro's handler sits on the root logger.
APP_LOGGER = "shared"

# The instruments: name (as AppMetrics and customMetrics show it), unit, description.
ALERTS = ("vi_failover.alerts", "{alert}", "Alert deliveries answered, by outcome")
MOVES = ("vi_failover.moves", "{move}", "Changes of a group's active account, by kind")
GROUPS_BLOCKED = ("vi_failover.groups.blocked", "{group}", "Groups whose failover is blocked")
GROUPS_BLOCKED_LONGEST = ("vi_failover.groups.blocked_longest", "s", "Longest a group is blocked")
GROUPS_SECONDARY = ("vi_failover.groups.secondary", "{group}", "Groups not on their primary")
PROBE_DURATION = ("vi_failover.probe.duration", "s", "Readiness probes, by account and status")
ACCOUNT_READY = ("vi_failover.account.ready", "1", "1 when the last probe found the account ready")
ACCOUNT_ACTIVE_GROUPS = ("vi_failover.account.active_groups", "{group}", "Groups it is active in")
TICK_AGE = ("vi_failover.readiness.tick_age", "s", "Time since this instance's last tick")
BACKLOG = ("vi_failover.fanout.backlog", "{message}", "Fan-out batches waiting on the queue")


class _OpenTelemetrySpan:
    def __init__(self, span: trace.Span) -> None:
        self._span = span

    def set(self, key: str, value: Attribute) -> None:
        """Set one attribute on the span."""
        self._span.set_attribute(key, value)


class OpenTelemetryTelemetry:
    """Spans through a tracer and figures through a meter of the given (or global) providers."""

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, meter_provider=meter_provider)
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._ticked_at: float | None = None
        self._backlog: Callable[[], int] | None = None
        self._alerts = meter.create_counter(*ALERTS)
        self._moves = meter.create_counter(*MOVES)
        self._blocked = meter.create_gauge(*GROUPS_BLOCKED)
        self._blocked_longest = meter.create_gauge(*GROUPS_BLOCKED_LONGEST)
        self._secondary = meter.create_gauge(*GROUPS_SECONDARY)
        self._probe_duration = meter.create_histogram(*PROBE_DURATION)
        self._ready = meter.create_gauge(*ACCOUNT_READY)
        self._active_groups = meter.create_gauge(*ACCOUNT_ACTIVE_GROUPS)
        meter.create_observable_gauge(TICK_AGE[0], [self._observe_tick_age], *TICK_AGE[1:])
        meter.create_observable_gauge(BACKLOG[0], [self._observe_backlog], *BACKLOG[1:])

    @contextmanager
    def span(self, name: str) -> Iterator[Span]:
        """A current span: logs inside it carry its ids; an error ends it with that error."""
        with self._tracer.start_as_current_span(name) as span:
            yield _OpenTelemetrySpan(span)

    def alert(self, outcome: str) -> None:
        """Count one answered alert."""
        self._alerts.add(1, {"outcome": outcome})

    def moved(self, kind: str) -> None:
        """Count one move of a group's active account."""
        self._moves.add(1, {"kind": kind})

    def probed(self, account: str, status: str, seconds: float) -> None:
        """Record one probe's duration, by account and status."""
        self._probe_duration.record(seconds, {"account": account, "status": status})

    def ticked(self, report: TickReport) -> None:
        """Record a tick's figures; its time is the tick age's origin from now on."""
        with self._lock:
            self._ticked_at = self._monotonic()
        self._blocked.set(report.blocked)
        self._blocked_longest.set(report.blocked_longest_seconds)
        self._secondary.set(report.secondary)
        # One series per account: a gauge repeats each series' last value at every export, so
        # an attribute that changes (a status, a role) would leave stale series behind.
        for name, account in report.accounts.items():
            self._ready.set(1 if account.ready else 0, {"account": name})
            self._active_groups.set(account.active_groups, {"account": name})

    def watch_backlog(self, read: Callable[[], int]) -> None:
        """Read the fan-out backlog with `read` at each collection."""
        self._backlog = read

    def _observe_tick_age(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            ticked_at = self._ticked_at
        if ticked_at is None:
            return []  # no tick on this instance yet: nothing to say, rather than a made-up age
        return [Observation(self._monotonic() - ticked_at)]

    def _observe_backlog(self, options: CallbackOptions) -> Iterable[Observation]:
        read = self._backlog
        if read is None:
            return []
        try:
            return [Observation(read())]
        except UnavailableError as exc:
            log.warning("fan-out backlog not measured: %s", exc)
            return []


@functools.cache
def start_azure_monitor(connection_string: str) -> OpenTelemetryTelemetry:
    """Configure the Azure Monitor distro once per process (traces, metrics, and logs through
    its handler on the root logger), and the telemetry on its providers.

    The exporter reads APPLICATIONINSIGHTS_AUTHENTICATION_STRING itself, so Entra ID
    authenticated ingestion (as infra/ deploys it) needs nothing more here."""
    # Imported here, not above: only the distro's set-up needs it, and tests use the SDK alone.
    from azure.monitor.opentelemetry import configure_azure_monitor  # noqa: PLC0415

    configure_azure_monitor(connection_string=connection_string, logger_name="")
    app_logger = logging.getLogger(APP_LOGGER)
    if app_logger.getEffectiveLevel() > logging.INFO:
        app_logger.setLevel(logging.INFO)  # each decision is logged once, at INFO
    return OpenTelemetryTelemetry()
