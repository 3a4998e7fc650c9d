"""Alert webhook body → `Signal` (ours) or `NotOurs`, from either action-group envelope.

Accepts the common alert schema and the legacy `Microsoft.Insights/activityLogs` envelope.
Everything Azure Monitor is documented to send (see spec/alerts.md) parses or is set aside;
anything else fails with an `InvalidAlertError` whose message names the offending field.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.model import ImpactedService, NotOurs, Phase, Signal, SignalKind

COMMON_SCHEMA = "azureMonitorCommonAlertSchema"
LEGACY_SCHEMA = "Microsoft.Insights/activityLogs"


class InvalidAlertError(ValueError):
    """The body is not JSON or not an alert."""


def parse_alert_body(body: bytes) -> Signal | NotOurs:
    """Decode a webhook body (UTF-8 JSON; a leading BOM is tolerated) and parse it."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidAlertError(
            f"body is not valid UTF-8: {exc.reason} at byte {exc.start}"
        ) from exc
    return parse_alert(_loads(text, "body"))


def parse_alert(payload: object) -> Signal | NotOurs:
    """Parse decoded JSON into a health signal, or say why it is not one of ours."""
    root = _Node.of(payload, "")
    schema = root.required_text("schemaId")
    if schema.casefold() == COMMON_SCHEMA.casefold():
        return _parse_common(root.child("data"))
    if schema.casefold() == LEGACY_SCHEMA.casefold():
        return _parse_legacy(root.child("data"))
    return NotOurs(reason=f"schemaId {schema!r} is not an activity-log alert", alert_kind=schema)


def _parse_common(data: _Node) -> Signal | NotOurs:
    # monitoringService decides here; alertContext.eventSource (maybe numeric) is not consulted.
    essentials = data.child("essentials")
    service = essentials.text("monitoringService")
    kind = _kind_of(service or "")
    if kind is None:
        return NotOurs(
            reason=f"monitoringService {service!r} is not ServiceHealth or Resource Health",
            alert_kind=service or "unknown",
        )
    context = data.child("alertContext")
    if kind is SignalKind.SERVICE_HEALTH:
        return _service_health(context, essentials)
    return _resource_health(context, _first_target(essentials), essentials)


def _parse_legacy(data: _Node) -> Signal | NotOurs:
    log = data.child("context").child("activityLog")
    source = log.enum_text("eventSource")
    # Numeric-enum payloads send eventSource 2 for ServiceHealth.
    kind = SignalKind.SERVICE_HEALTH if source == "2" else _kind_of(source or "")
    if kind is None:
        return NotOurs(
            reason=f"eventSource {source!r} is not ServiceHealth or ResourceHealth",
            alert_kind=source or "unknown",
        )
    if kind is SignalKind.SERVICE_HEALTH:
        return _service_health(log, None)
    return _resource_health(log, log.required_text("resourceId").lower(), None)


def _kind_of(name: str) -> SignalKind | None:
    """A monitoringService or eventSource name → our feed, if it is one ("Resource Health" too)."""
    return {
        "servicehealth": SignalKind.SERVICE_HEALTH,
        "resourcehealth": SignalKind.RESOURCE_HEALTH,
    }.get(_fold(name))


def _first_target(essentials: _Node) -> str:
    field = essentials.at("alertTargetIDs")
    targets = essentials.value.get("alertTargetIDs")
    if targets is None or targets == []:
        raise InvalidAlertError(f"{field} is missing, null or empty")
    if not isinstance(targets, list):
        raise InvalidAlertError(f"{field} must be an array, got {_json_type(targets)}")
    first = targets[0]
    if not isinstance(first, str) or not first.strip():
        raise InvalidAlertError(f"{field}[0] must be a resource id, got {_json_type(first)}")
    return first.strip().lower()


