"""JSON views of the controller's values for the HTTP routes. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shared.app.intake import AlertResult
from shared.core.failback import impact_ended_at
from shared.core.failover import auto_moves_today
from shared.core.fanout import FanoutJob
from shared.core.lifecycle import held
from shared.core.model import Group, ReadinessStatus
from shared.core.shadow import shadow_of
from shared.core.signal_json import signal_json
from shared.core.state import AuditRecord, Decision, GroupState, Incident, IncidentStatus, Readiness


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
            **_mode_view(group, state),
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


def _mode_view(group: Group, state: GroupState) -> dict[str, object]:
    """The group's mode; in shadow mode, where the controller would have put the group too."""
    shadow = shadow_of(group, state)
    if shadow is None:
        return {"mode": group.policy.mode}
    return {
        "mode": group.policy.mode,
        "wouldBeAccount": shadow.account,
        "wouldBeSince": shadow.since.isoformat(),
        "wouldBeReason": shadow.reason,
        "wouldBeBlockedSince": _iso(shadow.blocked_since),
        "apartSince": _iso(shadow.apart_since),
    }


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
                    "parsed": signal_json(r.signal) if r.signal is not None else None,
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


_NAMED = 10  # groups named for each outcome of a readiness tick; the rest are counted


def outcomes_text(outcomes: Mapping[str, str]) -> str:
    """One line for a tick over many groups: each outcome's count, the most frequent first,
    with up to 10 of its groups named (each group's own decision is in its audit trail)."""
    groups: dict[str, list[str]] = {}
    for group, action in sorted(outcomes.items()):
        groups.setdefault(action, []).append(group)
    parts = []
    for action, names in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        more = len(names) - _NAMED
        named = ", ".join(names[:_NAMED]) + (f", and {more} more" if more > 0 else "")
        parts.append(f"{len(names)} {action} ({named})")
    return f"{len(outcomes)} group(s): {'; '.join(parts) or 'none'}"
