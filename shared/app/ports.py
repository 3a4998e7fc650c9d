"""The ports the use cases drive: where state lives, the fan-out queue, readiness probes,
notifications and ARM's view of an account. Adapters implement them; each raises only the
errors of `shared.app.errors` (or `UnstorableValueError` for a value storage cannot hold).

A group's state (active account, pin, incidents, readiness) and its audit lines are saved in
one atomic, conditional step: either all of it lands, or none and the caller reads again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from shared.core.fanout import FanoutJob
from shared.core.listing import ActiveSummary
from shared.core.model import Account, ArmAccount, Group, ProbeResult, SignalKind
from shared.core.notification import Notification, NotifyResult
from shared.core.state import AuditRecord, GroupState, KnownUpdate


class StateStore(Protocol):
    """Where group state, incidents and the audit trail live."""

    def load_group(self, group: str) -> GroupState | None:
        """The group's state with its incidents and concurrency token, or None if never saved."""
        ...

    def load_active(self, group: str) -> GroupState | None:
        """The group's active-account fields only (no incidents, no readiness): a point read."""
        ...

    def groups_tracking(self, key: str) -> list[str]:
        """Names of the groups that hold an incident with this key."""
        ...

    def active_summaries(self) -> list[ActiveSummary]:
        """Each written group's active account, pin and block, and nothing else (one query)."""
        ...

    def unready_accounts(self) -> dict[str, frozenset[str]]:
        """By group, the accounts whose latest readiness check failed (one query)."""
        ...

    def save(
        self,
        group: Group,
        previous: GroupState | None,
        new: GroupState,
        audit: Sequence[AuditRecord],
    ) -> GroupState:
        """Atomically replace `previous` by `new` (create it when `previous` is None) and append
        `audit`; ConflictError when the stored state is not `previous` any more."""
        ...

    def append_audit(self, audit: Sequence[AuditRecord]) -> None:
        """Append audit lines that go with no state change (idempotent per record id)."""
        ...

    def history(self, groups: Sequence[str], limit: int, *, unmatched: bool) -> list[AuditRecord]:
        """The newest `limit` audit lines of these groups (and of alerts that touched no group,
        with `unmatched`), newest first."""
        ...

    def fanout_job(self, kind: SignalKind, key: str, update_id: str) -> FanoutJob | None:
        """The accepted fan-out of this update, or None (a point read)."""
        ...

    def save_fanout_job(self, job: FanoutJob) -> None:
        """Record an accepted fan-out (replacing an earlier record of the same update)."""
        ...

    def load_newest(self, kind: SignalKind, key: str) -> KnownUpdate | None:
        """The newest update kept of this incident, or None (a point read)."""
        ...

    def remember_newest(self, update: KnownUpdate) -> None:
        """Keep this update of its incident unless a newer one is kept already."""
        ...

    def forget_newest(self, before: datetime, limit: int) -> int:
        """Forget at most `limit` kept updates remembered before `before`; how many went."""
        ...

    def forget_unmatched(self, before: datetime, limit: int) -> int:
        """Forget at most `limit` audit lines of alerts that touched no group, older than
        `before`; how many went."""
        ...

    def ping(self) -> None:
        """Raise StorageUnavailableError unless storage answers."""
        ...


class WorkQueue(Protocol):
    """Where accepted fan-out batches wait for the queue-triggered function."""

    def send(self, messages: Sequence[str]) -> None:
        """Enqueue every message, or raise QueueUnavailableError (some may be enqueued)."""
        ...

    def backlog(self) -> int:
        """About how many messages wait (QueueUnavailableError when the queue cannot tell)."""
        ...


class Prober(Protocol):
    """Checks whether an account can take indexing work; never raises."""

    def probe(self, account: Account) -> ProbeResult:
        """The account's readiness now."""
        ...


class Notifier(Protocol):
    """Sends a notification; never raises, never outlasts its own budget."""

    def send(self, n: Notification) -> NotifyResult:
        """Deliver `n`; the result says whether it arrived."""
        ...


class AccountLookup(Protocol):
    """Reads a Video Indexer account from ARM."""

    def get_account(self, resource_id: str) -> ArmAccount:
        """The account's ARM view; ArmUnavailableError when ARM cannot tell."""
        ...
