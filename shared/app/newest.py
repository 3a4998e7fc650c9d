"""The newest update of each Service Health incident, kept in the store by the rule of
`shared.core.newest`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.app.ports import StateStore
from shared.core.model import Config, Signal, SignalKind, Timekeeping
from shared.core.newest import is_watched, kept_newest, watched_names
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
        self.service_names = watched_names(config)

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
        return is_watched(signal, self.service_names)

    def _keep(self, signal: Signal, newest: KnownUpdate | None) -> None:
        kept = kept_newest(signal, newest, self._clock(), self._timekeeping, self.service_names)
        if kept is not None:
            self._store.remember_newest(kept)
