"""Alert intake: an action-group delivery is parsed, routed to the groups it touches, and
applied inline or accepted onto the fan-out queue. Every delivery leaves an audit line."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from shared.app.accounts import AccountDirectory
from shared.app.errors import UnavailableError
from shared.app.fanout import FanoutBatches
from shared.app.newest import NewestUpdates
from shared.app.notifications import ALERT_WAIT_SECONDS, Notifications
from shared.app.ports import StateStore
from shared.app.signals import SignalApplier
from shared.app.telemetry import ALERT_SPAN, NullTelemetry, Telemetry, describe
from shared.core.alerts import parse_alert_body
from shared.core.fanout import FanoutJob, groups_digest
from shared.core.jsontext import InvalidAlertError
from shared.core.lifecycle import impacted_accounts, is_closing
from shared.core.limits import UnstorableValueError
from shared.core.model import Group, NotOurs, Signal, SignalKind, Timekeeping
from shared.core.state import AuditRecord, Decision, most_significant

log = logging.getLogger(__name__)
_NAMES_SHOWN = 10


@dataclass(frozen=True)
class AlertResult:
    """The answer to one alert delivery."""

    outcome: str
    reason: str
    decisions: tuple[Decision, ...]
    queued: FanoutJob | None = None  # the fan-out the delivery accepted, or found accepted
    tracking_id: str = ""  # of the incident the alert is about; "" when it is not ours


class AlertIntake:
    """Handles POST /api/alerts deliveries."""

    def __init__(
        self,
        store: StateStore,
        directory: AccountDirectory,
        applier: SignalApplier,
        batches: FanoutBatches,
        newest: NewestUpdates,
        notifications: Notifications,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        timekeeping: Timekeeping,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._telemetry = telemetry or NullTelemetry()
        self._store = store
        self._directory = directory
        self._applier = applier
        self._batches = batches
        self._newest = newest
        self._notifications = notifications
        self._clock = clock
        self._new_id = new_id
        self._timekeeping = timekeeping

    def handle(self, body: bytes) -> AlertResult:
        """Parse a delivery and apply it to every group it touches.

        InvalidAlertError for a body that is not an alert (nothing written); UnavailableError
        when a dependency failed for some group, after every other group was applied."""
        with self._telemetry.span(ALERT_SPAN) as span:
            try:
                result = self._handle(body)
            except (InvalidAlertError, UnstorableValueError):
                self._telemetry.alert("invalid")
                raise
            except UnavailableError:
                self._telemetry.alert("unavailable")
                raise
            touched = [d.group for d in result.decisions]
            count = result.queued.groups if result.queued else None
            describe(span, result.outcome, touched, result.tracking_id, count=count)
            self._telemetry.alert(result.outcome)
            return result

    def _handle(self, body: bytes) -> AlertResult:
        parsed = parse_alert_body(body)
        delivery = self._new_id()
        if isinstance(parsed, NotOurs):
            return self._ignored(parsed.reason, parsed.alert_kind, delivery)
        result = self._apply(parsed, delivery)
        return replace(result, tracking_id=parsed.tracking_id or parsed.key)

    def _apply(self, parsed: Signal, delivery: str) -> AlertResult:
        newest = self._newest.before(parsed, remember=True)
        impacted, failures = self._impacted(parsed)
        names = {g.name for g in impacted}
        accepted = self._batches.accepted_before(parsed, names)
        if accepted is not None:
            return self._duplicate_fanout(parsed, accepted, failures)
        tracking = set(self._store.groups_tracking(parsed.key)) - names
        touched = [*impacted, *self._tracking(tracking, failures)]
        if self._batches.queued(len(touched)):
            job = self._batches.accept(parsed, touched, groups_digest(names), delivery)
            _raise_first(failures)
            reason = (
                f"{parsed.kind.value} {parsed.key} touches {len(touched)} groups: accepted as "
                f"fan-out {delivery}, applied from the queue in {job.batches} batches"
            )
            return AlertResult("recorded", reason, (), queued=job)
        decisions, errors = self._applier.apply(parsed, touched, delivery, newest)
        self._notifications.send_and_wait(decisions, ALERT_WAIT_SECONDS)
        _raise_first([*failures, *errors])
        if not decisions:
            service_health = parsed.kind is SignalKind.SERVICE_HEALTH
            if service_health and is_closing(parsed) and self._newest.watched(parsed):
                return self._kept(parsed, delivery)
            return self._ignored(self._unmatched(parsed), parsed.kind.value, delivery, parsed)
        outcome = most_significant([d.action for d in decisions])
        reasons = [f"{d.group}: {d.reason}" for d in decisions if d.action == outcome]
        reason = decisions[0].reason if len(decisions) == 1 else "; ".join(reasons)
        return AlertResult(outcome, reason, tuple(decisions))

    def _impacted(self, signal: Signal) -> tuple[list[Group], list[UnavailableError]]:
        """The (resolved) groups the signal names, and the errors of groups that could not be
        resolved but might be named (their accounts' locations are unknown)."""
        groups: list[Group] = []
        failures: list[UnavailableError] = []
        for group in self._directory.config.groups:
            if signal.kind is SignalKind.RESOURCE_HEALTH and not impacted_accounts(signal, group):
                continue  # matched by resource id: no resolution needed to rule it out
            try:
                resolved = self._directory.resolved(group)
            except UnavailableError as exc:
                failures.append(exc)
                continue
            if impacted_accounts(signal, resolved):
                groups.append(resolved)
        return groups, failures

    def _tracking(self, names: set[str], failures: list[UnavailableError]) -> list[Group]:
        groups = []
        for group in self._directory.config.groups:
            if group.name in names:
                try:
                    groups.append(self._directory.resolved(group))
                except UnavailableError as exc:
                    failures.append(exc)
        return groups

    def _duplicate_fanout(
        self, signal: Signal, job: FanoutJob, failures: list[UnavailableError]
    ) -> AlertResult:
        _raise_first(failures)
        reason = (
            f"update {signal.update_id} of {signal.key} was accepted at "
            f"{job.accepted_at.isoformat()} for {job.groups} groups (fan-out {job.job}); "
            "its queued batches apply it"
        )
        log.info("alert %s %s: %s", signal.kind.value, signal.key, reason)
        return AlertResult("duplicate", reason, (), queued=job)

    def _kept(self, signal: Signal, delivery: str) -> AlertResult:
        """A resolution that names no configured group is kept, not ignored."""
        reason = (
            f"Service Health {signal.key} ({signal.phase.name.lower()}) names no configured "
            f"group; it is kept as the newest update of {signal.key} for "
            f"{self._timekeeping.retention.days} days, so a late activation of it moves nothing"
        )
        log.info("alert %s", reason)
        self._audit_unmatched("recorded", reason, signal.kind.value, delivery, signal)
        return AlertResult("recorded", reason, ())

    def _ignored(
        self, reason: str, kind: str, delivery: str, signal: Signal | None = None
    ) -> AlertResult:
        log.info("alert ignored (%s): %s", kind, reason)
        self._audit_unmatched("ignored", reason, kind, delivery, signal)
        return AlertResult("ignored", reason, ())

    def _audit_unmatched(
        self, action: str, reason: str, kind: str, delivery: str, signal: Signal | None
    ) -> None:
        """Audit an alert that touched no group, with its evidence."""
        record = AuditRecord(
            group="",
            time=self._clock(),
            action=action,
            from_account="",
            to_account="",
            reason=reason,
            actor="alert",
            record_id=f"{delivery}.{action}",
            signal_kind=kind,
        )
        if signal is not None:
            record = replace(
                record,
                tracking_id=signal.tracking_id or signal.key,
                communication_id=signal.communication_id or signal.update_id,
                title=signal.title,
                incident_type=signal.incident_type,
                stage=signal.stage or signal.status,
                signal=signal,
            )
        self._store.append_audit([record])

    def _unmatched(self, signal: Signal) -> str:
        if signal.synthetic:
            return (
                f"synthetic test alert {signal.key} (IsSynthetic=True) names no configured account"
            )
        if signal.resource_id:
            return f"Resource Health for {signal.resource_id}, which is not a configured account"
        services = sorted({s.name for s in signal.services})
        regions = sorted({r for s in signal.services for r in s.regions})
        wanted = list(self._newest.service_names)
        if not self._newest.watched(signal) or not services:
            log.info(
                "Service Health %s names services %s; none contains %s (extend "
                "policy.serviceNames if one of them is Video Indexer)",
                signal.key,
                _shown(services),
                wanted,
            )
            return f"Service Health {signal.key}: services {_shown(services)} do not match {wanted}"
        return f"Service Health {signal.key}: regions {_shown(regions)} hold no configured account"


def _raise_first(errors: Sequence[Exception]) -> None:
    """Raise the first error of the groups that failed, once the others are done."""
    if errors:
        raise errors[0]


def _shown(names: list[str]) -> str:
    """At most ten names, and how many more."""
    if len(names) <= _NAMES_SHOWN:
        return str(names)
    return f"{names[:_NAMES_SHOWN]} and {len(names) - _NAMES_SHOWN:,} more"
