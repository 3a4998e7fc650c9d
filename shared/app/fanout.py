"""Large fan-outs: an update that touches more than `inline_groups` groups is accepted onto the
queue in batches (then recorded as accepted) and answered at once; the queue-triggered function
applies each batch to its groups exactly as an alert is applied inline (README, "Large
fan-outs: the queue")."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from shared.app.accounts import AccountDirectory
from shared.app.errors import UnavailableError
from shared.app.newest import NewestUpdates
from shared.app.notifications import ALERT_WAIT_SECONDS, Notifications
from shared.app.ports import StateStore, WorkQueue
from shared.app.signals import SignalApplier
from shared.app.telemetry import BATCH_SPAN, DELIVERY, NullTelemetry, Telemetry, describe
from shared.core.fanout import (
    FanoutBatch,
    FanoutJob,
    decode_batch,
    encode_batch,
    groups_digest,
    make_batches,
)
from shared.core.lifecycle import reduced
from shared.core.model import Group, Signal
from shared.core.state import most_significant

log = logging.getLogger(__name__)

INLINE_GROUPS_DEFAULT = 100
# A batch trusts a target whose stored probe passed this recently instead of probing it: three
# ARM and VI calls per group would meet ARM's throttling in a regional outage. The readiness
# timer keeps these probes fresh (every 5 minutes by default).
TRUSTED_READINESS = timedelta(minutes=10)


class FanoutBatches:
    """Accepts large fan-outs onto the queue and applies their batches."""

    def __init__(
        self,
        store: StateStore,
        queue: WorkQueue | None,
        directory: AccountDirectory,
        applier: SignalApplier,
        newest: NewestUpdates,
        notifications: Notifications,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        inline_groups: int = INLINE_GROUPS_DEFAULT,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._telemetry = telemetry or NullTelemetry()
        self._store = store
        self._queue = queue
        self._directory = directory
        self._applier = applier
        self._newest = newest
        self._notifications = notifications
        self._clock = clock
        self._new_id = new_id
        self._inline_groups = inline_groups

    def backlog(self) -> int:
        """Batches waiting on the queue (0 without one); QueueUnavailableError if unknown."""
        return 0 if self._queue is None else self._queue.backlog()

    def queued(self, groups: int) -> bool:
        """Whether an alert touching this many groups goes through the queue."""
        return self._queue is not None and groups > self._inline_groups

    def accepted_before(self, signal: Signal, impacted: set[str]) -> FanoutJob | None:
        """The record of this update accepted earlier for these groups (a re-delivery)."""
        if not self.queued(len(impacted)):
            return None
        job = self._store.fanout_job(signal.kind, signal.key, signal.update_id)
        return job if job is not None and job.digest == groups_digest(impacted) else None

    def accept(
        self, signal: Signal, groups: Sequence[Group], digest: str, delivery: str
    ) -> FanoutJob:
        """Queue the update for these groups in batches, then record that it was accepted.

        In that order: if the record cannot be written the delivery answers 503 and its retry
        queues the batches again, which only adds `duplicate`s; a record with no batches
        behind it would lose the moves. A batch carries the signal reduced to what decisions
        need, so a message stays small whatever Azure sent.
        """
        small = reduced(signal, self._newest.service_names)
        batches = make_batches(delivery, small, [g.name for g in groups])
        assert self._queue is not None  # noqa: S101  checked by `queued`
        self._queue.send([encode_batch(b) for b in batches])
        job = FanoutJob(
            job=delivery,
            kind=signal.kind,
            key=signal.key,
            update_id=signal.update_id,
            groups=len(groups),
            digest=digest,
            batches=len(batches),
            accepted_at=self._clock(),
        )
        self._store.save_fanout_job(job)
        log.info(
            "alert %s %s touches %d groups: accepted as fan-out %s in %d batches",
            signal.kind.value,
            signal.key,
            len(groups),
            delivery,
            len(batches),
        )
        return job

    def apply_batch(self, message: str) -> dict[str, str]:
        """Apply one queued batch; each group's action.

        Raises InvalidBatchError for a message this app did not write, and UnavailableError
        when a group could not be saved (or resolved), so the queue redelivers the batch: its
        groups already done then answer `duplicate`.
        """
        with self._telemetry.span(BATCH_SPAN) as span:
            batch = decode_batch(message)
            span.set(DELIVERY, batch.job)
            tracking = batch.signal.tracking_id or batch.signal.key
            try:
                actions = self._apply(batch)
            except UnavailableError:
                describe(span, "unavailable", batch.groups, tracking)
                raise
            describe(span, most_significant(list(actions.values())), list(actions), tracking)
            return actions

    def _apply(self, batch: FanoutBatch) -> dict[str, str]:
        delivery = self._new_id()
        groups = []
        failures: list[Exception] = []
        for name in batch.groups:
            group = self._directory.config.group(name)
            if group is None:
                log.warning("fan-out %s: group %s is not configured; skipped", batch.job, name)
                continue
            try:
                groups.append(self._directory.resolved(group))
            except UnavailableError as exc:
                failures.append(exc)
        newest = self._newest.before(batch.signal, remember=False)
        decisions, errors = self._applier.apply(
            batch.signal, groups, delivery, newest, trust=TRUSTED_READINESS
        )
        failures.extend(errors)
        self._notifications.send_and_wait(decisions, ALERT_WAIT_SECONDS)
        actions: dict[str, str] = {d.group: d.action for d in decisions}
        counts = ", ".join(f"{n} {a}" for a, n in sorted(Counter(actions.values()).items()))
        log.info(
            "fan-out %s batch %d/%d of %s %s applied: %s",
            batch.job,
            batch.index,
            batch.count,
            batch.signal.kind.value,
            batch.signal.key,
            counts or "no group",
        )
        if failures:
            raise failures[0]
        return actions
