"""JSON views of the controller's values and parsing of request bodies. Pure."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from shared.alerts import parse_timestamp
from shared.decide import auto_moves_today, impact_ended_at
from shared.fanout import FanoutJob
from shared.lifecycle import held
from shared.manual import ManualRequest
from shared.model import (
    AuditRecord,
    Decision,
    Group,
    GroupState,
    Incident,
    IncidentStatus,
    Readiness,
    ReadinessStatus,
)
from shared.service import AlertResult

DEFAULT_HISTORY_LIMIT = 50
MAX_HISTORY_LIMIT = 1000
MAX_PIN_MINUTES = 30 * 24 * 60
_FAILOVER_FIELDS = {"group", "to", "reason", "pin", "pinMinutes", "pinUntil", "force", "actor"}


class FailoverRequestError(ValueError):
    """A request body or query parameter is invalid; the message names the field."""


def alert_view(result: AlertResult) -> dict[str, object]:
    """Body of a 200 answer to an alert delivery."""
    return {
        "outcome": result.outcome,
        "reason": result.reason,
        "decisions": [
            {
                "group": d.group,
                "action": d.action,
                "from": d.from_account,
                "to": d.to_account,
                "reason": d.reason,
            }
            for d in result.decisions
        ],
        **({"queued": queued_view(result.queued)} if result.queued else {}),
    }


def queued_view(job: FanoutJob) -> dict[str, object]:
    """The fan-out an alert delivery accepted (or found accepted) for the queue."""
    return {
        "fanout": job.job,
        "groups": job.groups,
        "batches": job.batches,
        "acceptedAt": job.accepted_at.isoformat(),
    }


def etag_of(state: GroupState, now: datetime) -> str:
    """Strong ETag of the active-account representation: changes with every move or pin."""
    pin = ".pinned" if state.pin_in_force(now) else ""
    return f'"{state.group}.v{state.version}{pin}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """True when an If-None-Match header names this ETag (weak comparison, or `*`)."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def state_view(
    group: Group, state: GroupState, now: datetime, *, detail: bool = False
) -> dict[str, object]:
    """The active-account body; with `detail`, the status page's extra fields too."""
    account = group.account(state.active)
    view: dict[str, object] = {
        "group": group.name,
        "account": {
            "name": state.active,
            "accountId": account.account_id if account else None,
            "location": account.location if account else None,
            "resourceId": account.resource_id if account else None,
        },
        "role": group.role(state.active) if account else None,
        "since": state.since.isoformat(),
        "reason": state.reason,
        "version": state.version,
        "pinned": state.pin_in_force(now),
    }
    if detail:
        pin_expires = state.pin_expires if state.pin_in_force(now) else None
        incidents = sorted(state.incidents.values(), key=lambda i: i.updated_at, reverse=True)
        holding = held(state.incidents)
        view |= {
            "pinExpires": pin_expires.isoformat() if pin_expires else None,
            "actor": state.actor,
            "blockedSince": state.blocked_since.isoformat() if state.blocked_since else None,
            "autoMovesToday": auto_moves_today(state, now),
            "policy": {
                "failback": group.policy.failback,
                "failbackStableMinutes": group.policy.failback_stable_minutes,
                "minDwellMinutes": group.policy.min_dwell_minutes,
                "confirmWithProbe": group.policy.confirm_with_probe,
                "failoverOnProbeFailures": group.policy.failover_on_probe_failures,
                "maxAutoMovesPerDay": group.policy.max_auto_moves_per_day,
            },
            "lastReadinessCheck": _last_check(state),
            "accounts": [
                {
                    "name": a.name,
                    "location": a.location,
                    "role": group.role(a.name),
                    "readiness": _readiness_view(state.readiness.get(a.name)),
                    "impacted": a.name in holding,
                    "impactEndedAt": _iso(impact_ended_at(state, a.name)),
                }
                for a in group.accounts
            ],
            "openIncidents": [_incident_view(i) for i in incidents if not i.status.closed],
            "closedIncidents": [
                _incident_view(i) for i in incidents if i.status is IncidentStatus.CLOSED
            ],
            "tombstones": sum(1 for i in incidents if i.status is IncidentStatus.TOMBSTONE),
        }
    return view


def history_view(records: list[AuditRecord]) -> dict[str, object]:
    """Body of GET /api/history."""
    return {
        "records": [
            {
                "time": r.time.isoformat(),
                "group": r.group or None,
                "action": r.action,
                "from": r.from_account or None,
                "to": r.to_account or None,
                "reason": r.reason,
                "actor": r.actor,
                "version": r.version,
                "evidence": {
                    "signal": r.signal_kind or None,
                    "trackingId": r.tracking_id or None,
                    "communicationId": r.communication_id or None,
                    "title": r.title or None,
                    "incidentType": r.incident_type or None,
                    "stage": r.stage or None,
                    "regions": list(r.regions),
                    "services": list(r.services),
                    "resourceId": r.resource_id or None,
                },
            }
            for r in records
        ]
    }


