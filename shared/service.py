"""`Controller`: the imperative shell around the decision core.

It reads a group's state, asks the pure core what to do, and saves the result with a
conditional write; when another writer got there first it re-reads and decides again, a
bounded number of times. Every decision is logged once, with its reason.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from shared.alerts import parse_alert_body
from shared.decide import (
    DEFAULT_TIMEKEEPING,
    blocking_incidents,
    decide,
    failover_causes,
    impacted_accounts,
    initial_state,
)
from shared.errors import UnavailableError
from shared.fanout import (
    FanoutJob,
    WorkQueue,
    decode_batch,
    encode_batch,
    groups_digest,
    make_batches,
)
from shared.lifecycle import arrival, behind, is_closing, known_update, with_clamped
from shared.manual import ManualRequest, decide_manual
from shared.model import (
    Account,
    AuditRecord,
    Config,
    Decision,
    Group,
    GroupState,
    KnownUpdate,
    NotOurs,
    ProbeResult,
    ReadinessStatus,
    Signal,
    SignalKind,
    Timekeeping,
    most_significant,
)
from shared.notify import Notification, Notifier, NullNotifier, notification_for
from shared.store import UNMATCHED, ConflictError, StateStore, StoreUnavailableError
from shared.tick import decide_tick, with_probes

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 8  # conditional-write retries per group before answering 503
CONFLICT_BACKOFF_SECONDS = 0.01
# Groups an alert touches are applied this many at a time (storage round trips, not CPU).
FANOUT_WORKERS = 16
MAX_PARALLEL_PROBES = 8  # the VI API allows 10 requests/s per account; probes are per account
# A pre-flight probe must leave the alert's answer well inside the action group's 10 s.
PREFLIGHT_SECONDS = 3.0
# Pages are sent in parallel; an alert's answer waits for them this long at most.
NOTIFY_WAIT_SECONDS = 4.0
TICK_NOTIFY_WAIT_SECONDS = 30.0
# An alert touching more groups than this is accepted onto the queue and applied in batches.
INLINE_GROUPS_DEFAULT = 100
# In a queued fan-out, a target whose stored probe passed this recently is not probed again:
# three ARM and VI calls per group would meet ARM's throttling in a regional outage. The
# readiness timer keeps these probes fresh (every 5 minutes by default).
TRUSTED_READINESS = timedelta(minutes=10)
MAX_FORGOTTEN_PER_TICK = 200


class Prober(Protocol):
    """Checks whether an account can take indexing work; never raises."""

    def probe(self, account: Account) -> ProbeResult:
        """The account's readiness now."""
        ...


class UnknownGroupError(LookupError):
    """No group of that name is configured."""


@dataclass(frozen=True)
class AlertResult:
    """The answer to one alert delivery."""

    outcome: str
    reason: str
    decisions: tuple[Decision, ...]
    queued: FanoutJob | None = None  # the fan-out the delivery accepted, or found accepted


def utc_now() -> datetime:
    """The wall clock in UTC; the one clock the controller reads."""
    return datetime.now(UTC)


