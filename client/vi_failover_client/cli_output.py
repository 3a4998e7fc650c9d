"""What the CLI prints: aligned tables and one-liners from the API's JSON, for people.

Pure formatting, plus `Output`, the one place that writes: it leaves colours off when the
stream is not a terminal and scrubs the function key from anything it prints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

Json = dict[str, Any]

_COLOURS = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33"}
_TONES = {
    "failed_over": "yellow",
    "failed_back": "yellow",
    "moved": "yellow",
    "pinned": "yellow",
    "unpinned": "yellow",
    "blocked": "red",
    "suppressed": "red",
    "would_fail_over": "yellow",
    "would_fail_back": "yellow",
    "would_block": "red",
    "mode_changed": "yellow",
    "notify_failed": "red",
    "healthy": "green",
    "degraded": "red",
    "unreachable": "red",
    "unauthorized": "red",
    "misconfigured": "red",
}
Paint = Callable[[str, str], str]


@dataclass
class Output:
    """Where the CLI writes; no `secrets` reach either stream."""

    stdout: TextIO
    stderr: TextIO
    secrets: tuple[str, ...] = ()
    width: int | None = None  # truncate wide tables to this; None: never truncate

    @property
    def colour(self) -> bool:
        """Colours only on a terminal, and never with NO_COLOR or TERM=dumb."""
        no_colour = "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb"
        return not no_colour and self.stdout.isatty()

    def paint(self, text: str, tone: str) -> str:
        """`text` in a colour (a tone name or an outcome/readiness word), when colours are on."""
        code = _COLOURS.get(_TONES.get(tone, tone))
        return f"\x1b[{code}m{text}\x1b[0m" if code and self.colour else text

    def line(self, text: str = "") -> None:
        """One line to stdout, flushed: `watch` is read line by line through pipes."""
        self._write(self.stdout, text)

    def error(self, text: str) -> None:
        """One line to stderr."""
        self._write(self.stderr, text)

    def json(self, body: object, *, compact: bool = False) -> None:
        """`body` as JSON on stdout: indented, or on one line (`watch --json`)."""
        self.line(json.dumps(body, indent=None if compact else 2, ensure_ascii=False))

    def _write(self, stream: TextIO, text: str) -> None:
        for secret in filter(None, self.secrets):
            text = text.replace(secret, "***")
        encoding = getattr(stream, "encoding", None) or "utf-8"
        # A cp1252 pipe has no arrow: print a `?` rather than die mid-incident.
        text = text.encode(encoding, errors="replace").decode(encoding)
        stream.write(text + "\n")
        stream.flush()


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 timestamp from the API, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def fmt_time(value: object) -> str:
    """`2026-11-24 05:41:14Z` (UTC, as Azure Service Health speaks); `-` when absent."""
    parsed = parse_time(value)
    if parsed is None:
        return str(value) if value else "-"
    return f"{parsed.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"


def fmt_age(value: object, now: datetime) -> str:
    """How long ago, roughly: `42s`, `12m`, `3h05m`, `2d04h`."""
    parsed = parse_time(value)
    if parsed is None:
        return "?"
    seconds = max(0, int((now - parsed).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86_400
    if minutes < 60:
        return f"{minutes}m"
    if hours < 24:
        return f"{hours}h{minutes % 60:02d}m"
    return f"{days}d{hours % 24:02d}h"


def table(
    out: Output,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    tone_column: int = -1,
    indent: str = "",
) -> list[str]:
    """Aligned columns; the last one is cut to `out.width`; `tone_column` is painted by value."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    used = len(indent) + sum(w + 2 for w in widths[:-1])
    lines = []
    for index, row in enumerate([list(headers), *[list(r) for r in rows]]):
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=False)]
        last = _cut(row[-1], out.width - used if out.width else None)
        if index == 0:
            cells = [out.paint(c, "bold") for c in cells]
            last = out.paint(last, "bold")
        elif 0 <= tone_column < len(cells):
            cells[tone_column] = out.paint(cells[tone_column], row[tone_column])
        lines.append(indent + "  ".join([*cells, last]).rstrip())
    return lines


def _cut(text: str, room: int | None) -> str:
    if room is None or len(text) <= room:
        return text
    return text[: max(room, 20) - 1] + "…"


def active_line(body: Json, now: datetime) -> str:
    """`default: contoso-westus (secondary, westus, v2) since … (12m ago) — reason`."""
    account = body.get("account") or {}
    pinned = " [pinned]" if body.get("pinned") else ""
    return (
        f"{body.get('group')}: {account.get('name')} ({body.get('role')}, "
        f"{account.get('location')}, v{body.get('version')}){pinned} since "
        f"{fmt_time(body.get('since'))} ({fmt_age(body.get('since'), now)} ago)"
        f" — {body.get('reason')}"
    )


def state_key(body: Json) -> tuple[object, ...]:
    """What `watch` reports a change of: the active account, the version and the pin."""
    return ((body.get("account") or {}).get("name"), body.get("version"), body.get("pinned"))


