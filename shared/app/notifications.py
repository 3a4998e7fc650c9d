"""Pages for moves, pins and new blocks: sent in the background after the save, awaited for a
bounded time, and a failed one written to the audit trail. A move never waits on a page."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime

from shared.app.errors import UnavailableError
from shared.app.ports import Notifier, StateStore
from shared.core.notification import Notification, NullNotifier, notification_for
from shared.core.state import AuditRecord, Decision

log = logging.getLogger(__name__)

# An alert's answer waits for its pages this long at most; the rest go on alone.
ALERT_WAIT_SECONDS = 4.0
TICK_WAIT_SECONDS = 30.0


class Notifications:
    """Sends the notification of each decision worth a page."""

    def __init__(
        self,
        notifier: Notifier | None,
        store: StateStore,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
    ) -> None:
        self._notifier = notifier or NullNotifier()
        self._store = store
        self._clock = clock
        self._new_id = new_id
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="notify")
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()

    def send(self, decisions: Sequence[Decision]) -> list[Future[None]]:
        """Start sending the pages these decisions are worth."""
        futures = []
        for decision in decisions:
            notification = notification_for(decision, self._clock()) if decision.notify else None
            if notification is not None:
                future = self._pool.submit(self._deliver, decision, notification)
                with self._lock:
                    self._pending.add(future)
                future.add_done_callback(self._done)
                futures.append(future)
        return futures

    def send_and_wait(self, decisions: Sequence[Decision], limit: float) -> None:
        """Send, then wait at most `limit` seconds for these pages, and for any still going
        out (a realignment paged during the same request)."""
        self.send(decisions)
        with self._lock:
            futures = list(self._pending)
        if futures:
            _, late = wait(futures, timeout=limit)
            if late:
                log.warning("%d notification(s) still sending after %.0f s", len(late), limit)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _deliver(self, decision: Decision, notification: Notification) -> None:
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
            self._store.append_audit([record])
        except UnavailableError as exc:
            log.warning("could not audit the failed notification: %s", exc)