class Controller:
    """Applies alerts and operator requests to the groups' stored state."""

    def __init__(
        self,
        config: Config,
        store: StateStore,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        *,
        prober: Prober | None = None,
        notifier: Notifier | None = None,
        sleep: Callable[[float], None] = time.sleep,
        queue: WorkQueue | None = None,
        inline_groups: int = INLINE_GROUPS_DEFAULT,
        timekeeping: Timekeeping = DEFAULT_TIMEKEEPING,
    ) -> None:
        self.config = config
        self.store = store
        self._clock = clock
        self._new_id = new_id
        self._prober = prober
        self._sleep = sleep
        self._notifier = notifier or NullNotifier()
        self._queue = queue
        self._inline_groups = inline_groups
        self._timekeeping = timekeeping
        self._service_names = tuple(
            sorted({n for g in config.groups for n in g.policy.service_names})
        )
        self._preflight_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="preflight")
        self._notify_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="notify")
        self._fanout_pool = ThreadPoolExecutor(
            max_workers=FANOUT_WORKERS, thread_name_prefix="group"
        )
        self._seeded = threading.Event()
        self._seed_lock = threading.Lock()

    def handle_alert(self, body: bytes) -> AlertResult:
        """Parse an action-group delivery and apply it to every group it touches."""
        parsed = parse_alert_body(body)
        delivery = self._new_id()
        if isinstance(parsed, NotOurs):
            return self._ignore(parsed.reason, parsed.alert_kind, delivery)
        self.ensure_seeded()
        newest = self._newest_before(parsed)
        impacted = {g.name for g in self.config.groups if impacted_accounts(parsed, g)}
        accepted = self._accepted_before(parsed, impacted)
        if accepted is not None:
            return accepted
        tracking = set(self.store.groups_tracking(parsed.key))
        touched = [g for g in self.config.groups if g.name in tracking or g.name in impacted]
        if self._queued(len(touched)):
            return self._accept(parsed, touched, groups_digest(impacted), delivery)
        decisions = self._apply_to(parsed, touched, delivery, newest)
        if not decisions:
            remembered = parsed.kind is SignalKind.SERVICE_HEALTH and self._watched(parsed)
            if remembered and is_closing(parsed):
                return self._remembered(parsed, delivery)
            return self._ignore(_unmatched_reason(parsed, self.config), parsed.kind.value, delivery)
        self._await_notifications([self._notify(d) for d in decisions], NOTIFY_WAIT_SECONDS)
        outcome = most_significant([d.action for d in decisions])
        reasons = [f"{d.group}: {d.reason}" for d in decisions if d.action == outcome]
        reason = decisions[0].reason if len(decisions) == 1 else "; ".join(reasons)
        return AlertResult(outcome, reason, tuple(decisions))

    def apply_batch(self, message: str) -> dict[str, str]:
        """Apply one queued batch of a fan-out; returns each group's action.

        Raises InvalidBatchError for a message this app did not write, and UnavailableError
        when a group could not be saved, so the queue redelivers the batch: its groups already
        done then answer `duplicate`.
        """
        batch = decode_batch(message)
        self.ensure_seeded()
        delivery = self._new_id()
        groups = []
        for name in batch.groups:
            group = self.config.group(name)
            if group is None:
                log.warning("fan-out %s: group %s is not configured; skipped", batch.job, name)
            else:
                groups.append(group)
        newest = self._newest_before(batch.signal, remember=False)
        decisions = self._apply_to(batch.signal, groups, delivery, newest, trust_readiness=True)
        self._await_notifications([self._notify(d) for d in decisions], NOTIFY_WAIT_SECONDS)
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
        return actions

    def _newest_before(self, signal: Signal, *, remember: bool = True) -> KnownUpdate | None:
        """The newest update of the signal's incident seen before this delivery (Service Health
        only); with `remember`, this update is kept as the newest when it is newer: before any
        group is written, so an older delivery racing it finds it."""
        if signal.kind is not SignalKind.SERVICE_HEALTH:
            return None
        newest = self.store.load_newest(signal.kind, signal.key)
        if not remember or not self._watched(signal):
            return newest
        now = self._clock()
        came = arrival(signal, now, self._timekeeping)
        is_newer = newest is None or (
            signal.update_id != newest.signal.update_id and not behind(signal, came, newest)
        )
        if is_newer:
            kept = known_update(signal, came, now, self._service_names, newest)
            self.store.remember_newest(kept)
        elif came.clamped and newest is not None:
            # An older update from beyond the skew bound: remembered by id, so that its
            # re-delivery (ordered later again) stays stale.
            noted = with_clamped(newest, signal.update_id)
            if noted is not newest:
                self.store.remember_newest(noted)
        return newest

    def _watched(self, signal: Signal) -> bool:
        """Whether the update may be about a watched service: it names one, or names none."""
        return not signal.services or any(
            name in s.name.lower() for s in signal.services for name in self._service_names
        )

    def _apply_to(
        self,
        signal: Signal,
        groups: list[Group],
        delivery: str,
        newest: KnownUpdate | None,
        *,
        trust_readiness: bool = False,
    ) -> list[Decision]:
        """Apply the signal to each group; then read the incident's newest update again: one
        that arrived while this delivery was applied (and so may have missed the groups this
        delivery started tracking the incident in) is applied to those groups."""
        decisions = self._for_each_group(
            groups,
            lambda group: self._apply_signal(
                signal, group, delivery, newest=newest, trust_readiness=trust_readiness
            ),
        )
        if signal.kind is not SignalKind.SERVICE_HEALTH or not groups:
            return decisions
        latest = self.store.load_newest(signal.kind, signal.key)
        if latest is None or latest == newest or latest.signal.update_id == signal.update_id:
            return decisions
        # The newer update's own delivery reaches every group it names, and every group that
        # tracked the incident when it looked: only a group it does not name, and that this
        # delivery started tracking the incident in, can have been missed.
        started = {d.group for d in decisions if _started_tracking(d, signal.key)}
        missed = [
            g for g in groups if g.name in started and not impacted_accounts(latest.signal, g)
        ]
        # What this delivery did is its answer; what the settling did is audited and logged.
        self._for_each_group(
            missed, lambda group: self._settle(latest.signal, group, f"{delivery}.settle")
        )
        return decisions

    def _settle(self, late: Signal, group: Group, delivery: str) -> Decision:
        """Apply an update that arrived while this delivery was applied; where the group has
        it already, nothing is written (not even an audit line)."""
        clock = self._timekeeping

        def choose(state: GroupState, now: datetime) -> Decision:
            decision = decide(late, group, state, now, delivery, clock=clock)
            return decision if decision.new_state is not None else replace(decision, audit=())

        decision = self._apply(group, delivery, choose)
        if decision.new_state is not None:
            log.info(
                "group %s: update %s of %s arrived meanwhile: %s",
                group.name,
                late.update_id,
                late.key,
                decision.reason,
            )
        return decision

    def _remembered(self, signal: Signal, delivery: str) -> AlertResult:
        """A resolution that names no configured group is remembered, not ignored."""
        retention = self._timekeeping.retention.days
        reason = (
            f"Service Health {signal.key} ({signal.phase.name.lower()}) names no configured "
            f"group; it is kept as the newest update of {signal.key} for {retention} days, so a "
            "late activation of it moves nothing"
        )
        log.info("alert %s", reason)
        self._audit_unmatched("recorded", reason, signal.kind.value, delivery, signal)
        return AlertResult("recorded", reason, ())

    def _queued(self, groups: int) -> bool:
        """Whether an alert touching this many groups goes through the queue."""
        return self._queue is not None and groups > self._inline_groups

    def _accepted_before(self, signal: Signal, impacted: set[str]) -> AlertResult | None:
        """The answer to a re-delivery of an update already accepted for these groups."""
        if not self._queued(len(impacted)):
            return None
        job = self.store.fanout_job(signal.kind, signal.key, signal.update_id)
        if job is None or job.digest != groups_digest(impacted):
            return None
        reason = (
            f"update {signal.update_id} of {signal.key} was accepted at "
            f"{job.accepted_at.isoformat()} for {job.groups} groups (fan-out {job.job}); "
            "its queued batches apply it"
        )
        log.info("alert %s %s: %s", signal.kind.value, signal.key, reason)
        return AlertResult("duplicate", reason, (), queued=job)

    def _accept(
        self, signal: Signal, groups: list[Group], digest: str, delivery: str
    ) -> AlertResult:
        """Queue the update for these groups in batches, then record that it was accepted.

        In that order: if the record cannot be written the delivery answers 503 and its retry
        queues the batches again, which only adds `duplicate`s; a record with no batches
        behind it would lose the moves.
        """
        batches = make_batches(delivery, signal, [g.name for g in groups])
        assert self._queue is not None  # noqa: S101  checked by the caller
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
        self.store.save_fanout_job(job)
        reason = (
            f"{signal.kind.value} {signal.key} touches {len(groups)} groups: accepted as "
            f"fan-out {delivery}, applied from the queue in {len(batches)} batches"
        )
        log.info("alert %s", reason)
        return AlertResult("recorded", reason, (), queued=job)

    def manual(self, request: ManualRequest) -> Decision:
        """Apply an operator's move, pin or unpin."""
        group = self.group(request.group)
        self.ensure_seeded()
        delivery = self._new_id()
        decision = self._apply(
            group, delivery, lambda state, now: decide_manual(request, group, state, now, delivery)
        )
        log.info(
            "manual request for group %s: %s: %s", group.name, decision.action, decision.reason
        )
        self._await_notifications([self._notify(decision)], NOTIFY_WAIT_SECONDS)
        return decision

    def readiness_tick(self) -> dict[str, str]:
        """Probe every account, record readiness, and make any move that is due; never raises.

        Returns each group's outcome (for logs and the local host's manual trigger).
        """
        if self._prober is None:
            log.info("readiness tick skipped: no prober configured")
            return {}
        results = self._probe_all()
        delivery = self._new_id()
        self.ensure_seeded()

        def tick(group: Group) -> tuple[str, Future[None] | None]:
            probes = {a.name: results[a.resource_id.lower()] for a in group.accounts}
            try:
                decision = self._tick_group(group, probes, delivery)
            except UnavailableError as exc:
                log.warning("readiness tick: group %s not updated: %s", group.name, exc)
                return f"unavailable: {exc}", None
            if decision.action != "recorded":
                log.info(
                    "readiness tick → group %s: %s: %s",
                    group.name,
                    decision.action,
                    decision.reason,
                )
            return decision.action, self._notify(decision)

        # Groups are independent, so they are saved in parallel, as an alert's are.
        ticked = self._for_each_group(list(self.config.groups), tick)
        self._forget_old_updates()
        self._await_notifications([sent for _, sent in ticked], TICK_NOTIFY_WAIT_SECONDS)
        return {g.name: outcome for g, (outcome, _) in zip(self.config.groups, ticked, strict=True)}

    def _forget_old_updates(self) -> None:
        """Housekeeping: incidents' newest updates kept past the retention are deleted, a few
        per tick."""
        before = self._clock() - self._timekeeping.retention
        try:
            forgotten = self.store.forget_newest(before, MAX_FORGOTTEN_PER_TICK)
        except UnavailableError as exc:
            log.warning("readiness tick: old incident updates not forgotten: %s", exc)
            return
        if forgotten:
            log.info(
                "forgot the newest update of %d incident(s), kept since before %s",
                forgotten,
                before,
            )

    def _tick_group(self, group: Group, probes: dict[str, ProbeResult], delivery: str) -> Decision:
        return self._apply(
            group,
            delivery,
            lambda state, now: decide_tick(group, state, probes, now, delivery, self._timekeeping),
        )

    def _probe_all(self) -> dict[str, ProbeResult]:
        prober = self._prober
        assert prober is not None  # noqa: S101  checked by the caller
        accounts = {a.resource_id.lower(): a for g in self.config.groups for a in g.accounts}
        workers = max(1, min(MAX_PARALLEL_PROBES, len(accounts)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
            futures = {key: pool.submit(prober.probe, account) for key, account in accounts.items()}
            return {key: future.result() for key, future in futures.items()}

    def group(self, name: str | None) -> Group:
        """The named group; with one group configured the name may be omitted."""
        if name is None or name == "":
            if len(self.config.groups) == 1:
                return self.config.groups[0]
            raise UnknownGroupError("group is required: more than one group is configured")
        group = self.config.group(name)
        if group is None:
            raise UnknownGroupError(f"group {name!r} is not configured")
        return group

    def state(self, group: Group) -> GroupState:
        """The group's stored state."""
        self.ensure_seeded()
        state = self.store.load_group(group.name)
        return state if state is not None else initial_state(group, self._clock())

    def active_state(self, group: Group) -> GroupState:
        """The group's active-account fields (no incidents or readiness): one point read."""
        self.ensure_seeded()
        state = self.store.load_active(group.name)
        return state if state is not None else initial_state(group, self._clock())

    def history(self, group: str | None, limit: int) -> list[AuditRecord]:
        """Newest audit lines of one group, or of all groups and unmatched alerts."""
        names = [self.group(group).name] if group else [g.name for g in self.config.groups]
        return self.store.history(names if group else [*names, UNMATCHED], limit)

    def now(self) -> datetime:
        """The controller's clock."""
        return self._clock()

    def ensure_seeded(self) -> None:
        """Write each group's initial active-account entity once, so apps always find one."""
        if self._seeded.is_set():
            return
        with self._seed_lock:
            if self._seeded.is_set():
                return
            stored = self.store.active_accounts()
            stale = [
                g
                for g in self.config.groups
                if g.name not in stored or g.account(stored[g.name]) is None
            ]
            self._for_each_group(stale, self._seed)
            self._seeded.set()

    def _seed(self, group: Group) -> None:
        state = self.store.load_group(group.name)
        if state is None:
            self._save_initial(group)
        elif group.account(state.active) is None:
            log.warning(
                "group %s: active account %s is no longer configured; moving to %s",
                group.name,
                state.active,
                group.accounts[0].name,
            )
            self._save_initial(group, previous=state)

    def _for_each_group(self, groups: list[Group], work: Callable[[Group], T]) -> list[T]:
        """Run `work` for each group, in parallel when there are several: groups are
        independent (own partition, own conditional write). The first error is raised once
        every group has finished, so none is left half-tried."""
        if len(groups) <= 1:
            return [work(g) for g in groups]
        futures = [self._fanout_pool.submit(work, g) for g in groups]
        wait(futures)
        return [f.result() for f in futures]

    def _save_initial(self, group: Group, previous: GroupState | None = None) -> None:
        new = initial_state(group, self._clock())
        if previous is not None:
            new = GroupState(
                group=group.name,
                active=new.active,
                version=previous.version + 1,
                since=new.since,
                reason=f"{previous.active} is no longer configured: back to the primary",
                incidents=previous.incidents,
            )
        try:
            self.store.save(previous, new, ())
        except ConflictError:
            log.info("group %s was initialised by another instance", group.name)

    def _apply_signal(
        self,
        signal: Signal,
        group: Group,
        delivery: str,
        *,
        newest: KnownUpdate | None = None,
        trust_readiness: bool = False,
    ) -> Decision:
        fresh: dict[str, ProbeResult] = {}  # per delivery: each account probed at most once
        clock = self._timekeeping

        def choose(state: GroupState, now: datetime) -> Decision:
            decision = decide(signal, group, state, now, delivery, newest=newest, clock=clock)
            trusted = _recently_passed(state, now) if trust_readiness else frozenset()
            for _ in group.accounts:
                names = self._preflight_targets(group, state, decision, fresh.keys() | trusted)
                if not names:
                    break
                fresh.update(self._preflight(group, names))
                state = with_probes(state, {name: fresh[name] for name in names})
                decision = decide(signal, group, state, now, delivery, newest=newest, clock=clock)
            return decision

        decision = self._apply(group, delivery, choose)
        log.info(
            "alert %s %s (%s, %s) → group %s: %s %s→%s: %s",
            signal.kind.value,
            signal.key,
            signal.health or signal.incident_type,
            signal.phase.name.lower(),
            group.name,
            decision.action,
            decision.from_account,
            decision.to_account,
            decision.reason,
        )
        return decision

    def _preflight_targets(
        self, group: Group, state: GroupState, decision: Decision, known: AbstractSet[str]
    ) -> list[str]:
        """Accounts to probe now: the target of a move, or the unready ones a move waits for,
        unless their readiness is already `known` for this delivery."""
        if self._prober is None:
            return []
        if decision.action == "failed_over":
            return [] if decision.to_account in known else [decision.to_account]
        after = decision.new_state or state
        if decision.action not in ("blocked", "duplicate") or not failover_causes(after):
            return []
        unready = after.unready()
        return [
            a.name
            for a in group.accounts
            if a.name in unready
            and a.name not in known
            and a.name != after.active
            and not blocking_incidents(after, a.name)
        ]

    def _preflight(self, group: Group, names: list[str]) -> dict[str, ProbeResult]:
        """Probe these accounts in parallel, giving each at most PREFLIGHT_SECONDS."""
        prober = self._prober
        assert prober is not None  # noqa: S101  checked by _preflight_targets
        futures = {}
        for name in names:
            account = group.account(name)
            assert account is not None  # noqa: S101  names come from the group
            futures[name] = self._preflight_pool.submit(prober.probe, account)
        results = {}
        for name, future in futures.items():
            try:
                results[name] = future.result(timeout=PREFLIGHT_SECONDS)
            except FutureTimeout:
                evidence = f"pre-flight probe did not finish within {PREFLIGHT_SECONDS:g} s"
                results[name] = ProbeResult(ReadinessStatus.UNREACHABLE, evidence, self._clock())
            log.info(
                "pre-flight probe of %s: %s (%s)",
                name,
                results[name].status.value,
                results[name].evidence,
            )
        return results

    def _notify(self, decision: Decision) -> Future[None] | None:
        """Page on moves and new blocks, in the background; a failed page is audited."""
        notification = notification_for(decision, self._clock()) if decision.notify else None
        if notification is None:
            return None
        return self._notify_pool.submit(self._send, decision, notification)

    def _send(self, decision: Decision, notification: Notification) -> None:
        result = self._notifier.send(notification)
        if result.ok:
            return
        log.warning("notification for group %s failed: %s", decision.group, result.detail)
        record = AuditRecord(
            group=decision.group,
            time=self._clock(),
            action="notify_failed",
            from_account=decision.from_account,
            to_account=decision.to_account,
            reason=f"notification of {decision.action} failed after {result.attempts} "
            f"attempt(s): {result.detail}",
            actor="notifier",
            record_id=f"{self._new_id()}.notify_failed",
        )
        try:
            self.store.append_audit([record])
        except UnavailableError as exc:
            log.warning("could not audit the failed notification: %s", exc)

    def _await_notifications(self, pending: list[Future[None] | None], limit: float) -> None:
        """Wait for the pages of this request, at most `limit` seconds; the rest go on alone."""
        futures = [f for f in pending if f is not None]
        if futures:
            _, late = wait(futures, timeout=limit)
            if late:
                log.warning("%d notification(s) still sending after %.0f s", len(late), limit)

    def _apply(
        self, group: Group, delivery: str, choose: Callable[[GroupState, datetime], Decision]
    ) -> Decision:
        """Decide on the stored state and save it conditionally; on a conflict, read and decide
        again. A write is stamped with its delivery so that a conflict caused by our own write
        (its reply lost, then resent by the storage client) is recognised, not decided twice."""
        pending: Decision | None = None  # our decision whose save hit a conflict
        for attempt in range(1, MAX_ATTEMPTS + 1):
            previous = self.store.load_group(group.name)
            if pending is not None and previous is not None and previous.last_delivery == delivery:
                log.info("group %s: our write landed though its reply was lost", group.name)
                return pending
            now = self._clock()
            decision = choose(previous or initial_state(group, now), now)
            if decision.new_state is None:
                self.store.append_audit(decision.audit)
                return decision
            stamped = replace(decision.new_state, last_delivery=delivery)
            try:
                self.store.save(previous, stamped, decision.audit)
            except ConflictError:
                pending = decision
                log.info(
                    "group %s changed under us (attempt %d); deciding again", group.name, attempt
                )
                # Jitter keeps writers racing on one hot group from colliding again in step.
                self._sleep(random.uniform(0, CONFLICT_BACKOFF_SECONDS * attempt))  # noqa: S311  not crypto
                continue
            return decision
        raise StoreUnavailableError(
            f"group {group.name}: state kept changing; gave up after {MAX_ATTEMPTS} attempts"
        )

    def _audit_unmatched(
        self, action: str, reason: str, kind: str, delivery: str, signal: Signal | None = None
    ) -> None:
        """Audit an alert that touched no group (partition `_unmatched`), with its evidence."""
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
            )
        self.store.append_audit([record])

    def _ignore(self, reason: str, kind: str, delivery: str) -> AlertResult:
        log.info("alert ignored (%s): %s", kind, reason)
        self._audit_unmatched("ignored", reason, kind, delivery)
        return AlertResult("ignored", reason, ())


def _started_tracking(decision: Decision, key: str) -> bool:
    """Whether the decision saved the group's first update of incident `key`."""
    incident = decision.new_state.incidents.get(key) if decision.new_state else None
    return incident is not None and incident.first_seen == incident.updated_at


def _recently_passed(state: GroupState, now: datetime) -> frozenset[str]:
    """The accounts whose stored probe passed within TRUSTED_READINESS."""
    return frozenset(
        name
        for name, readiness in state.readiness.items()
        if readiness.status is ReadinessStatus.HEALTHY
        and now - readiness.checked_at <= TRUSTED_READINESS
    )


def _unmatched_reason(signal: Signal, config: Config) -> str:
    if signal.synthetic:
        return f"synthetic test alert {signal.key} (IsSynthetic=True) names no configured account"
    if signal.resource_id:
        return f"Resource Health for {signal.resource_id}, which is not a configured account"
    services = sorted({s.name for s in signal.services})
    regions = sorted({r for s in signal.services for r in s.regions})
    wanted = sorted({n for g in config.groups for n in g.policy.service_names})
    if not any(w in s.lower() for s in services for w in wanted):
        log.info(
            "service health %s names services %s; none contains %s (extend policy.serviceNames "
            "if one of them is Video Indexer)",
            signal.key,
            services,
            wanted,
        )
        return f"Service Health {signal.key}: services {services} do not match {wanted}"
    return f"Service Health {signal.key}: regions {regions} hold no configured account"
