"""The shadow-mode columns of the `active` entity: the mode it was saved under, and where the
controller would have put the group (README, "Shadow mode"). Pure mapping."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from shared.core.limits import fit
from shared.core.model import Mode
from shared.core.state import GroupState, Placement


def placement_columns(state: GroupState) -> dict[str, Any]:
    """`Mode`, and `Shadow` (JSON) while the group is in shadow mode."""
    columns: dict[str, Any] = {"Mode": state.mode}
    shadow = state.shadow
    if shadow is not None:
        columns["Shadow"] = json.dumps(
            {
                "account": shadow.account,
                "since": shadow.since.isoformat(),
                "reason": fit(shadow.reason),
                "actor": shadow.actor,
                "autoMoves": [t.isoformat() for t in shadow.auto_moves],
                "blockedSince": _iso(shadow.blocked_since),
                "apartSince": _iso(shadow.apart_since),
            }
        )
    return columns


def mode_from(entity: dict[str, Any]) -> Mode:
    """The mode an entity was saved under; rows from before shadow mode are active."""
    return "shadow" if entity.get("Mode") == "shadow" else "active"


def placement_from(entity: dict[str, Any]) -> Placement | None:
    """The would-be placement an entity holds, or None."""
    text = entity.get("Shadow")
    if not text:
        return None
    raw = json.loads(text)
    return Placement(
        account=raw["account"],
        since=datetime.fromisoformat(raw["since"]),
        reason=raw.get("reason", ""),
        actor=raw.get("actor", "system"),
        auto_moves=tuple(datetime.fromisoformat(t) for t in raw.get("autoMoves", [])),
        blocked_since=_moment(raw.get("blockedSince")),
        apart_since=_moment(raw.get("apartSince")),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
