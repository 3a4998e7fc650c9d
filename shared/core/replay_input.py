"""What `vi-failover replay` reads: alert deliveries in the shapes Azure produces, and readiness
windows. Pure: the caller reads the files and hands over decoded JSON.

An item of the history is one of:
- an alert as the action group posted it (the common alert schema or the legacy
  `Microsoft.Insights/activityLogs` envelope, test-button alerts included);
- an Activity Log event as the portal or `az monitor activity-log list` exports it
  (`category.value` ServiceHealth or ResourceHealth), or as a diagnostic setting writes it to
  storage or Log Analytics (`time`, `category`, `properties.eventProperties`): it is wrapped in
  the legacy envelope the action group would have posted, so the app's own parser reads it;
- `{"receivedAt": "<ISO time>", "alert": {...}}`, what `vi-failover history --export` writes:
  the alert and when the controller received it.

Without `receivedAt`, an alert counts as received when it fired: `essentials.firedDateTime`,
else the activity log's `submissionTimestamp`, else its `eventTimestamp`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.core.jsontext import InvalidAlertError, parse_timestamp
from shared.core.model import ReadinessStatus

LEGACY_SCHEMA = "Microsoft.Insights/activityLogs"
# Activity Log export → the fields the legacy webhook carries for Resource Health.
_HEALTH_FIELDS = {
    "healthStatus": "currentHealthStatus",
    "previousHealthStatus": "previousHealthStatus",
    "healthEventType": "type",
    "healthEventCause": "cause",
}


class ReplayInputError(ValueError):
    """An item of the history or of the readiness events is not what replay reads; the
    message names it."""


@dataclass(frozen=True)
class Delivery:
    """One alert delivery of the history: when the controller got it, and the payload."""

    received: datetime
    payload: object  # decoded JSON in one of the webhook envelopes
    source: str  # where it came from, e.g. "alerts/01-incident.json" or "history.jsonl:3"


@dataclass(frozen=True)
class ReadinessWindow:
    """An account that probes would have found not ready (or ready) from `start` to `end`."""

    account: str
    start: datetime
    end: datetime | None  # None: until the end of the replay
    status: ReadinessStatus
    evidence: str


def delivery_of(item: object, source: str) -> Delivery:
    """One history item as a delivery; ReplayInputError names what is wrong with it."""
    if not isinstance(item, dict):
        raise ReplayInputError(f"{source}: not a JSON object")
    try:
        if "alert" in item and "schemaId" not in item:
            received = _time(item.get("receivedAt"), f"{source}: receivedAt")
            return Delivery(received, _envelope(item["alert"], source), source)
        payload = _envelope(item, source)
        return Delivery(_fired_at(payload, source), payload, source)
    except InvalidAlertError as exc:
        raise ReplayInputError(str(exc)) from None


def in_order(deliveries: Iterable[Delivery]) -> list[Delivery]:
    """The deliveries ordered by when they were received; ties keep their given order."""
    return sorted(deliveries, key=lambda d: d.received)


def readiness_windows(raw: object, source: str, accounts: Iterable[str]) -> list[ReadinessWindow]:
    """`[{"account", "from", "to"?, "status"?, "evidence"?}, …]` (or `{"events": [...]}`).

    `status` is a readiness status (default `unreachable`); `to` absent means until the end."""
    items = raw.get("events") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise ReplayInputError(f"{source}: expected a list of events (or {{'events': [...]}})")
    known = set(accounts)
    windows = []
    for n, item in enumerate(items):
        where = f"{source}: events[{n}]"
        if not isinstance(item, dict):
            raise ReplayInputError(f"{where}: not a JSON object")
        unknown = set(item) - {"account", "from", "to", "status", "evidence"}
        if unknown:
            raise ReplayInputError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        account = item.get("account")
        if account not in known:
            raise ReplayInputError(f"{where}.account: {account!r} is not a configured account")
        status = _status(item.get("status", "unreachable"), f"{where}.status")
        start = _time(item.get("from"), f"{where}.from")
        end = None if item.get("to") is None else _time(item["to"], f"{where}.to")
        if end is not None and end <= start:
            raise ReplayInputError(f"{where}: 'to' must be after 'from'")
        evidence = item.get("evidence") or f"replayed readiness event: {status.value}"
        windows.append(ReadinessWindow(str(account), start, end, status, str(evidence)))
    return windows


def _status(value: object, where: str) -> ReadinessStatus:
    try:
        return ReadinessStatus(str(value).lower())
    except ValueError:
        allowed = ", ".join(s.value for s in ReadinessStatus)
        raise ReplayInputError(f"{where}: {value!r} is not one of {allowed}") from None


def _time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise ReplayInputError(f"{where}: expected an ISO 8601 time, got {value!r}")
    try:
        return parse_timestamp(value, field=where)
    except InvalidAlertError as exc:
        raise ReplayInputError(str(exc)) from None


def _envelope(item: object, source: str) -> dict[str, Any]:
    """The webhook envelope of an alert, or of an exported Activity Log event."""
    if not isinstance(item, dict):
        raise ReplayInputError(f"{source}: the alert is not a JSON object")
    if "schemaId" in item:
        return item
    category = item.get("category")
    if isinstance(category, dict) and "properties" in item:
        return _legacy_from_event(item, category, source)
    properties = item.get("properties")
    if isinstance(category, str) and isinstance(properties, dict):
        return _legacy_from_resource_log(item, category, properties, source)
    raise ReplayInputError(
        f"{source}: neither an alert (no schemaId) nor an exported Activity Log event "
        "(no category.value, nor category and properties.eventProperties)"
    )


def _legacy_from_event(
    event: Mapping[str, Any], category: Mapping[str, Any], source: str
) -> dict[str, Any]:
    """An exported Activity Log event in the legacy envelope the action group would post."""
    kind = category.get("value")
    if kind not in ("ServiceHealth", "ResourceHealth"):
        raise ReplayInputError(
            f"{source}: category {kind!r} is not ServiceHealth or ResourceHealth"
        )
    properties = dict(event.get("properties") or {})
    if kind == "ResourceHealth":
        for exported, posted in _HEALTH_FIELDS.items():
            if exported in properties:
                properties.setdefault(posted, properties.pop(exported))
    log: dict[str, Any] = {
        key: _plain(event[key])
        for key in (
            "eventDataId",
            "eventTimestamp",
            "submissionTimestamp",
            "resourceId",
            "level",
            "subscriptionId",
            "correlationId",
            "operationName",
            "status",
        )
        if key in event
    }
    log |= {"eventSource": kind, "properties": properties}
    return {
        "schemaId": LEGACY_SCHEMA,
        "data": {"status": "Activated", "context": {"activityLog": log}},
    }


def _legacy_from_resource_log(
    record: Mapping[str, Any], category: str, properties: Mapping[str, Any], source: str
) -> dict[str, Any]:
    """A diagnostic setting's record (`time`, `category`, `properties.eventProperties`) as the
    exported event it was written from."""
    event = properties.get("eventProperties")
    if not isinstance(event, dict):
        raise ReplayInputError(f"{source}: properties.eventProperties is not a JSON object")
    status = event.get("status") or record.get("resultType")
    exported = {
        "eventTimestamp": record.get("time"),
        "submissionTimestamp": record.get("time"),
        "status": status,
        "properties": event,
        **{k: record[k] for k in ("resourceId", "correlationId", "level") if k in record},
    }
    if isinstance(properties.get("eventDataId"), str):
        exported["eventDataId"] = properties["eventDataId"]
    return _legacy_from_event(exported, {"value": category}, source)


def _plain(value: object) -> object:
    """Exported events wrap names as `{"value", "localizedValue"}`; the webhook sends the value."""
    return value.get("value") if isinstance(value, dict) and "value" in value else value


def _fired_at(payload: Mapping[str, Any], source: str) -> datetime:
    data = payload.get("data")
    data = data if isinstance(data, dict) else {}
    essentials = data.get("essentials")
    if isinstance(essentials, dict) and isinstance(essentials.get("firedDateTime"), str):
        return _time(essentials["firedDateTime"], f"{source}: data.essentials.firedDateTime")
    context = data.get("alertContext")
    if not isinstance(context, dict):
        log = (data.get("context") or {}).get("activityLog") if "context" in data else None
        context = log if isinstance(log, dict) else {}
    for key in ("submissionTimestamp", "eventTimestamp"):
        if isinstance(context.get(key), str):
            return _time(context[key], f"{source}: {key}")
    raise ReplayInputError(
        f"{source}: no time to order it by (essentials.firedDateTime, submissionTimestamp or "
        'eventTimestamp); wrap it as {"receivedAt": "<ISO time>", "alert": {...}}'
    )
