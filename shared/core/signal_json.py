"""A parsed signal as JSON and back: in fan-out queue messages and in the audit trail. Pure.

The audit trail keeps each delivery's signal so that `vi-failover history --export` can rebuild
the alert and `vi-failover replay` can run it again. A signal naming many services and regions
is cut to fit `SIGNAL_UNITS`: long text is cut with a marker (`limits.fit`), each service keeps
`MAX_KEPT_REGIONS` regions, then services at the end of the list go; it says so with
`"cut": true`. Identifiers are never cut (they are at most 1,024 characters already).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.core.limits import TITLE_UNITS, fit, utf16_units
from shared.core.model import ImpactedService, Phase, Signal, SignalKind

SIGNAL_UNITS = 16 * 1024  # UTF-16 units: 32 KiB, half of a Table Storage string property
MAX_KEPT_REGIONS = 64
NAME_UNITS = 256


class InvalidSignalError(ValueError):
    """JSON that is not a signal this app wrote; the message names the field."""


def signal_json(signal: Signal) -> dict[str, Any]:
    """Every field of the signal, JSON-ready."""
    return {
        "kind": signal.kind.value,
        "key": signal.key,
        "updateId": signal.update_id,
        "eventTime": signal.event_time.isoformat(),
        "phase": int(signal.phase),
        "incidentType": signal.incident_type,
        "status": signal.status,
        "stage": signal.stage,
        "title": signal.title,
        "services": [{"name": s.name, "regions": list(s.regions)} for s in signal.services],
        "resourceId": signal.resource_id,
        "health": signal.health,
        "synthetic": signal.synthetic,
        "trackingId": signal.tracking_id,
        "communicationId": signal.communication_id,
    }


def signal_from(raw: dict[str, Any]) -> Signal:
    """The signal `signal_json` wrote; InvalidSignalError (or KeyError, TypeError) otherwise."""
    event_time = datetime.fromisoformat(_text(raw, "eventTime"))
    if event_time.tzinfo is None:
        raise InvalidSignalError("signal.eventTime has no time zone")
    return Signal(
        kind=SignalKind(raw["kind"]),
        key=_text(raw, "key"),
        update_id=_text(raw, "updateId"),
        event_time=event_time,
        phase=Phase(int(raw["phase"])),
        incident_type=_text(raw, "incidentType"),
        status=_text(raw, "status"),
        stage=_text(raw, "stage"),
        title=_text(raw, "title"),
        services=tuple(
            ImpactedService(name=str(s["name"]), regions=tuple(str(r) for r in s["regions"]))
            for s in raw["services"]
        ),
        resource_id=_text(raw, "resourceId"),
        health=_text(raw, "health"),
        synthetic=bool(raw["synthetic"]),
        tracking_id=_text(raw, "trackingId"),
        communication_id=_text(raw, "communicationId"),
    )


def signal_text(signal: Signal, units: int = SIGNAL_UNITS) -> str:
    """The signal as compact JSON of at most `units` UTF-16 units, cut as the module says."""
    text = _dumps(signal_json(signal))
    if utf16_units(text) <= units:
        return text
    services = [
        ImpactedService(
            fit(s.name, NAME_UNITS),
            tuple(fit(r, NAME_UNITS) for r in dict.fromkeys(s.regions))[:MAX_KEPT_REGIONS],
        )
        for s in signal.services
    ]
    small = replace(
        signal,
        title=fit(signal.title, TITLE_UNITS),
        incident_type=fit(signal.incident_type, TITLE_UNITS),
        status=fit(signal.status, TITLE_UNITS),
        stage=fit(signal.stage, TITLE_UNITS),
        health=fit(signal.health, TITLE_UNITS),
    )
    while True:
        cut = {**signal_json(replace(small, services=tuple(services))), "cut": True}
        text = _dumps(cut)
        if utf16_units(text) <= units or not services:
            return text
        services = services[: len(services) // 2]


def watched_first(signal: Signal, service_names: Iterable[str]) -> Signal:
    """The signal with the services the configuration watches listed first, so that they are
    the last a cut drops (the order of services means nothing to a decision)."""
    names = tuple(service_names)
    ordered = tuple(
        sorted(signal.services, key=lambda s: not any(n in s.name.lower() for n in names))
    )
    return signal if ordered == signal.services else replace(signal, services=ordered)


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw[name]
    if not isinstance(value, str):
        raise InvalidSignalError(f"signal.{name}: not a string")
    return value
