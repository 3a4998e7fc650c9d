"""Realistic action-group webhook payloads, in both envelopes, for tests across the project.

Shapes follow Azure Monitor's documented samples (see spec/alerts.md); every id and value is
our own. Builders return fresh `dict`s, so a test may mutate what it gets, or use
`replaced` / `deleted` to derive a variant by dotted path.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Sequence
from typing import Literal

Schema = Literal["common", "legacy"]
ImpactedAs = Literal["string", "array"]  # impactedServices as escaped JSON text or an array

SUBSCRIPTION_ID = "5f0c9a7e-2d41-4b8e-9c3a-1e6f7b2d8a90"
RESOURCE_GROUP = "rg-media-eastus"
VI_RESOURCE_ID = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"
    "/providers/Microsoft.VideoIndexer/accounts/contoso-eastus"
)
DEFAULT_SERVICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Azure AI Video Indexer", ("East US",)),
)
EVENT_TIME = "2026-11-20T10:00:00.0000000Z"

# Stable, made-up GUIDs: the same arguments always build the same payload.
_NAMESPACE = uuid.UUID("0b7e3c1a-9f64-4d2e-8a55-3c2f1d7e6b90")
_COMMUNICATION = (
    "<p><strong>Summary of impact</strong>: Between 09:40 UTC on 20 Nov 2026 and the time of this"
    " update, customers using Azure AI Video Indexer in the affected regions may have seen"
    " indexing jobs fail or stall.</p><p><strong>Next update</strong>: within 60 minutes.</p>"
)
_RESOLVED_STAGES = {"resolved", "rca", "complete", "completed", "canceled", "cancelled"}


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def service_health(
    *,
    tracking_id: str = "VT0X-1AB",
    stage: str | None = "Active",
    status: str | None = None,
    incident_type: str = "Incident",
    services: Sequence[tuple[str, Sequence[str]]] = DEFAULT_SERVICES,
    communication_id: str | None = "1000",
    event_time: str = EVENT_TIME,
    submission_time: str | None = None,
    schema: Schema = "common",
    impacted_as: ImpactedAs = "string",
    synthetic: bool = False,
    title: str = "Video Indexer - East US",
    numeric_enums: bool = False,
) -> dict[str, object]:
    """A Service Health alert; `status` follows `stage` ("Resolved" after resolution) unless given.

    `stage=None` or `communication_id=None` leaves that property out; `numeric_enums` sends
    `eventSource` 2, `level` 3 and `channels` 1 as the common schema sometimes does.
    """
    if status is None:
        status = "Resolved" if (stage or "").casefold() in _RESOLVED_STAGES else "Active"
    impacted = [
        {"ImpactedRegions": [{"RegionName": r} for r in regions], "ServiceName": name}
        for name, regions in services
    ]
    first_region = next((r for _, regions in services for r in regions), "Global")
    properties: dict[str, object] = {
        "title": title,
        "service": services[0][0] if services else "",
        "region": first_region,
        "communication": _COMMUNICATION,
        "incidentType": incident_type,
        "trackingId": tracking_id,
        "impactStartTime": "2026-11-20T09:40:00Z",
        "impactedServices": json.dumps(impacted, separators=(",", ":"))
        if impacted_as == "string"
        else impacted,
        "impactedServicesTableRows": "".join(
            f"<tr><td>{name}</td><td>{'<br>'.join(regions)}</td></tr>" for name, regions in services
        ),
        "defaultLanguageTitle": title,
        "defaultLanguageContent": _COMMUNICATION,
        "stage": stage,
        "communicationId": communication_id,
        "isHIR": "false",
        "impactType": "SubscriptionList",
        "version": "0.1.1",
    }
    if synthetic:
        properties["IsSynthetic" if schema == "common" else "isSynthetic"] = "True"
    properties = {k: v for k, v in properties.items() if v is not None}
    event_data_id = _guid("servicehealth", tracking_id, communication_id or "", event_time)
    numeric = numeric_enums and schema == "common"
    context: dict[str, object] = {
        "authorization": None,
        "channels": 1 if numeric else "Admin",
        "claims": None,
        "caller": None,
        "correlationId": _guid("correlation", tracking_id),
        "description": f"{status}: {title}",
        "eventSource": 2 if numeric else "ServiceHealth",
        "eventTimestamp": event_time,
        "httpRequest": None,
        "eventDataId": event_data_id,
        "level": 3 if numeric else "Informational",
        "operationName": f"Microsoft.ServiceHealth/{_operation(incident_type)}/action",
        "operationId": _guid("operation", tracking_id),
        "properties": properties,
        "status": status,
        "subStatus": None,
        "submissionTimestamp": submission_time or event_time,
        "ResourceType": None,
    }
    if schema == "legacy":
        context["subscriptionId"] = SUBSCRIPTION_ID
        return _legacy(context)
    essentials = _essentials(
        rule="vi-failover-servicehealth",
        monitoring_service="ServiceHealth",
        targets=[f"/subscriptions/{SUBSCRIPTION_ID}"],
        fired=event_time,
        origin=event_data_id,
    )
    return _common(essentials, context)


def big_service_health(*, services: int = 65, regions: int = 60) -> dict[str, object]:
    """A Service Health alert as large as a wide real one: `services` services (Video Indexer
    among them) each in `regions` regions (East US among them); about 180 KB with the defaults,
    under Azure's 256 KB cap for common-schema alerts."""
    names = [f"Azure Service {n:03d}" for n in range(services - 1)]
    names.insert(services // 2, "Azure AI Video Indexer")
    region_names = ["East US", *(f"Region {n:02d}" for n in range(regions - 1))]
    listed = tuple((name, tuple(region_names)) for name in names)
    return service_health(services=listed, title="Multiple services - Multiple regions")


def _operation(incident_type: str) -> str:
    """The operationName segment Azure uses for each incident type."""
    folded = incident_type.casefold()
    known = {"maintenance", "actionrequired", "informational", "security"}
    return folded if folded in known else "incident"


def resource_health(
    *,
    resource_id: str = VI_RESOURCE_ID,
    current: str | None = "Unavailable",
    previous: str | None = "Available",
    status: str = "Active",
    event_data_id: str | None = "6d1f3b8e-4a27-4c0d-9e15-2b7a8c9d0e31",
    event_time: str = EVENT_TIME,
    schema: Schema = "common",
    health_type: str | None = "Downtime",
    cause: str | None = "PlatformInitiated",
    title: str | None = "Video Indexer account health status changed to unavailable",
) -> dict[str, object]:
    """A Resource Health alert for one resource (a VI account by default).

    The common envelope carries the id lower-cased in `alertTargetIDs`, as Azure sends it;
    the legacy one keeps it as given in `activityLog.resourceId`. `event_data_id=None` omits it.
    """
    context: dict[str, object] = {
        "channels": "Admin, Operation",
        "correlationId": _guid("correlation", resource_id, event_time),
        "eventSource": "ResourceHealth",
        "eventTimestamp": event_time,
        "eventDataId": event_data_id,
        "level": "Informational",
        "operationName": "Microsoft.Resourcehealth/healthevent/Activated/action",
        "operationId": _guid("operation", resource_id, event_time),
        "properties": {
            "title": title,
            "details": None,
            "currentHealthStatus": current,
            "previousHealthStatus": previous,
            "type": health_type,
            "cause": cause,
        },
        "status": status,
        "submissionTimestamp": event_time,
    }
    if event_data_id is None:
        del context["eventDataId"]
    if schema == "legacy":
        context |= {
            "resourceId": resource_id,
            "resourceGroupName": resource_id.split("/")[4] if resource_id.count("/") > 4 else "",
            "resourceProviderName": "Microsoft.Resourcehealth/healthevent/action",
            "subscriptionId": SUBSCRIPTION_ID,
            "resourceType": "Microsoft.VideoIndexer/accounts",
        }
        return _legacy(context)
    context["Activity Log Event Description"] = None
    essentials = _essentials(
        rule="vi-failover-resourcehealth",
        monitoring_service="Resource Health",
        targets=[resource_id.lower()],
        fired=event_time,
        origin=event_data_id or _guid("origin", resource_id),
    )
    essentials["configurationItems"] = [resource_id.rsplit("/", 1)[-1]]
    return _common(essentials, context)


def metric_alert() -> dict[str, object]:
    """A common-schema metric alert (monitoringService "Platform"): not ours."""
    target = f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RESOURCE_GROUP}/providers"
    target += "/microsoft.storage/storageaccounts/stmediaeastus"
    essentials = _essentials(
        rule="storage-egress-high",
        monitoring_service="Platform",
        targets=[target],
        fired="2026-11-20T09:12:31.482Z",
        origin=_guid("metric"),
        signal_type="Metric",
    )
    context: dict[str, object] = {
        "properties": None,
        "conditionType": "SingleResourceMultipleMetricCriteria",
        "condition": {
            "windowSize": "PT5M",
            "allOf": [
                {
                    "metricName": "Egress",
                    "metricNamespace": "Microsoft.Storage/storageAccounts",
                    "operator": "GreaterThan",
                    "threshold": "500000000",
                    "timeAggregation": "Total",
                    "dimensions": [{"name": "ApiName", "value": "GetBlob"}],
                    "metricValue": 734001152,
                    "webTestName": None,
                }
            ],
            "windowStartTime": "2026-11-20T09:07:31.482Z",
            "windowEndTime": "2026-11-20T09:12:31.482Z",
        },
    }
    return _common(essentials, context, custom={"team": "media-platform"})


