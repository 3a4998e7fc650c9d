"""`Controller`: the use cases of the app, built once from their ports, and the reads the HTTP
routes make. Each use case lives in its own module; this one only wires them together."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from shared.app.accounts import AccountDirectory
from shared.app.fanout import INLINE_GROUPS_DEFAULT, FanoutBatches
from shared.app.intake import AlertIntake, AlertResult
from shared.app.listing import GroupPage, GroupPages
from shared.app.newest import NewestUpdates
from shared.app.notifications import Notifications
from shared.app.operator import OperatorMoves
from shared.app.parallel import Parallel
from shared.app.ports import AccountLookup, Notifier, Prober, StateStore, WorkQueue
from shared.app.probes import ProbeBroker
from shared.app.readiness import ReadinessTick
from shared.app.signals import SignalApplier
from shared.app.telemetry import NullTelemetry, Telemetry
from shared.app.unit_of_work import GroupWriter
from shared.core.decide import DEFAULT_TIMEKEEPING
from shared.core.failover import initial_state
from shared.core.listing import PageQuery
from shared.core.manual import ManualRequest
from shared.core.model import Config, Group, Timekeeping
from shared.core.state import AuditRecord, Decision, GroupState

__all__ = ["AlertResult", "Controller", "GroupPage"]


def utc_now() -> datetime:
    """The wall clock in UTC; the one clock the controller reads."""
    return datetime.now(UTC)


class Controller:
    """Applies alerts, queued batches, operator requests and readiness ticks to the groups."""

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
        arm: AccountLookup | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        telemetry = telemetry or NullTelemetry()
        self.config = config
        self.store = store
        self._clock = clock
        self.directory = AccountDirectory(config, arm)
        notifications = Notifications(notifier, store, clock, new_id)
        self._writer = GroupWriter(
            store,
            clock,
            sleep=sleep,
            on_realigned=lambda d: notifications.send([d]),
            telemetry=telemetry,
        )
        probes = ProbeBroker(prober, clock, telemetry=telemetry)
        parallel = self._parallel = Parallel()
        newest = NewestUpdates(store, config, clock, timekeeping)
        applier = SignalApplier(self._writer, probes, newest, parallel, timekeeping)
        self.batches = FanoutBatches(
            store,
            queue,
            self.directory,
            applier,
            newest,
            notifications,
            clock,
            new_id,
            inline_groups,
            telemetry,
        )
        telemetry.watch_backlog(self.batches.backlog)
        self.intake = AlertIntake(
            store,
            self.directory,
            applier,
            self.batches,
            newest,
            notifications,
            clock,
            new_id,
            timekeeping,
            telemetry,
        )
        self.operator = OperatorMoves(self.directory, self._writer, notifications, new_id)
        self.readiness = ReadinessTick(
            store,
            self.directory,
            self._writer,
            probes,
            parallel,
            notifications,
            clock,
            new_id,
            timekeeping,
            telemetry,
        )
        self.pages = GroupPages(config, store, self._writer.read, clock)

    def handle_alert(self, body: bytes) -> AlertResult:
        """An action-group delivery (see `AlertIntake.handle`)."""
        return self.intake.handle(body)

    def apply_batch(self, message: str) -> dict[str, str]:
        """One queued fan-out batch (see `FanoutBatches.apply_batch`)."""
        return self.batches.apply_batch(message)

    def manual(self, request: ManualRequest) -> Decision:
        """An operator's move, pin or unpin (see `OperatorMoves.apply`)."""
        return self.operator.apply(request)

    def readiness_tick(self) -> dict[str, str]:
        """One readiness tick (see `ReadinessTick.run`)."""
        return self.readiness.run()

    def group(self, name: str | None) -> Group:
        """The named group; with one group configured the name may be omitted."""
        return self.directory.group(name)

    def state(self, group: Group) -> GroupState:
        """The group's stored state, or its initial state when it was never written."""
        return self._writer.read(group)

    def states(self, groups: Sequence[Group]) -> list[GroupState]:
        """Each group's stored (or initial) state, read in parallel."""
        return self._parallel.map(list(groups), self._writer.read)

    def group_page(self, query: PageQuery) -> GroupPage:
        """One page of groups for the console (see `GroupPages.page`)."""
        return self.pages.page(query)

    def active_state(self, group: Group) -> GroupState:
        """The group's active-account fields (no incidents or readiness): one point read."""
        state = self.store.load_active(group.name)
        return state if state is not None else initial_state(group, self._clock())

    def history(self, group: str | None, limit: int) -> list[AuditRecord]:
        """Newest audit lines of one group, or of all groups and of unmatched alerts."""
        if group:
            return self.store.history([self.group(group).name], limit, unmatched=False)
        return self.store.history([g.name for g in self.config.groups], limit, unmatched=True)

    def now(self) -> datetime:
        """The controller's clock."""
        return self._clock()