def failover_view(decision: Decision) -> dict[str, object]:
    """Body of a 200 answer to POST /api/failover."""
    state = decision.new_state
    return {
        "outcome": decision.action,
        "group": decision.group,
        "from": decision.from_account,
        "to": decision.to_account,
        "reason": decision.reason,
        "version": state.version if state else None,
        "pinned": state.pinned if state else None,
        "pinExpires": state.pin_expires.isoformat() if state and state.pin_expires else None,
    }


def parse_limit(raw: str | None) -> int:
    """The `limit` query parameter: 1 to MAX_HISTORY_LIMIT, default DEFAULT_HISTORY_LIMIT."""
    if raw is None or raw == "":
        return DEFAULT_HISTORY_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_HISTORY_LIMIT:
        raise FailoverRequestError(f"limit: {raw!r} must be a whole number from 1 to 1000")
    return int(raw)


def parse_failover_request(body: bytes, principal: str | None, now: datetime) -> ManualRequest:
    """Validate a POST /api/failover body; every error names its field."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FailoverRequestError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise FailoverRequestError("body must be a JSON object")
    if unknown := sorted(set(raw) - _FAILOVER_FIELDS):
        raise FailoverRequestError(
            f"{unknown[0]}: unknown field (allowed: {', '.join(sorted(_FAILOVER_FIELDS))})"
        )
    reason = _text(raw, "reason", required=True)
    to = _text(raw, "to")
    pin = _flag(raw, "pin")
    if to is None and pin is None:
        raise FailoverRequestError("to: give the account to move to, or pin true/false")
    pin_expires = _pin_expires(raw, now)
    if pin_expires is not None and pin is not True:
        raise FailoverRequestError("pinMinutes/pinUntil: only with pin true")
    return ManualRequest(
        group=_text(raw, "group") or "",
        reason=reason or "",
        actor=_text(raw, "actor") or principal or "operator",
        to=to,
        pin=pin,
        pin_expires=pin_expires,
        force=_flag(raw, "force") or False,
    )


def _pin_expires(raw: dict[str, object], now: datetime) -> datetime | None:
    if "pinMinutes" in raw and "pinUntil" in raw:
        raise FailoverRequestError("pinMinutes, pinUntil: give one, not both")
    minutes = raw.get("pinMinutes")
    if minutes is not None:
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise FailoverRequestError("pinMinutes: must be a whole number")
        if not 1 <= minutes <= MAX_PIN_MINUTES:
            raise FailoverRequestError(f"pinMinutes: must be from 1 to {MAX_PIN_MINUTES}")
        return now + timedelta(minutes=minutes)
    until = raw.get("pinUntil")
    if until is None:
        return None
    if not isinstance(until, str):
        raise FailoverRequestError("pinUntil: must be an ISO 8601 timestamp")
    try:
        expires = parse_timestamp(until, field="pinUntil")
    except ValueError as exc:
        raise FailoverRequestError(str(exc)) from exc
    if expires <= now:
        raise FailoverRequestError(f"pinUntil: {until} is not in the future")
    return expires


def _text(raw: dict[str, object], name: str, *, required: bool = False) -> str | None:
    value = raw.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FailoverRequestError(f"{name}: must be a non-empty string")
    if len(value) > 1000:
        raise FailoverRequestError(f"{name}: at most 1000 characters")
    return value.strip()


def _flag(raw: dict[str, object], name: str) -> bool | None:
    value = raw.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise FailoverRequestError(f"{name}: must be true or false")


def _readiness_view(readiness: Readiness | None) -> dict[str, object]:
    if readiness is None:
        return {"status": ReadinessStatus.UNKNOWN.value, "ready": True, "checkedAt": None}
    return {
        "status": readiness.status.value,
        "ready": readiness.ready,
        "checkedAt": readiness.checked_at.isoformat(),
        "evidence": readiness.evidence,
        "consecutiveFailures": readiness.consecutive_failures,
        "passingSince": readiness.passing_since.isoformat() if readiness.passing_since else None,
    }


def _last_check(state: GroupState) -> str | None:
    checks = [r.checked_at for r in state.readiness.values()]
    return max(checks).isoformat() if checks else None


def _incident_view(incident: Incident) -> dict[str, object]:
    return {
        "key": incident.key,
        "kind": incident.kind.value,
        "title": incident.title,
        "type": incident.incident_type,
        "status": incident.status.value,
        "phase": incident.phase.name.lower(),
        "impacted": sorted(incident.impacted),
        "triggersFailover": incident.triggers_failover,
        "firstSeen": incident.first_seen.isoformat(),
        "updatedAt": incident.updated_at.isoformat(),
        "lastUpdate": {"id": incident.update_id, "eventTime": incident.event_time.isoformat()},
        "closedAt": _iso(incident.closed_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
