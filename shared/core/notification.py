"""What a notification says: which decisions are worth a page, and their text. Pure.

Delivery is an adapter's job (`shared.adapters.notify`); the move never waits on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.core.state import Decision

REASON_CHARS = 1000
ACTOR_CHARS = 200
_MARKDOWN = frozenset("[]()*_`~|")

# Worth a page: the active account changed, was pinned or unpinned, or could not change when it
# should have; in shadow mode, the same about where the controller would have put the group, and
# a change of mode. Everything else changes nothing an operator acts on.
NOTIFY_ACTIONS = frozenset(
    {
        "failed_over",
        "failed_back",
        "blocked",
        "moved",
        "pinned",
        "unpinned",
        "would_fail_over",
        "would_fail_back",
        "would_block",
        "mode_changed",
    }
)

_HEADLINES = {
    "failed_over": "failed over {frm} → {to}",
    "failed_back": "failed back {frm} → {to}",
    "moved": "moved {frm} → {to}",
    "blocked": "could not fail over, stays on {frm}",
    "pinned": "pinned to {to}",
    "unpinned": "unpinned, stays on {to}",
    "would_fail_over": "shadow decision, nothing moved: would have failed over {frm} → {to}",
    "would_fail_back": "shadow decision, nothing moved: would have failed back {frm} → {to}",
    "would_block": "shadow decision, nothing moved: could not have failed over from {frm}",
    "mode_changed": "changed mode, stays on {frm}",
}


@dataclass(frozen=True)
class Notification:
    """One decision an operator should hear about."""

    group: str
    action: str
    from_account: str
    to_account: str
    reason: str
    time: datetime
    actor: str
    version: int
    tracking_id: str = ""


def notification_for(decision: Decision, time: datetime) -> Notification | None:
    """The notification for a decision, or None when the decision is not worth a page."""
    if decision.action not in NOTIFY_ACTIONS:
        return None
    first = decision.audit[0] if decision.audit else None
    return Notification(
        group=decision.group,
        action=decision.action,
        from_account=decision.from_account,
        to_account=decision.to_account,
        reason=decision.reason,
        time=time,
        actor=first.actor if first else "",
        version=decision.new_state.version if decision.new_state else 0,
        tracking_id=first.tracking_id if first else "",
    )


def text(n: Notification) -> str:
    """Two human lines: what happened and why, then who did it. Alert and operator text is
    escaped (no `<!channel>`, no links, no markup) and capped."""
    headline = _HEADLINES.get(n.action, n.action + " {frm} → {to}")
    what = headline.format(frm=n.from_account, to=n.to_account)
    who = [f"by {_plain(n.actor or 'unknown', ACTOR_CHARS)}", f"version {n.version}"]
    if n.tracking_id:
        who.append(f"incident {_plain(n.tracking_id, ACTOR_CHARS)}")
    reason = _plain(n.reason, REASON_CHARS)
    return f"vi-failover: group {n.group} {what}: {reason}\n" + " · ".join(who)


def _plain(value: str, limit: int) -> str:
    """Text that Slack and Teams show as text: `&`, `<` and `>` escaped (Slack's only special
    characters, which make mentions and links), Markdown's link and emphasis characters
    escaped, on one line, and cut at `limit` characters."""
    flat = " ".join(value.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    escaped = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join(f"\\{c}" if c in _MARKDOWN else c for c in escaped)


def payload(n: Notification) -> dict[str, object]:
    """The JSON body: a top-level `text` (Slack and Teams render it) plus structured fields."""
    when = n.time.replace(tzinfo=UTC) if n.time.tzinfo is None else n.time.astimezone(UTC)
    return {
        "text": text(n),
        "group": n.group,
        "action": n.action,
        "from": n.from_account,
        "to": n.to_account,
        "reason": n.reason[:REASON_CHARS],
        "time": when.isoformat(),
        "actor": n.actor[:ACTOR_CHARS],
        "version": n.version,
        "trackingId": n.tracking_id,
    }


@dataclass(frozen=True)
class NotifyResult:
    """How a send went: `detail` names the last status or exception, never the URL."""

    ok: bool
    attempts: int
    detail: str


class NullNotifier:
    """The notifier when NOTIFY_WEBHOOK_URL is unset: delivers nothing, successfully."""

    def send(self, n: Notification) -> NotifyResult:
        """Do nothing."""
        return NotifyResult(ok=True, attempts=0, detail="notifications off")
