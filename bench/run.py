"""`python -m bench.run [--fanout N] [--quick]`: measure every figure on a fresh local stack,
print them beside their goals and write bench/results.json.

Exit 0 even when a goal is missed (benchmarks report, they don't gate); 2 when the stack
misbehaved, so a figure could not be measured at all.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from bench.alerting import WARM_UP, alert_latency
from bench.client_hung import client_hung
from bench.cold_fanout import cold_fanout
from bench.coldstart import cold_start
from bench.fanout import fanout
from bench.floor import floor
from bench.reads import client_reads, read_path
from bench.results import ROOT, Figure, show, table, write
from bench.stack import BenchError, Stack, many, pair
from bench.visible import time_to_visible
from devhost.azurite import Azurite, AzuriteError

DEFAULT_OUTPUT = ROOT / "bench" / "results.json"


@dataclass(frozen=True)
class Counts:
    """How many samples each figure takes."""

    failovers: int = 200
    ignored: int = 200
    reads: int = 2000
    cached_calls: int = 1_000_000
    revalidations: int = 500
    alternations: int = 40
    fanout: int = 1000
    imports: int = 5


QUICK = Counts(
    failovers=10,
    ignored=10,
    reads=100,
    cached_calls=100_000,
    revalidations=20,
    alternations=4,
    fanout=50,
    imports=2,
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--fanout", type=int, help="groups in the fan-out figure (default 1000)")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run, < 30 s")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results file")
    args = parser.parse_args(argv)
    if args.fanout is not None and args.fanout < 1:
        parser.error("--fanout must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print, write; the process exit code."""
    args = parse_args(argv)
    # SIGTERM takes Ctrl-C's path, so the hosts and Azurite are stopped, not orphaned.
    signal.signal(signal.SIGTERM, _stop_requested)
    counts = QUICK if args.quick else Counts()
    groups = args.fanout or counts.fanout
    started, clock = datetime.now(UTC), time.perf_counter()
    print(f"vi-failover benchmarks{' (quick)' if args.quick else ''}: fan-out of {groups:,} groups")
    try:
        figures = measure(counts, groups)
    except (BenchError, AzuriteError) as exc:
        print(f"bench: could not measure: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench: interrupted; the stacks were stopped", file=sys.stderr)
        return 130
    duration = time.perf_counter() - clock
    print()
    print(table(figures))
    print(f"\n{ratios(figures)}")
    missed = [f for f in figures if f.status == "MISSED"]
    options = {"quick": args.quick, "fanout": groups, "counts": counts.__dict__}
    write(args.output, figures, options=options, started=started.isoformat(), duration=duration)
    print(f"\n{len(figures)} figures in {duration:.0f} s; written to {_shown(args.output)}")
    if missed:
        print(f"MISSED {len(missed)} goal(s): {', '.join(f.key for f in missed)}")
    else:
        print("Every goal met.")
    return 0


def measure(counts: Counts, fanout_groups: int) -> list[Figure]:
    """Every figure, each family on its own stack so one's table size never slows another."""
    figures: list[Figure] = []
    fresh = many("lat", counts.failovers + WARM_UP)  # one per failover-worthy alert
    latency = [str(g["name"]) for g in fresh]
    main_groups = [
        *fresh,
        pair("tv", "northeurope", "westeurope"),
        pair("read", "japaneast", "japanwest"),
    ]
    with tempfile.TemporaryDirectory() as tmp, Azurite() as azurite:
        work = Path(tmp)
        with Stack(azurite, main_groups, work, "benchmain") as stack:
            stack.seed("read")
            steps: list[tuple[str, Callable[[], list[Figure]]]] = [
                ("active-account read", lambda: read_path(stack, "read", counts.reads)),
                (
                    "client",
                    lambda: client_reads(stack, "read", counts.cached_calls, counts.revalidations),
                ),
                (
                    "alert latency",
                    lambda: alert_latency(stack, latency, counts.ignored),
                ),
                ("time to visible", lambda: time_to_visible(stack, "tv", counts.alternations)),
            ]
            for name, step in steps:
                figures += _step(name, step)
        warm = _step("fan-out", lambda: fanout(azurite, work, fanout_groups))
        moved = _find(warm, "fanout.all_moved_s")
        # Right after the fan-out, on the same Azurite; shown beside it, with the ratio.
        figures += [
            moved,
            *_step("fan-out floor", lambda: floor(azurite, fanout_groups, moved)),
            *[f for f in warm if f is not moved],
        ]
        figures += _step("cold fan-out", lambda: cold_fanout(azurite, work, fanout_groups, moved))
    figures += _step("client, sources hung", lambda: client_hung(counts.cached_calls // 50))
    figures += _step("cold start", lambda: cold_start(counts.imports))
    return figures


def _find(figures: Sequence[Figure], key: str) -> Figure:
    return next(f for f in figures if f.key == key)


def ratios(figures: Sequence[Figure]) -> str:
    """The fan-out's ratios, and how much of the machine other work took meanwhile: on a shared
    machine the seconds alone mislead, and a ratio only where the load held steady."""
    shown = [
        f"{f.title} {show(f.value, f.unit)} ({f.goal_text}: {f.status})"
        for f in figures
        if f.key in ("fanout.ratio_to_floor", "coldstart.fanout.ratio_to_warm")
    ]
    shares = [
        f"{f.detail['other_cpu_share']:.0%} during the {name}"
        for key, name in _MEASURED
        for f in figures
        if f.key == key and f.detail.get("other_cpu_share") is not None
    ]
    return (
        f"Fan-out ratios, measured in the same run: {'; '.join(shown)}.\n"
        f"Other work's share of the machine's CPU: {', '.join(shares)} "
        f"(load average {os.getloadavg()[0]:.2f})."
    )


_MEASURED = (
    ("fanout.all_moved_s", "fan-out"),
    ("fanout.floor_s", "floor"),
    ("coldstart.fanout.all_moved_s", "cold fan-out"),
)


def _step(name: str, measure: Callable[[], list[Figure]]) -> list[Figure]:
    started = time.perf_counter()
    print(f"  {name} …", end="", flush=True)
    figures = measure()
    print(f" {time.perf_counter() - started:.1f} s", flush=True)
    return figures


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