def _service_health(context: _Node, essentials: _Node | None) -> Signal:
    props = context.child("properties")
    tracking_id = props.required_text("trackingId")
    communication_id = props.text("communicationId") or ""
    stage = props.text("stage") or ""
    status = context.text("status") or ""
    return Signal(
        kind=SignalKind.SERVICE_HEALTH,
        key=tracking_id,
        update_id=communication_id or context.text("eventDataId") or _digest(context),
        event_time=_event_time(context, essentials),
        phase=_service_phase(stage, status, props.at("stage"), context.at("status")),
        incident_type=props.text("incidentType") or "",
        status=status,
        stage=stage,
        title=props.text("title") or props.text("defaultLanguageTitle") or "",
        services=_impacted_services(props),
        synthetic=_synthetic(props),
        tracking_id=tracking_id,
        communication_id=communication_id,
    )


def _resource_health(context: _Node, resource_id: str, essentials: _Node | None) -> Signal:
    props = context.child_or_empty("properties")
    status = context.text("status") or ""
    health = props.text("currentHealthStatus") or ""
    resolved = _fold(status) == "resolved" or _fold(health) == "available"
    return Signal(
        kind=SignalKind.RESOURCE_HEALTH,
        key=resource_id,
        update_id=context.text("eventDataId") or _digest(context),
        event_time=_event_time(context, essentials),
        phase=Phase.RESOLVED if resolved else Phase.ACTIVE,
        incident_type=props.text("type") or "",
        status=status,
        stage=props.text("stage") or "",
        title=props.text("title") or "",
        resource_id=resource_id,
        health=health,
        synthetic=_synthetic(props),
    )


_PHASES = {
    "active": Phase.ACTIVE,
    "inprogress": Phase.ACTIVE,
    "planned": Phase.PLANNED,
    "rescheduled": Phase.PLANNED,
    "resolved": Phase.RESOLVED,
    "complete": Phase.RESOLVED,
    "completed": Phase.RESOLVED,
    "canceled": Phase.RESOLVED,
    "cancelled": Phase.RESOLVED,
    "rca": Phase.RCA,
}


def _service_phase(stage: str, status: str, stage_field: str, status_field: str) -> Phase:
    """The stage decides; an absent or unknown stage falls back to the status."""
    for value in (stage, status):
        phase = _PHASES.get(_fold(value))
        if phase is not None:
            return phase
    raise InvalidAlertError(
        f"{stage_field} {stage!r} and {status_field} {status!r} name no known phase"
    )


def _impacted_services(props: _Node) -> tuple[ImpactedService, ...]:
    """`impactedServices`: usually an escaped JSON string, sometimes a real array."""
    field = props.at("impactedServices")
    raw = props.value.get("impactedServices")
    if isinstance(raw, str):
        raw = _loads(raw, field) if raw.strip() else None
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidAlertError(f"{field} must be an array, got {_json_type(raw)}")
    return tuple(_impacted_service(_Node.of(item, f"{field}[{i}]")) for i, item in enumerate(raw))


def _impacted_service(entry: _Node) -> ImpactedService:
    field = entry.at("ImpactedRegions")
    regions = entry.value.get("ImpactedRegions")
    if regions is None:  # the regions list may be missing altogether
        regions = []
    if not isinstance(regions, list):
        raise InvalidAlertError(f"{field} must be an array, got {_json_type(regions)}")
    return ImpactedService(
        name=entry.required_text("ServiceName"),
        regions=tuple(
            _Node.of(r, f"{field}[{i}]").required_text("RegionName") for i, r in enumerate(regions)
        ),
    )


def _synthetic(props: _Node) -> bool:
    """Test-button alerts carry `IsSynthetic` (legacy: `isSynthetic`) = "True"."""
    values = (props.value.get("IsSynthetic"), props.value.get("isSynthetic"))
    return any(v is True or (isinstance(v, str) and _fold(v) == "true") for v in values)


def _event_time(context: _Node, essentials: _Node | None) -> datetime:
    candidates = [(context, "eventTimestamp"), (context, "submissionTimestamp")]
    if essentials is not None:
        candidates.append((essentials, "firedDateTime"))
    for node, key in candidates:
        text = node.text(key)
        if text is not None:
            return parse_timestamp(text, field=node.at(key))
    raise InvalidAlertError(f"{context.at('eventTimestamp')} is missing, and so is every fallback")


_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})?", re.ASCII
)


