"""What a refresh decides, apart from doing it: the order sources are tried in, what each answer
means for its source, and what the client reports. Pure: no I/O, no clock of its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from vi_failover_client.account import ActiveAccount
from vi_failover_client.sources import Failure, Read

# A configuration error no outage explains: at start these stop the client instead of being
# served around.
CONFIGURATION = frozenset({"misconfigured", "unknown-group"})


@dataclass(frozen=True, slots=True)
class SourceState:
    """One source as the client last saw it."""

    label: str
    ok_at: datetime | None = None
    """When it last answered with the flag (UTC)."""
    error: str | None = None
    """Why its last attempt failed; None after an answer."""
    kind: Failure | None = None
    error_at: datetime | None = None
    failures: int = 0
    """Failed attempts in a row."""
    failed_at: float | None = None
    """The client's monotonic time of its last failure; None while it answers."""

    def answered(self, wall: datetime) -> SourceState:
        """After an answer."""
        return replace(self, ok_at=wall, error=None, kind=None, failures=0, failed_at=None)

    def refused(self, kind: Failure, message: str, wall: datetime, now: float) -> SourceState:
        """After a failed attempt."""
        return replace(
            self,
            error=message,
            kind=kind,
            error_at=wall,
            failures=self.failures + 1,
            failed_at=now,
        )

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, for a health endpoint of the app."""
        return {
            "source": self.label,
            "ok": self.error is None,
            "lastAnswerAt": _iso(self.ok_at),
            "error": self.error,
            "kind": self.kind,
            "errorAt": _iso(self.error_at),
            "failures": self.failures,
        }


@dataclass(frozen=True, slots=True)
class Problem:
    """Something an operator must fix or know: a refused source, an unknown group, an outage."""

    kind: Failure
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


def order(states: Sequence[SourceState], now: float, recheck_after: float) -> list[int]:
    """Indexes of the sources in the order to try: those that answer (or whose failure is older
    than `recheck_after`, so they get their place back) in configured order, then the rest."""
    healthy, failed = [], []
    for index, state in enumerate(states):
        if state.failed_at is None or now - state.failed_at >= recheck_after:
            healthy.append(index)
        else:
            failed.append(index)
    return healthy + failed


def newest(reads: Sequence[Read]) -> Read | None:
    """The answer with the highest version: versions only grow, so it is the latest flag."""
    best: Read | None = None
    for read in reads:
        if best is None or read.account.version > best.account.version:
            best = read
    return best


def problems(states: Sequence[SourceState]) -> list[Problem]:
    """The configuration problems among the sources' last answers."""
    return [
        Problem(s.kind, s.label, s.error or "")
        for s in states
        if s.kind in CONFIGURATION and s.kind is not None
    ]


def interval(ttl: float, max_age: float | None, jitter: float, draw: float) -> float:
    """Seconds to the next refresh: the smaller of `ttl` and the endpoint's max-age, shortened
    by up to `jitter` of itself (`draw` in [0, 1)) so instances spread out; at least 1 s."""
    base = ttl if max_age is None else min(ttl, max_age)
    return max(1.0, base * (1.0 - jitter * draw))


@dataclass(frozen=True, slots=True)
class ClientStatus:
    """What the client holds, from where, how old, and the last error of each source."""

    group: str | None
    ready: bool
    account: ActiveAccount | None
    age_seconds: float | None
    """Seconds since a live source last confirmed the value held."""
    stale: bool
    group_unknown: bool
    refreshing: bool
    problems: tuple[Problem, ...]
    sources: tuple[SourceState, ...]

    @property
    def source(self) -> str | None:
        """Where the value held came from."""
        return self.account.source if self.account is not None else None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, for a health endpoint of the app; holds no secret."""
        account = self.account
        return {
            "group": self.group,
            "ready": self.ready,
            "account": None
            if account is None
            else {
                "name": account.name,
                "version": account.version,
                "accountId": account.account_id,
                "location": account.location,
                "pinned": account.pinned,
            },
            "source": self.source,
            "ageSeconds": None if self.age_seconds is None else round(self.age_seconds, 3),
            "stale": self.stale,
            "groupUnknown": self.group_unknown,
            "refreshing": self.refreshing,
            "problems": [
                {"kind": p.kind, "source": p.source, "message": p.message} for p in self.problems
            ],
            "sources": [s.as_dict() for s in self.sources],
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
