"""The rows of the fan-out's floor, written by hand after the app's table layout (README, "The
active-account entity"; shared/adapters/table_rows.py) with the same properties, types and
text, so each is as large as the app's: a partition as the readiness timer leaves it, and the
three writes that move a group.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import UpdateMode

from bench.stack import account
from shared.core.model import ImpactedService, Phase, Signal, SignalKind
from shared.core.signal_json import signal_text

Entity = dict[str, Any]
Step = tuple[Any, ...]  # a step of `TableClient.submit_transaction`
PRIMARY, SECONDARY = "eastus", "westus"
TRACKING_ID = "BENCH-FLOOR"
TITLE = "Azure AI Video Indexer - East US - Indexing failures"
# The app's read of a group: its `active` row, and its incident and readiness rows.
QUERY = (
    "PartitionKey eq @pk and ( RowKey eq @active or ( RowKey ge @ilo and RowKey lt @ihi ) "
    "or ( RowKey ge @rlo and RowKey lt @rhi ) )"
)
_SPANS = {"active": "active", "ilo": "incident|", "ihi": "incident}"}
_NEWEST_MICROS = 10**17 - 1


def query_parameters(group: str) -> dict[str, str]:
    """The parameters of QUERY for one group."""
    return {"pk": group, **_SPANS, "rlo": "readiness|", "rhi": "readiness}"}


def partition(group: str, now: datetime) -> list[Entity]:
    """A group's partition as the readiness timer leaves it: the `active` row on the primary,
    and for each account its readiness row and an audit line."""
    tick = uuid.uuid4().hex
    rows = [_active(group, PRIMARY, 1, now, f"initial: {group}-{PRIMARY} is the primary", tick)]
    for location in (PRIMARY, SECONDARY):
        name = f"{group}-{location}"
        evidence = f"VI GET /{location}/Accounts/{account(name, location)['accountId']}"
        evidence += "/Videos?pageSize=1 → 200 in 87 ms"
        rows.append(
            {
                "PartitionKey": group,
                "RowKey": f"readiness|{name}",
                "Account": name,
                "Status": "healthy",
                "CheckedAt": now,
                "Evidence": evidence,
                "ConsecutiveFailures": 0,
                "PassingSince": now,
            }
        )
        reason = f"{name}: unknown → healthy: {evidence}"
        rows.append(_audit(group, now, f"{tick}.readiness.{name}", "readiness", reason, "probe"))
    return rows


def move(group: str, etag: str, now: datetime, delivery: str) -> list[Step]:
    """One transaction: `active` replaced under If-Match, the incident upserted, an audit line
    inserted."""
    reason = f"{group}-{PRIMARY} is impacted by {TRACKING_ID}; moved to {group}-{SECONDARY}"
    active = _active(group, SECONDARY, 2, now, reason, delivery)
    active |= {"Actor": "alert", "AutoMoves": json.dumps([now.isoformat()])}
    key = base64.urlsafe_b64encode(TRACKING_ID.encode()).decode().rstrip("=")
    incident = {
        "PartitionKey": group,
        "RowKey": f"incident|ServiceHealth|{key}",
        "Key": TRACKING_ID,
        "Kind": "ServiceHealth",
        "Status": "open",
        "EventTime": now,
        "Phase": 1,
        "UpdateId": "639317005101198470",
        "FirstSeen": now,
        "UpdatedAt": now,
        "ClampedUpdates": "[]",
        "TriggersFailover": True,
        "BlocksTarget": True,
        "Impacted": json.dumps([f"{group}-{PRIMARY}"]),
        "Title": TITLE,
        "IncidentType": "Incident",
    }
    audit = _audit(group, now, f"{delivery}.failed_over", "failed_over", reason, "alert")
    audit |= {
        "To": f"{group}-{SECONDARY}",
        "Version": 2,
        "SignalKind": "ServiceHealth",
        "TrackingId": TRACKING_ID,
        "CommunicationId": "639317005101198470",
        "Title": TITLE,
        "IncidentType": "Incident",
        "Stage": "Active",
        "Regions": json.dumps(["East US"]),
        "Services": json.dumps(["Azure AI Video Indexer"]),
        "Signal": signal_text(_signal(now)),  # the parsed signal, as the app keeps it
    }
    conditional = {
        "mode": UpdateMode.REPLACE,
        "etag": etag,
        "match_condition": MatchConditions.IfNotModified,
    }
    return [
        ("update", active, conditional),
        ("upsert", incident, {"mode": UpdateMode.REPLACE}),
        ("create", audit),
    ]


def _active(
    group: str, location: str, version: int, now: datetime, reason: str, delivery: str
) -> Entity:
    name = f"{group}-{location}"
    configured = account(name, location)
    return {
        "PartitionKey": group,
        "RowKey": "active",
        "AccountName": name,
        "AccountId": configured["accountId"],
        "Location": location,
        "ResourceId": configured["resourceId"],
        "Role": "primary" if location == PRIMARY else "secondary",
        "Version": version,
        "Since": now,
        "Reason": reason,
        "Pinned": False,
        "Actor": "system",
        "AutoMoves": "[]",
        "ImpactEnded": "{}",
        "LastDelivery": delivery,
        "Mode": "active",
    }


def _audit(group: str, now: datetime, record: str, action: str, reason: str, actor: str) -> Entity:
    micros = int(now.timestamp() * 1_000_000)
    return {
        "PartitionKey": group,
        "RowKey": f"audit|{_NEWEST_MICROS - micros:017d}|{record}",
        "Time": now,
        "Action": action,
        "From": f"{group}-{PRIMARY}",
        "To": f"{group}-{PRIMARY}",
        "Reason": reason,
        "Actor": actor,
        "RecordId": record,
        "Version": 1,
        "SignalKind": "",
        "TrackingId": "",
        "CommunicationId": "",
        "Title": "",
        "IncidentType": "",
        "Stage": "",
        "Regions": "[]",
        "Services": "[]",
        "ResourceId": "",
        "Signal": "",
    }


def _signal(now: datetime) -> Signal:
    """The incident's update as the app parses it (its audit line keeps it as JSON)."""
    return Signal(
        kind=SignalKind.SERVICE_HEALTH,
        key=TRACKING_ID,
        update_id="639317005101198470",
        event_time=now,
        phase=Phase.ACTIVE,
        incident_type="Incident",
        status="Active",
        stage="Active",
        title=TITLE,
        services=(ImpactedService("Azure AI Video Indexer", ("East US",)),),
        resource_id="",
        health="",
        synthetic=False,
        tracking_id=TRACKING_ID,
        communication_id="639317005101198470",
    )
