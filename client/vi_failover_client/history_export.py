"""`vi-failover history --export FILE`: the audit trail's alerts as a history `replay` reads.

Every audit line of an alert keeps the signal as the app parsed it (`evidence.parsed`). Each
update is written once, oldest first, as `{"receivedAt", "alert"}`: the time the controller
received it, and a common-schema alert that the app's parser reads back into the same signal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from vi_failover_client.cli_api import EXIT_OK, EXIT_USAGE, CliError
from vi_failover_client.cli_output import Output

Json = dict[str, Any]
_SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000"


def export_lines(records: Iterable[Mapping[str, Any]]) -> list[Json]:
    """The history lines of these audit records (newest first, as the API gives them): one per
    update, oldest first; records without a kept signal are left out."""
    seen: dict[tuple[str, str, str], Json] = {}
    for record in records:
        parsed = (record.get("evidence") or {}).get("parsed")
        if not isinstance(parsed, dict):
            continue
        key = (str(parsed.get("kind")), str(parsed.get("key")), str(parsed.get("updateId")))
        # Newest first: the last one seen of an update is when it was first received.
        seen[key] = {"receivedAt": record["time"], "alert": alert_of(parsed, str(record["time"]))}
    return sorted(seen.values(), key=lambda line: str(line["receivedAt"]))


def alert_of(parsed: Mapping[str, Any], received: str) -> Json:
    """A common-schema alert carrying the signal: what the action group posted, in essence."""
    resource = parsed.get("kind") == "ResourceHealth"
    context: Json = {
        "eventSource": "ResourceHealth" if resource else "ServiceHealth",
        "eventTimestamp": parsed["eventTime"],
        "eventDataId": parsed["updateId"],
        "status": parsed["status"],
        "submissionTimestamp": received,
        "properties": _resource_properties(parsed) if resource else _service_properties(parsed),
    }
    essentials: Json = {
        "alertRule": "vi-failover-history-export",
        "signalType": "Activity Log",
        "monitorCondition": "Fired",
        "monitoringService": "Resource Health" if resource else "ServiceHealth",
        "alertTargetIDs": [parsed["resourceId"] if resource else _SUBSCRIPTION],
        "firedDateTime": received,
    }
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {"essentials": essentials, "alertContext": context, "customProperties": None},
    }


def _service_properties(parsed: Mapping[str, Any]) -> Json:
    impacted = [
        {"ImpactedRegions": [{"RegionName": r} for r in s["regions"]], "ServiceName": s["name"]}
        for s in parsed["services"]
    ]
    properties: Json = {
        "title": parsed["title"],
        "incidentType": parsed["incidentType"],
        "trackingId": parsed["key"],
        "impactedServices": json.dumps(impacted, separators=(",", ":")),
        "stage": parsed["stage"],
    }
    if parsed.get("communicationId"):
        properties["communicationId"] = parsed["communicationId"]
    if parsed.get("synthetic"):
        properties["IsSynthetic"] = "True"
    return properties


def _resource_properties(parsed: Mapping[str, Any]) -> Json:
    properties: Json = {
        "title": parsed["title"],
        "currentHealthStatus": parsed["health"] or None,
        "type": parsed["incidentType"] or None,
        "stage": parsed["stage"] or None,
    }
    if parsed.get("synthetic"):
        properties["IsSynthetic"] = "True"
    return properties


def export(body: Mapping[str, Any], path: str, out: Output, *, as_json: bool) -> int:
    """Write the history file of a GET /api/history answer and say what it holds."""
    records = list(body.get("records") or [])
    lines = export_lines(records)
    try:
        with open(path, "w", encoding="utf-8") as file:
            for line in lines:
                file.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    except OSError as exc:
        raise CliError(EXIT_USAGE, f"--export {path}: cannot write it: {exc.strerror}") from None
    if as_json:
        out.json({"file": path, "alerts": len(lines), "records": len(records)})
    else:
        span = f", {lines[0]['receivedAt']} to {lines[-1]['receivedAt']}" if lines else ""
        out.line(f"{len(lines)} alerts from {len(records)} audit lines{span} → {path}")
        out.line(f"replay them: vi-failover replay {path} --config <FAILOVER_CONFIG file>")
    return EXIT_OK