def change_line(before: Json, after: Json) -> str:
    """What changed between two active-account bodies: a move, a pin or unpin, or a version."""
    old, new = (before.get("account") or {}).get("name"), (after.get("account") or {}).get("name")
    account = after.get("account") or {}
    if old != new:
        where = f"{old} → {new} ({after.get('role')}, {account.get('location')}"
        return f"{after.get('group')}: {where}, v{after.get('version')}) — {after.get('reason')}"
    pin = "pinned" if after.get("pinned") else "unpinned"
    if bool(before.get("pinned")) == bool(after.get("pinned")):
        pin = "changed"
    # A pin keeps the move's reason: repeating it here would read as the pin's reason.
    return f"{after.get('group')}: {new} {pin} (v{after.get('version')})"


def status_lines(body: Json, out: Output) -> list[str]:
    """A block per group: the active account, pin, incidents, then each account's readiness."""
    now = parse_time(body.get("time")) or datetime.now(UTC)
    lines = [f"as of {fmt_time(body.get('time'))}"]
    for group in body.get("groups") or []:
        account = (group.get("account") or {}).get("name")
        pin = "yes, until " + _until(group.get("pinExpires")) if group.get("pinned") else "no"
        since = group.get("since")
        lines += [
            "",
            out.paint(f"group {group.get('group')}", "bold"),
            f"  active:    {account} ({group.get('role')}), v{group.get('version')}",
            f"  since:     {fmt_time(since)} ({fmt_age(since, now)} ago) — {group.get('reason')}",
            f"  pinned:    {pin}",
        ]
        if group.get("mode") == "shadow":
            lines.append(f"  mode:      {_shadow(group, now, out)}")
        if group.get("blockedSince"):
            blocked = out.paint(f"since {fmt_time(group['blockedSince'])}", "red")
            lines.append(f"  blocked:   {blocked} (a failover is waiting for a ready target)")
        incidents = group.get("openIncidents") or []
        lines.append(f"  incidents: {len(incidents) or 'none open'}")
        for incident in incidents:
            impacted = ", ".join(incident.get("impacted") or []) or "no account"
            trigger = " [failover]" if incident.get("triggersFailover") else ""
            lines.append(
                f"    {incident.get('key')} {incident.get('type')} {incident.get('phase')}"
                f"{trigger}: {incident.get('title')} — impacts {impacted}"
            )
        rows = []
        for acc in group.get("accounts") or []:
            readiness = acc.get("readiness") or {}
            mark = "*" if acc.get("name") == account else " "
            rows.append(
                [
                    f"{mark} {acc.get('name')}",
                    str(acc.get("role")),
                    str(acc.get("location")),
                    str(readiness.get("status")),
                    fmt_time(readiness.get("checkedAt")),
                    str(readiness.get("evidence") or ""),
                ]
            )
        headers = ["  ACCOUNT", "ROLE", "LOCATION", "READINESS", "LAST CHECK", "EVIDENCE"]
        lines += ["", *table(out, headers, rows, tone_column=3, indent="  ")]
    return lines


def history_lines(body: Json, out: Output) -> list[str]:
    """The audit trail as a table, newest first; reasons cut to the terminal's width."""
    rows = [
        [
            fmt_time(r.get("time")),
            r.get("group") or "-",
            str(r.get("action")),
            _move(r.get("from"), r.get("to")),
            str(r.get("reason") or ""),
        ]
        for r in body.get("records") or []
    ]
    if not rows:
        return ["no history yet"]
    return table(out, ["TIME", "GROUP", "ACTION", "FROM → TO", "REASON"], rows, tone_column=2)


def failover_lines(body: Json, out: Output) -> list[str]:
    """The outcome of a move, pin or unpin, with the new version."""
    outcome = str(body.get("outcome"))
    where = f"on {body.get('to')}"
    if outcome == "moved":
        where = _move(body.get("from"), body.get("to"))
    if body.get("pinned") and outcome != "unchanged":
        where += f", pinned until {_until(body.get('pinExpires'))}"
    version = f" (v{body['version']})" if body.get("version") is not None else ""
    return [
        f"{out.paint(outcome, outcome)}: {body.get('group')} {where}{version}",
        f"  {body.get('reason')}",
    ]


def _until(expires: object) -> str:
    return fmt_time(expires) if expires else "unpinned"


def alert_lines(body: Json, out: Output) -> list[str]:
    """An alert's outcome and each group's decision."""
    outcome = str(body.get("outcome"))
    lines = [f"outcome: {out.paint(outcome, outcome)} — {body.get('reason')}"]
    rows = [
        [
            str(d.get("group")),
            str(d.get("action")),
            _move(d.get("from"), d.get("to")),
            str(d.get("reason") or ""),
        ]
        for d in body.get("decisions") or []
    ]
    if rows:
        headers = ["GROUP", "ACTION", "FROM → TO", "REASON"]
        lines += ["", *table(out, headers, rows, tone_column=1)]
    return lines


def _move(source: object, target: object) -> str:
    if not source and not target:
        return "-"
    if source == target or not source or not target:
        return str(source or target)
    return f"{source} → {target}"


def _shadow(group: Json, now: datetime, out: Output) -> str:
    """Shadow mode: where the controller would have put the group, and since when apps differ."""
    would = group.get("wouldBeAccount")
    apart = group.get("apartSince")
    if not apart:
        return f"shadow (would also be on {would})"
    where = out.paint(f"would be on {would}", "yellow")
    return f"shadow ({where} since {fmt_time(apart)}, {fmt_age(apart, now)} ago; nothing moved)"
