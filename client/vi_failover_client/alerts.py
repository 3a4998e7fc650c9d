"""Realistic Service Health alerts, as an action group delivers them, for drills. Pure.

The shapes follow Azure Monitor's public samples (common alert schema and the legacy activity
log envelope). The clock is a parameter; the same arguments always build the same payload.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

Schema = Literal["common", "legacy"]

INCIDENT_TYPES = ("Incident", "Maintenance", "Informational", "ActionRequired", "Security")
DEFAULT_SERVICE = "Azure AI Video Indexer"
ALERT_RULE = "vi-failover-cli-drill"

# Made-up, fixed: ids in generated alerts are uuid5s under it, so they are stable per update.
_NAMESPACE = uuid.UUID("6a1d4f0e-3b7c-4e58-9d21-8c5f0a7b3e64")
_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
_TRACKING_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: read aloud at 3 a.m.
_DOTNET_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def default_tracking_id(regions: Sequence[str], incident_type: str) -> str:
    """A tracking id like Azure's (`XXXX-XXX`), the same for the same regions and type.

    So `--resolve` finds the incident that the earlier send opened without re-typing its id.
    """
    folded = sorted({"".join(r.split()).casefold() for r in regions})
    digest = hashlib.sha256(f"{','.join(folded)}|{incident_type.casefold()}".encode()).digest()
    chars = [_TRACKING_ALPHABET[b % len(_TRACKING_ALPHABET)] for b in digest[:7]]
    return f"{''.join(chars[:4])}-{''.join(chars[4:])}"


def canonical_incident_type(value: str) -> str:
    """`incident` or `actionrequired` to Azure's spelling; unknown values are kept as given."""
    return next((t for t in INCIDENT_TYPES if t.casefold() == value.casefold()), value)


def service_health_alert(
    *,
    regions: Sequence[str],
    now: datetime,
    incident_type: str = "Incident",
    service: str = DEFAULT_SERVICE,
    resolve: bool = False,
    tracking_id: str | None = None,
    schema: Schema = "common",
) -> dict[str, object]:
    """A Service Health update naming `service` in `regions`: Active, or its Resolved update.

    A resolution carries the same tracking id with stage and status Resolved; it is sent later,
    so its event time and communicationId (.NET ticks of that time, as Azure's look) are later.
    """
    if not regions:
        raise ValueError("regions: name at least one region")
    tracking = tracking_id or default_tracking_id(regions, incident_type)
    stage = "Resolved" if resolve else "Active"
    event_time = now.astimezone(UTC)
    communication_id = str(_ticks(event_time))
    title = f"{service} - {', '.join(regions)} - {_TITLES.get(incident_type, 'Service issue')}"
    text = _communication(service, regions, event_time, resolve)
    impacted = [{"ImpactedRegions": [{"RegionName": r} for r in regions], "ServiceName": service}]
    properties: dict[str, object] = {
        "title": title,
        "service": service,
        "region": regions[0],
        "communication": text,
        "incidentType": incident_type,
        "trackingId": tracking,
        "impactedServices": json.dumps(impacted, separators=(",", ":")),
        "impactedServicesTableRows": f"<tr><td>{service}</td><td>{'<br>'.join(regions)}</td></tr>",
        "defaultLanguageTitle": title,
        "defaultLanguageContent": text,
        "stage": stage,
        "communicationId": communication_id,
        "isHIR": "false",
        "impactType": "SubscriptionList",
        "version": "0.1.1",
    }
    minute = event_time.replace(second=0, microsecond=0)
    if resolve:
        properties["impactMitigationTime"] = _iso(minute, digits=0)
    else:
        properties["impactStartTime"] = _iso(minute - timedelta(minutes=15), digits=0)
    event_data_id = _guid("update", tracking, communication_id)
    context: dict[str, object] = {
        "channels": "Admin",
        "correlationId": _guid("correlation", tracking),
        "description": f"{stage}: {title}",
        "eventSource": "ServiceHealth",
        "eventTimestamp": _iso(event_time),
        "eventDataId": event_data_id,
        "level": "Informational",
        "operationName": f"Microsoft.ServiceHealth/{_operation(incident_type)}/action",
        "operationId": _guid("operation", tracking),
        "properties": properties,
        "status": stage,
        "submissionTimestamp": _iso(event_time + timedelta(seconds=2.5), zulu=False),
    }
    if schema == "legacy":
        context["subscriptionId"] = _SUBSCRIPTION_ID
        return {
            "schemaId": "Microsoft.Insights/activityLogs",
            "data": {"status": "Activated", "context": {"activityLog": context}, "properties": {}},
        }
    context = {"authorization": None, "claims": None, "caller": None, "httpRequest": None} | context
    context |= {"subStatus": None, "ResourceType": None}
    essentials: dict[str, object] = {
        "alertId": f"/subscriptions/{_SUBSCRIPTION_ID}/providers/Microsoft.AlertsManagement/alerts/"
        + _guid("alert", event_data_id),
        "alertRule": ALERT_RULE,
        "severity": "Sev1" if incident_type == "Incident" else "Sev3",
        "signalType": "Activity Log",
        "monitorCondition": "Fired",
        "monitoringService": "ServiceHealth",
        "alertTargetIDs": [f"/subscriptions/{_SUBSCRIPTION_ID}"],
        "originAlertId": event_data_id,
        "firedDateTime": _iso(event_time),
        "description": "Drill sent by the vi-failover CLI (send-alert)",
        "essentialsVersion": "1.0",
        "alertContextVersion": "1.0",
    }
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {"essentials": essentials, "alertContext": context, "customProperties": None},
    }


_TITLES = {
    "Incident": "Indexing failures",
    "Maintenance": "Planned maintenance",
    "Informational": "Service advisory",
    "ActionRequired": "Action required",
    "Security": "Security advisory",
}


def _communication(service: str, regions: Sequence[str], at: datetime, resolved: bool) -> str:
    where = ", ".join(regions)
    when = f"{at:%H:%M} UTC on {at:%d %b %Y}"
    if resolved:
        return (
            f"<p><strong>Summary of impact</strong>: Until {when}, customers using {service}"
            f" in {where} may have seen indexing jobs fail or stall.</p>"
            "<p><strong>Mitigation</strong>: This issue is now mitigated.</p>"
        )
    return (
        f"<p><strong>Summary of impact</strong>: Starting at {when}, customers using {service}"
        f" in {where} may see indexing jobs fail or stall.</p>"
        "<p><strong>Next update</strong>: within 60 minutes.</p>"
    )


def _operation(incident_type: str) -> str:
    folded = incident_type.casefold()
    known = {"maintenance", "actionrequired", "informational", "security"}
    return folded if folded in known else "incident"


def _ticks(at: datetime) -> int:
    delta = at - _DOTNET_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def _iso(at: datetime, *, digits: int = 7, zulu: bool = True) -> str:
    fraction = f".{at.microsecond:06d}0"[: digits + 1] if digits else ""
    return f"{at:%Y-%m-%dT%H:%M:%S}{fraction}{'Z' if zulu else '+00:00'}"


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))