def parse_timestamp(text: str, *, field: str = "timestamp") -> datetime:
    """ISO 8601 as Azure sends it (`Z`, `+00:00` or no offset = UTC; 0-7 fraction digits)."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise InvalidAlertError(f"{field} is not an ISO 8601 date and time: {text!r}")
    seconds, fraction, offset = match.groups()
    # .NET sends 7 fraction digits (ticks); datetime keeps 6, and older parsers accept no more.
    micro = (fraction or "")[:6].ljust(6, "0")
    zone = "+00:00" if offset in (None, "Z", "z") else offset
    try:
        parsed = datetime.fromisoformat(f"{seconds}.{micro}{zone}").astimezone(UTC)
    except ValueError as exc:
        raise InvalidAlertError(f"{field} is not a valid date and time: {text!r} ({exc})") from exc
    except OverflowError:
        parsed = None
    if parsed is None or parsed < EARLIEST_STORABLE:
        raise InvalidAlertError(
            f"{field} {text!r} is outside the times Table Storage can hold "
            "(1601-01-01T00:00:00Z to 9999-12-31T23:59:59Z)"
        )
    return parsed


# Table Storage holds DateTime values from this moment on (to the end of year 9999, which is
# also where Python's datetime ends).
EARLIEST_STORABLE = datetime(1601, 1, 1, tzinfo=UTC)


def _digest(context: _Node) -> str:
    """An id for an update that carries none: the same alert context gives the same digest."""
    try:
        canonical = json.dumps(context.value, sort_keys=True, separators=(",", ":"))
    except RecursionError as exc:
        raise InvalidAlertError(f"{context.path} is nested too deeply") from exc
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _loads(text: str, field: str) -> object:
    try:
        value: object = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKeyError as exc:
        raise InvalidAlertError(
            f"{field} has a duplicate key {exc.args[0]!r} in one object"
        ) from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise InvalidAlertError(f"{field} is not valid JSON: {exc.msg} at {where}") from exc
    except RecursionError as exc:
        raise InvalidAlertError(f"{field} is not valid JSON: nested too deeply") from exc
    return value


class _DuplicateKeyError(ValueError):
    """A JSON object repeats a key: two readers could see two different alerts."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _fold(text: str) -> str:
    """Case- and space-insensitive form: "In Progress" and "InProgress" both become "inprogress"."""
    return "".join(text.split()).casefold()


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "number"


@dataclass(frozen=True)
class _Node:
    """A JSON object and the dotted path it sits at, so that every error names its field."""

    value: dict[str, object]
    path: str

    @classmethod
    def of(cls, value: object, path: str) -> _Node:
        if not isinstance(value, dict):
            where = path or "the alert"
            raise InvalidAlertError(f"{where} must be an object, got {_json_type(value)}")
        return cls(value, path)

    def at(self, key: str) -> str:
        """The dotted path of `key` under this node."""
        return f"{self.path}.{key}" if self.path else key

    def _absent(self, key: str) -> InvalidAlertError:
        return InvalidAlertError(f"{self.at(key)} is {'null' if key in self.value else 'missing'}")

    def child(self, key: str) -> _Node:
        """The object under `key`; missing or null is an error."""
        value = self.value.get(key)
        if value is None:
            raise self._absent(key)
        return _Node.of(value, self.at(key))

    def child_or_empty(self, key: str) -> _Node:
        """The object under `key`, or an empty one when it is missing or null."""
        value = self.value.get(key)
        return _Node({}, self.at(key)) if value is None else _Node.of(value, self.at(key))

    def text(self, key: str) -> str | None:
        """The string under `key`, or None when it is missing or null."""
        value = self.value.get(key)
        if value is None or isinstance(value, str):
            return value
        raise InvalidAlertError(f"{self.at(key)} must be a string, got {_json_type(value)}")

    def required_text(self, key: str) -> str:
        """The string under `key`, stripped; missing, null or blank is an error."""
        value = self.text(key)
        if value is None:
            raise self._absent(key)
        if not value.strip():
            raise InvalidAlertError(f"{self.at(key)} is empty")
        return value.strip()

    def enum_text(self, key: str) -> str | None:
        """An enum sent as a name or as a number (`eventSource` 2); a number as its digits."""
        value = self.value.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(key)
