"""Alert webhook body → `Signal` (ours) or `NotOurs`, from either action-group envelope.

Accepts the common alert schema and the legacy `Microsoft.Insights/activityLogs` envelope.
Everything Azure Monitor is documented to send (see spec/alerts.md) parses or is set aside;
anything else fails with an `InvalidAlertError` whose message names the offending field.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from shared.core.jsontext import (
    InvalidAlertError,
    Node,
    json_type,
    loads,
    parse_timestamp,
)
from shared.core.limits import UnstorableValueError, check_id
from shared.core.model import ImpactedService, NotOurs, Phase, Signal, SignalKind

__all__ = ["InvalidAlertError", "parse_alert", "parse_alert_body", "parse_timestamp"]

COMMON_SCHEMA = "azureMonitorCommonAlertSchema"
LEGACY_SCHEMA = "Microsoft.Insights/activityLogs"


def parse_alert_body(body: bytes) -> Signal | NotOurs:
    """Decode a webhook body (UTF-8 JSON; a leading BOM is tolerated) and parse it."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidAlertError(
            f"body is not valid UTF-8: {exc.reason} at byte {exc.start}"
        ) from exc
    return parse_alert(loads(text, "body"))


def parse_alert(payload: object) -> Signal | NotOurs:
    """Parse decoded JSON into a health signal, or say why it is not one of ours."""
    root = Node.of(payload, "")
    schema = root.required_text("schemaId")
    if schema.casefold() == COMMON_SCHEMA.casefold():
        return _parse_common(root.child("data"))
    if schema.casefold() == LEGACY_SCHEMA.casefold():
        return _parse_legacy(root.child("data"))
    return NotOurs(reason=f"schemaId {schema!r} is not an activity-log alert", alert_kind=schema)


def _parse_common(data: Node) -> Signal | NotOurs:
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


def _parse_legacy(data: Node) -> Signal | NotOurs:
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
    return _resource_health(log, log.identifier("resourceId").lower(), None)


def _kind_of(name: str) -> SignalKind | None:
    """A monitoringService or eventSource name → our feed, if it is one ("Resource Health" too)."""
    return {
        "servicehealth": SignalKind.SERVICE_HEALTH,
        "resourcehealth": SignalKind.RESOURCE_HEALTH,
    }.get(_fold(name))


def _first_target(essentials: Node) -> str:
    field = essentials.at("alertTargetIDs")
    targets = essentials.value.get("alertTargetIDs")
    if targets is None or targets == []:
        raise InvalidAlertError(f"{field} is missing, null or empty")
    if not isinstance(targets, list):
        raise InvalidAlertError(f"{field} must be an array, got {json_type(targets)}")
    first = targets[0]
    if not isinstance(first, str) or not first.strip():
        raise InvalidAlertError(f"{field}[0] must be a resource id, got {json_type(first)}")
    try:
        return check_id(first.strip(), f"{field}[0]").lower()
    except UnstorableValueError as exc:
        raise InvalidAlertError(str(exc)) from exc


def _service_health(context: Node, essentials: Node | None) -> Signal:
    props = context.child("properties")
    tracking_id = props.identifier("trackingId")
    communication_id = props.optional_identifier("communicationId")
    stage = props.text("stage") or ""
    status = context.text("status") or ""
    return Signal(
        kind=SignalKind.SERVICE_HEALTH,
        key=tracking_id,
        update_id=communication_id
        or context.optional_identifier("eventDataId")
        or _digest(context),
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


def _resource_health(context: Node, resource_id: str, essentials: Node | None) -> Signal:
    props = context.child_or_empty("properties")
    status = context.text("status") or ""
    health = props.text("currentHealthStatus") or ""
    resolved = _fold(status) == "resolved" or _fold(health) == "available"
    return Signal(
        kind=SignalKind.RESOURCE_HEALTH,
        key=resource_id,
        update_id=context.optional_identifier("eventDataId") or _digest(context),
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


def _impacted_services(props: Node) -> tuple[ImpactedService, ...]:
    """`impactedServices`: usually an escaped JSON string, sometimes a real array."""
    field = props.at("impactedServices")
    raw = props.value.get("impactedServices")
    if isinstance(raw, str):
        raw = loads(raw, field) if raw.strip() else None
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidAlertError(f"{field} must be an array, got {json_type(raw)}")
    return tuple(_impacted_service(Node.of(item, f"{field}[{i}]")) for i, item in enumerate(raw))


def _impacted_service(entry: Node) -> ImpactedService:
    field = entry.at("ImpactedRegions")
    regions = entry.value.get("ImpactedRegions")
    if regions is None:  # the regions list may be missing altogether
        regions = []
    if not isinstance(regions, list):
        raise InvalidAlertError(f"{field} must be an array, got {json_type(regions)}")
    return ImpactedService(
        name=entry.required_text("ServiceName"),
        regions=tuple(
            Node.of(r, f"{field}[{i}]").required_text("RegionName") for i, r in enumerate(regions)
        ),
    )


def _synthetic(props: Node) -> bool:
    """Test-button alerts carry `IsSynthetic` (legacy: `isSynthetic`) = "True"."""
    values = (props.value.get("IsSynthetic"), props.value.get("isSynthetic"))
    return any(v is True or (isinstance(v, str) and _fold(v) == "true") for v in values)


def _event_time(context: Node, essentials: Node | None) -> datetime:
    candidates = [(context, "eventTimestamp"), (context, "submissionTimestamp")]
    if essentials is not None:
        candidates.append((essentials, "firedDateTime"))
    for node, key in candidates:
        text = node.text(key)
        if text is not None:
            return parse_timestamp(text, field=node.at(key))
    raise InvalidAlertError(f"{context.at('eventTimestamp')} is missing, and so is every fallback")


def _digest(context: Node) -> str:
    """An id for an update that carries none: the same alert context gives the same digest."""
    try:
        canonical = json.dumps(context.value, sort_keys=True, separators=(",", ":"))
    except RecursionError as exc:
        raise InvalidAlertError(f"{context.path} is nested too deeply") from exc
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _fold(text: str) -> str:
    """Case- and space-insensitive form: "In Progress" and "InProgress" both become "inprogress"."""
    return "".join(text.split()).casefold()
