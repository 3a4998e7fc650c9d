"""`vi-failover history --export FILE`: the audit trail's alerts as a history `replay` reads.

Every audit line of an alert keeps the signal as the app parsed it (`evidence.parsed`). Each
update is written once, oldest first, as `{"receivedAt", "alert"}`: the time the controller
received it, and a common-schema alert that the app's parser reads back into the same signal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from vi_failover_client.cli_api import EXIT_OK, EXIT_USAGE, CliError
from vi_failover_client.cli_output import Output

Json = dict[str, Any]
# An audit line of the readiness timer: "<account>: <was> → <status>: <evidence>".
_READINESS = re.compile(r"([A-Za-z0-9._-]+): \w+ → (\w+): (.*)", re.DOTALL)
_READY = ("healthy", "unknown")
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


def readiness_events(records: Iterable[Mapping[str, Any]]) -> list[Json]:
    """The readiness windows the audit trail shows: from each change of an account into a
    failing status to its next change (`to` absent while it lasts), as `replay --readiness`
    reads them. Every group audits the same probe: consecutive equal statuses are one."""
    changes: dict[str, list[tuple[str, str, str]]] = {}
    for record in records:
        found = _READINESS.match(str(record.get("reason") or ""))
        if record.get("action") == "readiness" and found:
            account, status, evidence = found.groups()
            changes.setdefault(account, []).append((str(record["time"]), status, evidence))
    events = []
    for account, seen in sorted(changes.items()):
        seen.sort()
        kept = [c for n, c in enumerate(seen) if n == 0 or c[1] != seen[n - 1][1]]
        for n, (time, status, evidence) in enumerate(kept):
            if status in _READY:
                continue
            event: Json = {"account": account, "from": time, "status": status}
            if n + 1 < len(kept):
                event["to"] = kept[n + 1][0]
            events.append({**event, "evidence": evidence})
    return sorted(events, key=lambda e: str(e["from"]))


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


def export(
    body: Mapping[str, Any], path: str, out: Output, *, as_json: bool, readiness: str | None
) -> int:
    """Write the history file (and the readiness file) of a GET /api/history answer and say
    what they hold."""
    records = list(body.get("records") or [])
    lines = export_lines(records)
    text = "".join(
        json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines
    )
    _write(path, text, "--export")
    events = readiness_events(records)
    if readiness:
        _write(readiness, json.dumps({"events": events}, indent=2, ensure_ascii=False) + "\n",
               "--export-readiness")  # fmt: skip
    if as_json:
        out.json({"file": path, "alerts": len(lines), "records": len(records),
                  "readinessFile": readiness, "readinessEvents": len(events)})  # fmt: skip
        return EXIT_OK
    span = f", {lines[0]['receivedAt']} to {lines[-1]['receivedAt']}" if lines else ""
    out.line(f"{len(lines)} alerts from {len(records)} audit lines{span} → {path}")
    if readiness:
        out.line(f"{len(events)} readiness windows → {readiness}")
    option = f" --readiness {readiness}" if readiness else ""
    out.line(f"replay them: vi-failover replay {path}{option} --config <FAILOVER_CONFIG file>")
    return EXIT_OK


def _write(path: str, text: str, option: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        raise CliError(EXIT_USAGE, f"{option} {path}: cannot write it: {exc.strerror}") from None
