"""`make drill` itself: the game day runs on a fresh local stack and passes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_drill_passes_and_prints_its_timeline(tmp_path: Path) -> None:
    """The drill exits 0, prints every step and check, and its figures meet the goals."""
    figures_file = tmp_path / "drill.json"

    result = subprocess.run(
        [sys.executable, "-m", "devhost.drill", "--json", str(figures_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert 0 == result.returncode, result.stdout + result.stderr
    for step in (
        "incident sent",
        "flag written: contoso-westus",
        "client saw contoso-westus",
        "automatic failback",
        "Drill passed.",
    ):
        assert step in result.stdout
    figures = json.loads(figures_file.read_text())
    assert (2.0, True) == (figures["moves"], figures["failover_seen_s"] < 3)
