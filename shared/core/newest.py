"""The newest update of each Service Health incident, kept by tracking id whichever groups it
named, so an older update is stale for every group (README, "Ordering and duplicates"). Pure:
the app keeps it in the store, replay in memory, by the same rule."""

from __future__ import annotations

from datetime import datetime

from shared.core.lifecycle import arrival, behind, known_update, with_clamped
from shared.core.model import Config, Signal, Timekeeping
from shared.core.state import KnownUpdate


def watched_names(config: Config) -> tuple[str, ...]:
    """Every service name a group's policy watches, once, sorted."""
    return tuple(sorted({name for group in config.groups for name in group.policy.service_names}))


def is_watched(signal: Signal, names: tuple[str, ...]) -> bool:
    """Whether the update may be about a watched service: it names one, or names none."""
    return not signal.services or any(n in s.name.lower() for s in signal.services for n in names)


def kept_newest(
    signal: Signal,
    newest: KnownUpdate | None,
    now: datetime,
    clock: Timekeeping,
    names: tuple[str, ...],
) -> KnownUpdate | None:
    """What to keep as the incident's newest update once `signal` arrives at `now`, or None
    when what is kept stays as it is: the signal when it is newer than `newest`; an older
    signal from beyond the skew bound only has its id noted, so that its re-delivery (ordered
    later again) stays stale."""
    came = arrival(signal, now, clock)
    if newest is None or (
        signal.update_id != newest.signal.update_id and not behind(signal, came, newest)
    ):
        return known_update(signal, came, now, names, newest)
    if came.clamped:
        noted = with_clamped(newest, signal.update_id)
        return noted if noted is not newest else None
    return None
