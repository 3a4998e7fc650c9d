"""Operator requests: a manual move, pin or unpin of one group, through the unit of work."""

from __future__ import annotations

import logging
from collections.abc import Callable

from shared.app.accounts import AccountDirectory
from shared.app.notifications import ALERT_WAIT_SECONDS, Notifications
from shared.app.unit_of_work import GroupWriter
from shared.core.manual import ManualRequest, decide_manual
from shared.core.state import Decision

log = logging.getLogger(__name__)


class OperatorMoves:
    """Applies POST /api/failover requests."""

    def __init__(
        self,
        directory: AccountDirectory,
        writer: GroupWriter,
        notifications: Notifications,
        new_id: Callable[[], str],
    ) -> None:
        self._directory = directory
        self._writer = writer
        self._notifications = notifications
        self._new_id = new_id

    def apply(self, request: ManualRequest) -> Decision:
        """Apply an operator's move, pin or unpin. UnknownGroupError, GroupRequiredError,
        UnknownAccountError and UnsafeTargetError change nothing."""
        group = self._directory.resolved(self._directory.group(request.group))
        delivery = self._new_id()
        decision = self._writer.apply(
            group, delivery, lambda state, now: decide_manual(request, group, state, now, delivery)
        )
        log.info(
            "manual request for group %s: %s: %s", group.name, decision.action, decision.reason
        )
        self._notifications.send_and_wait([decision], ALERT_WAIT_SECONDS)
        return decision