def log_alert() -> dict[str, object]:
    """A common-schema log search alert (monitoringService "Log Alerts V2"): not ours."""
    workspace = f"/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RESOURCE_GROUP}/providers"
    workspace += "/microsoft.operationalinsights/workspaces/log-media"
    essentials = _essentials(
        rule="indexing-errors-spike",
        monitoring_service="Log Alerts V2",
        targets=[workspace],
        fired="2026-11-20T09:30:05.118Z",
        origin=_guid("log"),
        signal_type="Log",
    )
    context: dict[str, object] = {
        "properties": {},
        "conditionType": "LogQueryCriteria",
        "condition": {
            "windowSize": "PT15M",
            "allOf": [
                {
                    "searchQuery": "AppExceptions | where Message has 'indexing'",
                    "metricMeasureColumn": None,
                    "targetResourceTypes": "['Microsoft.OperationalInsights/workspaces']",
                    "operator": "GreaterThan",
                    "threshold": "10",
                    "timeAggregation": "Count",
                    "dimensions": [],
                    "metricValue": 42.0,
                    "failingPeriods": {
                        "numberOfEvaluationPeriods": 1,
                        "minFailingPeriodsToAlert": 1,
                    },
                }
            ],
            "windowStartTime": "2026-11-20T09:15:05.118Z",
            "windowEndTime": "2026-11-20T09:30:05.118Z",
        },
    }
    return _common(essentials, context)


