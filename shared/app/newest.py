"""The newest update of each Service Health incident, kept by tracking id whichever groups it
named, so an older update is stale for every group (README, "Ordering and duplicates")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.app.ports import StateStore
from shared.core.lifecycle import arrival, behind, known_update, with_clamped
from shared.core.model import Config, Signal, SignalKind, Timekeeping
from shared.core.state import KnownUpdate


class NewestUpdates:
    """Reads and keeps incidents' newest updates in the store."""

    def __init__(
        self,
        store: StateStore,
        config: Config,
        clock: Callable[[], datetime],
        timekeeping: Timekeeping,
    ) -> None:
        self._store = store
        self._clock = clock
        self._timekeeping = timekeeping
        names = {name for group in config.groups for name in group.policy.service_names}
        self.service_names = tuple(sorted(names))

    def before(self, signal: Signal, *, remember: bool) -> KnownUpdate | None:
        """The newest update of the signal's incident seen before this delivery (Service Health
        only). With `remember`, the signal is kept as the newest when it is newer: before any
        group is written, so an older delivery racing it finds it."""
        if signal.kind is not SignalKind.SERVICE_HEALTH:
            return None
        newest = self._store.load_newest(signal.kind, signal.key)
        if remember and self.watched(signal):
            self._keep(signal, newest)
        return newest

    def latest(self, signal: Signal) -> KnownUpdate | None:
        """The newest update kept of the signal's incident now."""
        if signal.kind is not SignalKind.SERVICE_HEALTH:
            return None
        return self._store.load_newest(signal.kind, signal.key)

    def watched(self, signal: Signal) -> bool:
        """Whether the update may be about a watched service: it names one, or names none."""
        return not signal.services or any(
            name in s.name.lower() for s in signal.services for name in self.service_names
        )

    def _keep(self, signal: Signal, newest: KnownUpdate | None) -> None:
        now = self._clock()
        came = arrival(signal, now, self._timekeeping)
        if newest is None or (
            signal.update_id != newest.signal.update_id and not behind(signal, came, newest)
        ):
            self._store.remember_newest(known_update(signal, came, now, self.service_names, newest))
        elif came.clamped:
            # An older update from beyond the skew bound: kept by id, so that its re-delivery
            # (ordered later again) stays stale.
            noted = with_clamped(newest, signal.update_id)
            if noted is not newest:
                self._store.remember_newest(noted)
