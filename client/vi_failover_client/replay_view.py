"""What `vi-failover replay` prints: each group's timeline and summary, or two side by side."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.core.replay import ReplayRun, Step
from shared.core.replay_report import MOVES, Difference, GroupSummary

Json = dict[str, Any]


def when(moment: datetime) -> str:
    """`2026-03-02 09:12` (UTC)."""
    return f"{moment:%Y-%m-%d %H:%M}"


def duration(minutes: float) -> str:
    """`3d 16h 50m`, `1h 41m`, `0m`."""
    total = round(minutes)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if days or hours else []
    return " ".join([*parts, f"{mins}m"])


def shown(step: Step) -> bool:
    """Whether a step belongs in the printed timeline: a first probe that passed does not."""
    return not (step.action == "readiness" and ": unknown → healthy:" in step.reason)


def step_lines(step: Step) -> list[str]:
    """A step in two lines: what happened, then why."""
    if step.action in MOVES:
        where = f"{step.from_account} → {step.to_account}"
    else:
        where = f"on {step.from_account}" if step.from_account else ""
    what = step.signal or "readiness tick"
    source = "" if step.source == "tick" else f"  [{step.source}]"
    return [
        f"  {when(step.time)}  {step.action:<11} {where:<34} {what}{source}",
        f"  {'':16}  {step.reason}",
    ]


def summary_line(s: GroupSummary) -> str:
    on = ", ".join(f"{name} {duration(m)}" for name, m in s.minutes_on.items())
    incidents = ", ".join(f"{_short(k)} {v}" for k, v in s.incidents.items()) or "none"
    return (
        f"  summary: {s.moves} moves ({s.failovers} failovers, {s.failbacks} automatic "
        f"failbacks); time on {on}; blocked {duration(s.minutes_blocked)}; ends on {s.active}; "
        f"incidents: {incidents}"
    )


def run_lines(run: ReplayRun, summaries: list[GroupSummary], tick_minutes: int) -> list[str]:
    lines = [
        f"replayed {when(run.start)} → {when(run.end)} UTC, readiness ticks every "
        f"{tick_minutes} min"
    ]
    for s in summaries:
        lines += ["", f"group {s.group}"]
        for step in run.steps:
            if step.group == s.group and shown(step):
                lines += step_lines(step)
        lines.append(summary_line(s))
    unmatched = [step for step in run.steps if not step.group]
    if unmatched:
        lines += ["", "alerts that touched no group"]
        for step in unmatched:
            lines += step_lines(step)
    return lines


def compare_lines(
    names: tuple[str, str],
    pairs: list[tuple[GroupSummary, GroupSummary]],
    diffs: list[Difference],
) -> list[str]:
    first, second = names
    lines = []
    for a, b in pairs:
        rows = [
            ("moves", str(a.moves), str(b.moves)),
            ("failovers", str(a.failovers), str(b.failovers)),
            ("automatic failbacks", str(a.failbacks), str(b.failbacks)),
            *(
                (f"time on {n}", duration(a.minutes_on[n]), duration(b.minutes_on.get(n, 0.0)))
                for n in a.minutes_on
            ),
            ("blocked", duration(a.minutes_blocked), duration(b.minutes_blocked)),
            ("ends on", a.active, b.active),
        ]
        lines += [f"group {a.group:<30} {first:<32} {second}"]
        lines += [f"  {label:<34} {x:<32} {y}{'' if x == y else '   ≠'}" for label, x, y in rows]
        ours = [d for d in diffs if d.group == a.group]
        lines += ["", f"  where they differ ({len(ours)}):" if ours else "  no decision differs"]
        for d in ours:
            lines.append(f"  {when(d.time)}  {d.source}")
            lines.append(f"    {first}: {_brief(d.first)}")
            lines.append(f"    {second}: {_brief(d.second)}")
        lines.append("")
    return lines[:-1]


def run_json(run: ReplayRun, summaries: list[GroupSummary]) -> Json:
    return {
        "start": run.start.isoformat(),
        "end": run.end.isoformat(),
        "groups": [
            {
                "group": s.group,
                "summary": summary_json(s),
                "timeline": [step_json(t) for t in run.steps if t.group == s.group],
            }
            for s in summaries
        ],
        "unmatched": [step_json(t) for t in run.steps if not t.group],
    }


def summary_json(s: GroupSummary) -> Json:
    return {
        "active": s.active,
        "moves": s.moves,
        "failovers": s.failovers,
        "automaticFailbacks": s.failbacks,
        "minutesOn": {k: round(v, 1) for k, v in s.minutes_on.items()},
        "minutesBlocked": round(s.minutes_blocked, 1),
        "incidents": s.incidents,
    }


def step_json(step: Step | None) -> Json | None:
    if step is None:
        return None
    return {
        "time": step.time.isoformat(),
        "source": step.source,
        "signal": step.signal or None,
        "action": step.action,
        "from": step.from_account or None,
        "to": step.to_account or None,
        "reason": step.reason,
    }


def difference_json(d: Difference) -> Json:
    return {
        "time": d.time.isoformat(),
        "group": d.group,
        "source": d.source,
        "first": step_json(d.first),
        "second": step_json(d.second),
    }


def _brief(step: Step | None) -> str:
    if step is None:
        return "nothing"
    if step.action in MOVES:
        return f"{step.action} {step.from_account} → {step.to_account}: {step.reason}"
    return f"{step.action} (on {step.from_account}): {step.reason}"


def _short(key: str) -> str:
    """An incident key for people: a Resource Health key is a resource id; its name will do."""
    return key.rsplit("/", 1)[-1] + " (Resource Health)" if key.startswith("/") else key