def budget_alert() -> dict[str, object]:
    """A common-schema budget alert ("CostAlerts"), with the nulls budget alerts carry."""
    essentials: dict[str, object] = {
        "monitoringService": "CostAlerts",
        "firedDateTime": "2026-11-20T06:00:12.907Z",
        "description": "Forecasted spend for budget media-monthly exceeds 90% of its amount.",
        "essentialsVersion": "1.0",
        "alertContextVersion": "1.0",
        "alertId": f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.CostManagement/alerts/"
        + _guid("budget"),
        "alertRule": None,
        "severity": None,
        "signalType": None,
        "monitorCondition": "Fired",
        "alertTargetIDs": None,
        "configurationItems": ["budgets"],
        "originAlertId": None,
    }
    context: dict[str, object] = {
        "AlertCategory": "budgets",
        "AlertData": {
            "Scope": f"/subscriptions/{SUBSCRIPTION_ID}/",
            "ThresholdType": "Forecasted",
            "BudgetType": "Cost",
            "BudgetThreshold": "$2000.00",
            "NotificationThresholdAmount": "$1800.00",
            "BudgetName": "media-monthly",
            "BudgetId": f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Consumption"
            "/budgets/media-monthly",
            "BudgetStartDate": "2026-01-01",
            "BudgetCreator": "finops@contoso.example",
            "Unit": "USD",
            "SpentAmount": "$1612.40",
            "ForecastedTotalForPeriod": "$2187.75",
        },
    }
    return _common(essentials, context)


def aip_budget_notification() -> dict[str, object]:
    """The older budget webhook, schemaId "AIP Budget Notification": not ours."""
    return {
        "schemaId": "AIP Budget Notification",
        "data": {
            "SubscriptionName": "media-prod",
            "SubscriptionId": SUBSCRIPTION_ID,
            "ResourceGroup": RESOURCE_GROUP,
            "SpendingAmount": "1612.40",
            "BudgetStartDate": "2026-01-01T00:00:00.000Z",
            "Budget": "2000",
            "Unit": "USD",
            "BudgetCreator": "finops@contoso.example",
            "BudgetName": "media-monthly",
            "BudgetType": "Cost",
            "NotificationThresholdAmount": "1800.0",
        },
    }


