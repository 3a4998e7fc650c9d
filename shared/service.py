"""`Controller`: the imperative shell around the decision core.

It reads a group's state, asks the pure core what to do, and saves the result with a
conditional write; when another writer got there first it re-reads and decides again, a
bounded number of times. Every decision is logged once, with its reason.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.alerts import parse_alert_body
from shared.decide import decide, impacted_accounts, initial_state
from shared.manual import ManualRequest, decide_manual
from shared.model import (
    AuditRecord,
    Config,
    Decision,
    Group,
    GroupState,
    NotOurs,
    Signal,
    most_significant,
)
from shared.store import UNMATCHED, ConflictError, StateStore, StoreUnavailableError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # conditional-write retries per group before answering 503


class UnknownGroupError(LookupError):
    """No group of that name is configured."""


@dataclass(frozen=True)
class AlertResult:
    """The answer to one alert delivery."""

    outcome: str
    reason: str
    decisions: tuple[Decision, ...]


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
    ) -> None:
        self.config = config
        self.store = store
        self._clock = clock
        self._new_id = new_id
        self._seeded = threading.Event()
        self._seed_lock = threading.Lock()

    def handle_alert(self, body: bytes) -> AlertResult:
        """Parse an action-group delivery and apply it to every group it touches."""
        parsed = parse_alert_body(body)
        delivery = self._new_id()
        if isinstance(parsed, NotOurs):
            return self._ignore(parsed.reason, parsed.alert_kind, delivery)
        self.ensure_seeded()
        tracking = set(self.store.groups_tracking(parsed.key))
        decisions = []
        for group in self.config.groups:
            if group.name in tracking or impacted_accounts(parsed, group):
                decisions.append(self._apply_signal(parsed, group, delivery))
        if not decisions:
            return self._ignore(_unmatched_reason(parsed, self.config), parsed.kind.value, delivery)
        outcome = most_significant([d.action for d in decisions])
        reasons = [f"{d.group}: {d.reason}" for d in decisions if d.action == outcome]
        reason = decisions[0].reason if len(decisions) == 1 else "; ".join(reasons)
        return AlertResult(outcome, reason, tuple(decisions))

    def manual(self, request: ManualRequest) -> Decision:
        """Apply an operator's move, pin or unpin."""
        group = self.group(request.group)
        self.ensure_seeded()
        delivery = self._new_id()
        return self._apply(
            group, lambda state, now: decide_manual(request, group, state, now, delivery)
        )

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
            for group in self.config.groups:
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
            self._seeded.set()

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

    def _apply_signal(self, signal: Signal, group: Group, delivery: str) -> Decision:
        decision = self._apply(
            group, lambda state, now: decide(signal, group, state, now, delivery)
        )
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

    def _apply(self, group: Group, choose: Callable[[GroupState, datetime], Decision]) -> Decision:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            previous = self.store.load_group(group.name)
            now = self._clock()
            decision = choose(previous or initial_state(group, now), now)
            if decision.new_state is None:
                self.store.append_audit(decision.audit)
                return decision
            try:
                self.store.save(previous, decision.new_state, decision.audit)
            except ConflictError:
                log.info(
                    "group %s changed under us (attempt %d); deciding again", group.name, attempt
                )
                continue
            return decision
        raise StoreUnavailableError(
            f"group {group.name}: state kept changing; gave up after {MAX_ATTEMPTS} attempts"
        )

    def _ignore(self, reason: str, kind: str, delivery: str) -> AlertResult:
        log.info("alert ignored (%s): %s", kind, reason)
        record = AuditRecord(
            group="",
            time=self._clock(),
            action="ignored",
            from_account="",
            to_account="",
            reason=reason,
            actor="alert",
            record_id=f"{delivery}.ignored",
            signal_kind=kind,
        )
        self.store.append_audit([record])
        return AlertResult("ignored", reason, ())


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
