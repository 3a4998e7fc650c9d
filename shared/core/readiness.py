"""A group's knowledge of its accounts' readiness: probe results merged into streaks. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from shared.core.model import ProbeResult
from shared.core.state import GroupState, Readiness


def merge_probe(previous: Readiness | None, result: ProbeResult) -> Readiness:
    """The account's readiness after one more probe."""
    passed = result.status.ready
    if passed:
        earlier_pass = previous is not None and previous.ready and previous.passing_since
        return Readiness(
            status=result.status,
            checked_at=result.checked_at,
            evidence=result.evidence,
            consecutive_failures=0,
            last_failure_at=previous.last_failure_at if previous else None,
            passing_since=previous.passing_since
            if earlier_pass and previous
            else result.checked_at,
        )
    failures = previous.consecutive_failures if previous else 0
    return Readiness(
        status=result.status,
        checked_at=result.checked_at,
        evidence=result.evidence,
        consecutive_failures=failures + 1,
        last_failure_at=result.checked_at,
        passing_since=None,
    )


def with_probes(state: GroupState, probes: Mapping[str, ProbeResult]) -> GroupState:
    """The state with these accounts' probe results merged into their readiness (the same
    state when there are none)."""
    if not probes:
        return state
    readiness = dict(state.readiness)
    for name, result in probes.items():
        readiness[name] = merge_probe(readiness.get(name), result)
    return replace(state, readiness=readiness)
