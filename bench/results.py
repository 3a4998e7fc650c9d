"""Figures beside their goals: the printed table and `bench/results.json`."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = 1


@dataclass(frozen=True)
class Figure:
    """One measured figure; `goal` is an upper bound (measured <= goal), None when unstated."""

    key: str
    title: str
    value: float | None  # None: never reached (e.g. the groups did not all move in time)
    unit: str
    goal: float | None = None
    goal_text: str = ""
    detail: Mapping[str, object] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """ "pass", "MISSED", or "info" for a figure reported without a goal."""
        if self.goal is None:
            return "info"
        if self.value is None or not math.isfinite(self.value) or self.value > self.goal:
            return "MISSED"
        return "pass"

    def as_json(self) -> dict[str, object]:
        """The figure as results.json holds it."""
        return {
            "key": self.key,
            "title": self.title,
            "value": _rounded(self.value),
            "unit": self.unit,
            "goal": self.goal,
            "goal_text": self.goal_text,
            "status": self.status,
            "detail": dict(self.detail),
        }


def _rounded(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.4g}") if abs(value) < 1e4 else round(value, 1)


def show(value: float | None, unit: str) -> str:
    """A value with its unit, to three significant digits."""
    if value is None or not math.isfinite(value):
        return "not reached"
    if unit == "x":
        return f"{value:.2f}x"
    if not unit and value.is_integer():  # a count
        return f"{value:,.0f}"
    # Three significant digits, trailing zeros kept: "11.0 s", not "11 s".
    number = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:#.3g}".rstrip(".")
    return f"{number} {unit}".rstrip()


def table(figures: Sequence[Figure]) -> str:
    """The figures as an aligned text table: figure, measured, goal, result."""
    rows = [("figure", "measured", "goal", "result")]
    rows += [(f.title, show(f.value, f.unit), f.goal_text or "—", f.status) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def machine() -> dict[str, object]:
    """What the figures were measured on, and which code."""
    return {
        "cpus": os.cpu_count(),
        # Other work on the machine skews every figure: the 1-minute load when the run ended.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "node": _output(["node", "--version"]),
        "git_commit": _output(["git", "rev-parse", "--short", "HEAD"]),
        # Uncommitted changes measured along with the commit (read-only: `git status`).
        "git_changed": (
            _output(["git", "status", "--porcelain", "--", "shared", "function_app.py"]) or ""
        ).splitlines(),
    }


def _output(command: list[str]) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            command, cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def write(
    path: Path,
    figures: Sequence[Figure],
    *,
    options: Mapping[str, object],
    started: str,
    duration: float,
) -> None:
    """Write every figure, its goal and status, the options and the machine to `path`."""
    document = {
        "schema": SCHEMA,
        "started": started,
        "duration_s": round(duration, 1),
        "options": dict(options),
        "machine": machine(),
        "figures": [f.as_json() for f in figures],
        "missed": [f.key for f in figures if f.status == "MISSED"],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
