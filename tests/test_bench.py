"""`make bench` itself: a quick run on a fresh local stack writes every figure beside its goal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGURES = {
    "alert.failover.p50_ms",
    "alert.failover.p99_ms",
    "alert.ignored.p50_ms",
    "alert.ignored.p99_ms",
    "read.endpoint.p50_ms",
    "read.endpoint.p99_ms",
    "read.endpoint.per_s",
    "read.bare.p50_ms",
    "read.bare.p99_ms",
    "read.bare.per_s",
    "read.app_query.p50_ms",
    "read.host_hop.p50_ms",
    "read.ratio_p50",
    "client.cached_us",
    "client.revalidate.p50_ms",
    "client.revalidate.p99_ms",
    "client.hung_get.p99_ms",
    "client.first_get_hung_s",
    "visible.p50_s",
    "visible.p99_s",
    "fanout.all_moved_s",
    "fanout.first_answer_s",
    "fanout.late_retry_s",
    "fanout.floor_s",
    "fanout.ratio_to_floor",
    "coldstart.fanout.first_answer_s",
    "coldstart.fanout.all_moved_s",
    "coldstart.fanout.ratio_to_warm",
    "coldstart.import_ms",
    "coldstart.network_events",
}
# Figures whose goal is part of what they report.
GOALS = {
    "fanout.all_moved_s",
    "fanout.ratio_to_floor",
    "coldstart.fanout.first_answer_s",
    "coldstart.fanout.all_moved_s",
    "coldstart.fanout.ratio_to_warm",
    "visible.p99_s",
    "client.cached_us",
    "read.ratio_p50",
}


def test_a_quick_bench_run_writes_every_figure_with_its_goal(tmp_path: Path) -> None:
    """`--quick` exits 0, prints the table, and results.json holds each figure and the machine."""
    output = tmp_path / "results.json"

    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert 0 == result.returncode, result.stdout + result.stderr
    assert "measured" in result.stdout
    results = json.loads(output.read_text())
    figures = {f["key"]: f for f in results["figures"]}
    assert FIGURES == set(figures)
    assert (1, True, 50) == (
        results["schema"],
        results["options"]["quick"],
        results["options"]["fanout"],
    )
    assert {"cpus", "python", "platform", "git_commit"} <= set(results["machine"])
    for key, figure in figures.items():
        expected = "info" if figure["goal"] is None else figure["status"]
        assert expected == figure["status"], key
        assert figure["status"] in {"pass", "MISSED", "info"}, key
        assert isinstance(figure["value"], float | int), key
    missed = [k for k, f in figures.items() if f["status"] == "MISSED"]
    assert sorted(missed) == sorted(results["missed"])
    for key in GOALS:
        assert figures[key]["goal"] is not None, key
    assert 50 == figures["fanout.all_moved_s"]["detail"]["moved"]
    assert 50 == figures["coldstart.fanout.all_moved_s"]["detail"]["moved"]
    assert (50, 2, 16) == tuple(
        figures["fanout.floor_s"]["detail"][k] for k in ("groups", "processes", "threads_each")
    )
    assert 200 == figures["coldstart.fanout.first_answer_s"]["detail"]["status"]
    assert _quotient(figures, "fanout.all_moved_s", "fanout.floor_s") == pytest.approx(
        figures["fanout.ratio_to_floor"]["value"], rel=1e-3
    )
    assert _quotient(figures, "coldstart.fanout.all_moved_s", "fanout.all_moved_s") == (
        pytest.approx(figures["coldstart.fanout.ratio_to_warm"]["value"], rel=1e-3)
    )


def _quotient(figures: dict[str, dict[str, Any]], top: str, bottom: str) -> float:
    return float(figures[top]["value"]) / float(figures[bottom]["value"])