def administrative_alert(*, schema: Schema = "common") -> dict[str, object]:
    """An activity-log Administrative alert (someone restarted a VM): not ours."""
    vm = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}/providers"
    vm += "/Microsoft.Compute/virtualMachines/vm-encoder-01"
    context: dict[str, object] = {
        "authorization": {
            "action": "Microsoft.Compute/virtualMachines/restart/action",
            "scope": vm,
        },
        "channels": "Operation",
        "claims": "{}",
        "caller": "oncall@contoso.example",
        "correlationId": _guid("admin-correlation"),
        "eventSource": "Administrative",
        "eventTimestamp": "2026-11-20T08:45:10.221Z",
        "eventDataId": _guid("admin"),
        "level": "Informational",
        "operationName": "Microsoft.Compute/virtualMachines/restart/action",
        "operationId": _guid("admin-operation"),
        "properties": {"eventCategory": "Administrative", "entity": vm, "message": "restart"},
        "status": "Succeeded",
        "subStatus": "",
        "submissionTimestamp": "2026-11-20T08:45:10.221Z",
    }
    if schema == "legacy":
        return _legacy(context | {"resourceId": vm, "subscriptionId": SUBSCRIPTION_ID})
    essentials = _essentials(
        rule="vm-restarts",
        monitoring_service="Activity Log - Administrative",
        targets=[vm.lower()],
        fired="2026-11-20T08:45:10.221Z",
        origin=_guid("admin"),
    )
    return _common(essentials, context)


def security_alert() -> dict[str, object]:
    """A legacy activity-log alert from Microsoft Defender (eventSource "Security"): not ours."""
    alert = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}/providers"
    alert += "/Microsoft.Security/locations/eastus/alerts/" + _guid("security")
    return _legacy(
        {
            "channels": "Operation",
            "correlationId": _guid("security-correlation"),
            "description": "Suspicious sign-in activity was detected on vm-encoder-01.",
            "eventSource": "Security",
            "eventTimestamp": "2026-11-20T07:15:44.603+00:00",
            "eventDataId": _guid("security"),
            "level": "Informational",
            "operationName": "Microsoft.Security/locations/alerts/activate/action",
            "operationId": _guid("security"),
            "properties": {"severity": "Medium", "compromisedEntity": "vm-encoder-01"},
            "resourceId": alert,
            "status": "Active",
            "subscriptionId": SUBSCRIPTION_ID,
            "submissionTimestamp": "2026-11-20T07:16:02.1180442+00:00",
        }
    )


def to_body(payload: object) -> bytes:
    """The bytes an action group would POST for `payload`."""
    return json.dumps(payload).encode("utf-8")


def replaced(payload: dict[str, object], path: str, value: object) -> dict[str, object]:
    """A deep copy of `payload` with the dotted `path` (e.g. "data.essentials.x") set to `value`."""
    result = copy.deepcopy(payload)
    parent, key = _parent(result, path)
    parent[key] = value
    return result


def deleted(payload: dict[str, object], path: str) -> dict[str, object]:
    """A deep copy of `payload` without the dotted `path`."""
    result = copy.deepcopy(payload)
    parent, key = _parent(result, path)
    del parent[key]
    return result


def _parent(payload: dict[str, object], path: str) -> tuple[dict[str, object], str]:
    *parents, key = path.split(".")
    node = payload
    for name in parents:
        child = node[name]
        assert isinstance(child, dict), f"{name} in {path} is not an object"
        node = child
    return node, key


def _essentials(
    *,
    rule: str,
    monitoring_service: str,
    targets: list[str],
    fired: str,
    origin: str,
    signal_type: str = "Activity Log",
) -> dict[str, object]:
    return {
        "alertId": f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.AlertsManagement/alerts/"
        + _guid("alert", rule, origin),
        "alertRule": rule,
        "severity": "Sev1",
        "signalType": signal_type,
        "monitorCondition": "Fired",
        "monitoringService": monitoring_service,
        "alertTargetIDs": targets,
        "originAlertId": origin,
        "firedDateTime": fired,
        "description": f"{rule} (managed by vi-failover)",
        "essentialsVersion": "1.0",
        "alertContextVersion": "1.0",
    }


def _common(
    essentials: dict[str, object],
    context: dict[str, object],
    custom: dict[str, object] | None = None,
) -> dict[str, object]:
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {"essentials": essentials, "alertContext": context, "customProperties": custom},
    }


def _legacy(activity_log: dict[str, object]) -> dict[str, object]:
    return {
        "schemaId": "Microsoft.Insights/activityLogs",
        "data": {
            "status": "Activated",
            "context": {"activityLog": activity_log},
            "properties": {},
        },
    }
