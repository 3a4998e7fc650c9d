"""Applying one health signal to the groups it touches: the decision loop for one group (decide,
probe what the decision needs, decide again) inside one unit of work, for every group in
parallel; then the catch-up for an update that raced this one. Used by alert intake and by the
fan-out batches alike."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from shared.app.newest import NewestUpdates
from shared.app.parallel import Parallel
from shared.app.probes import ProbeBroker
from shared.app.unit_of_work import GroupWriter
from shared.core.decide import decide
from shared.core.lifecycle import impacted_accounts
from shared.core.model import Group, ProbeResult, Signal, SignalKind, Timekeeping
from shared.core.preflight import Preflight, likely_needs
from shared.core.signal_json import watched_first
from shared.core.state import Decision, GroupState, KnownUpdate

log = logging.getLogger(__name__)


class SignalApplier:
    """Applies signals to groups through the unit of work, probing what decisions need."""

    def __init__(
        self,
        writer: GroupWriter,
        probes: ProbeBroker,
        newest: NewestUpdates,
        parallel: Parallel,
        timekeeping: Timekeeping,
    ) -> None:
        self._writer = writer
        self._probes = probes
        self._newest = newest
        self._parallel = parallel
        self._timekeeping = timekeeping

    def apply(
        self,
        signal: Signal,
        groups: Sequence[Group],
        delivery: str,
        newest: KnownUpdate | None,
        *,
        trust: timedelta = timedelta(0),
    ) -> tuple[list[Decision], list[Exception]]:
        """Each group's decision, in order. Then, for a Service Health update, the incident's
        newest update is read again: one that arrived while this delivery was applied, and
        that does not name a group this delivery started tracking the incident in, may have
        missed that group (its own delivery looked before this one wrote): it is applied to
        that group now, audited, and left out of this delivery's answer.

        A group that fails (storage, a conflict that would not settle) does not stop the
        others: its error is returned beside the decisions of the rest."""
        probed: dict[str, ProbeResult] = {}  # this delivery probes each account once
        if not trust:  # every target is probed, so start them all now, side by side
            likely = [a for g in groups for a in g.accounts if a.name in likely_needs(signal, g)]
            self._probes.prefetch(likely, probed)
        decisions, errors = self._parallel.settle(
            list(groups),
            lambda group: self.one(signal, group, delivery, newest, trust, probed=probed),
        )
        if signal.kind is SignalKind.SERVICE_HEALTH and decisions:
            self._catch_up(signal, groups, decisions, delivery, newest)
        return decisions, errors

    def one(
        self,
        signal: Signal,
        group: Group,
        delivery: str,
        newest: KnownUpdate | None,
        trust: timedelta,
        *,
        quiet: bool = False,
        probed: dict[str, ProbeResult] | None = None,
    ) -> Decision:
        """The group's decision, probing exactly what the core asks for before it is final.

        `quiet`: a decision that changes nothing writes nothing, not even an audit line."""
        results: dict[str, ProbeResult] = {}  # by account name, across conflict retries
        checked: set[str] = set()
        clock = self._timekeeping

        def choose(state: GroupState, now: datetime) -> Decision:
            while True:
                preflight = Preflight(dict(results), frozenset(checked), trust)
                decision = decide(
                    signal,
                    group,
                    state,
                    now,
                    delivery,
                    newest=newest,
                    clock=clock,
                    preflight=preflight,
                )
                if not decision.needs:
                    if quiet and decision.new_state is None:
                        return replace(decision, audit=())
                    return _watched_first(decision, group)
                self._probe(group, decision.needs, results, probed)
                checked.update(decision.needs)

        decision = self._writer.apply(group, delivery, choose)
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

    def _probe(
        self,
        group: Group,
        names: frozenset[str],
        results: dict[str, ProbeResult],
        probed: dict[str, ProbeResult] | None,
    ) -> None:
        accounts = [a for a in group.accounts if a.name in names]
        found = self._probes.probe(accounts, cache=probed)
        for account in accounts:
            result = found.get(account.resource_id.lower())
            if result is not None:
                results[account.name] = result
                log.info(
                    "pre-flight probe of %s: %s (%s)",
                    account.name,
                    result.status.value,
                    result.evidence,
                )

    def _catch_up(
        self,
        signal: Signal,
        groups: Sequence[Group],
        decisions: Sequence[Decision],
        delivery: str,
        newest: KnownUpdate | None,
    ) -> None:
        started = {d.group for d in decisions if _started_tracking(d, signal.key)}
        if not started:
            return  # every group tracked the incident before: the newer update reached them
        latest = self._newest.latest(signal)
        if latest is None or latest == newest or latest.signal.update_id == signal.update_id:
            return
        missed = [
            g for g in groups if g.name in started and not impacted_accounts(latest.signal, g)
        ]
        _, errors = self._parallel.settle(
            missed, lambda group: self._settle(latest.signal, group, delivery)
        )
        for error in errors:  # the next delivery of this incident catches up instead
            log.warning(
                "update %s of %s not caught up: %s", latest.signal.update_id, signal.key, error
            )

    def _settle(self, late: Signal, group: Group, delivery: str) -> Decision:
        """Apply a newer update to a group that may have missed it."""
        decision = self.one(late, group, f"{delivery}.settle", None, timedelta(0), quiet=True)
        if decision.new_state is not None:
            log.info(
                "group %s: update %s of %s arrived meanwhile", group.name, late.update_id, late.key
            )
        return decision


def _watched_first(decision: Decision, group: Group) -> Decision:
    """The audit lines keep their signal with the group's watched services first: a signal too
    big to keep whole is cut from the end (shared.core.signal_json)."""
    names = group.policy.service_names
    audit = tuple(
        replace(r, signal=watched_first(r.signal, names)) if r.signal is not None else r
        for r in decision.audit
    )
    return replace(decision, audit=audit)


def _started_tracking(decision: Decision, key: str) -> bool:
    """Whether the decision saved the group's first update of incident `key`."""
    incident = decision.new_state.incidents.get(key) if decision.new_state else None
    return incident is not None and incident.first_seen == incident.updated_at
