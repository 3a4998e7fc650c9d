"""`vi-failover replay`: a history of alerts through the decision core, on a simulated clock.

Imports the core (the `vi-failover-core` package, `shared.core`) and nothing that talks to a
server: no storage, no network."""

from __future__ import annotations

import argparse
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vi_failover_client.cli_output import Output

if TYPE_CHECKING:
    from shared.core.model import Config
    from shared.core.replay import ReplayRun
    from shared.core.replay_report import GroupSummary

EXIT_OK = 0
EXIT_USAGE = 2
CORE_HINT = "pip install ./core (the vi-failover-core package, from the repository)"
TEXT = "replay a history of alerts through the decision core on a simulated clock (offline)"
EPILOG = """\
HISTORY is a folder of alert JSON files, a JSON Lines file (what `history --export` writes), or
one JSON file: alerts as the action group posted them (common schema or legacy, test-button
alerts too), or Activity Log events as exported. They are replayed in the order they were
received. No server, storage or network is used.
examples:
  vi-failover replay examples/replay --config devhost/demo-config.json
  vi-failover replay last-month.jsonl --config prod.json --compare prod-auto-failback.json
  vi-failover replay examples/replay --config c.json --readiness standby-down.json --json
"""


def add_parser(commands: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """The `replay` subcommand's arguments."""
    sub = commands.add_parser(
        "replay", help=TEXT, description=TEXT, epilog=EPILOG, formatter_class=formatter
    )
    sub.add_argument("history", metavar="HISTORY", type=Path)
    sub.add_argument(
        "--config", type=Path, help="FAILOVER_CONFIG as a file (default: env FAILOVER_CONFIG)"
    )
    sub.add_argument("--compare", type=Path, metavar="CONFIG", help="a second policy, side by side")
    sub.add_argument(
        "--readiness", type=Path, metavar="FILE", help='[{"account", "from", "to", "status"}, …]'
    )
    sub.add_argument(
        "--tick-minutes",
        type=_tick_minutes,
        default=5,
        metavar="N",
        help="the readiness timer's interval: 0 */N * * * * (N divides 60; default 5)",
    )
    sub.add_argument(
        "--tail-minutes",
        type=_minutes(7 * 24 * 60),
        default=240,
        metavar="N",
        help="keep the clock running this long after the last item (default 240)",
    )
    sub.add_argument("--json", action="store_true", help="print JSON for tools")


def run(args: argparse.Namespace, out: Output) -> int:
    """Replay, print, and return the exit code (2 for unreadable input, naming it)."""
    try:  # the core is a package of its own: the other commands run without it
        from shared.core.config import ConfigError  # noqa: PLC0415
        from shared.core.replay import replay  # noqa: PLC0415
        from shared.core.replay_input import ReplayInputError, readiness_windows  # noqa: PLC0415
        from shared.core.replay_report import differences  # noqa: PLC0415
        from vi_failover_client import replay_view as view  # noqa: PLC0415
        from vi_failover_client.replay_files import load_history, load_json  # noqa: PLC0415
    except ImportError as exc:
        out.error(f"vi-failover: error: replay needs the decision core ({exc.name}): {CORE_HINT}")
        return EXIT_USAGE
    try:
        first = _config(args.config)
        second = _config(args.compare) if args.compare else None
        history = load_history(args.history)
        accounts = {a.name for c in (first, second) if c for g in c.groups for a in g.accounts}
        windows = []
        if args.readiness:
            raw = load_json(args.readiness, "readiness events")
            windows = readiness_windows(raw, str(args.readiness), accounts)
        tick = timedelta(minutes=args.tick_minutes)
        tail = timedelta(minutes=args.tail_minutes)
        runs = [replay(c, history, windows, tick=tick, tail=tail) for c in (first, second) if c]
    except (ReplayInputError, ConfigError) as exc:
        out.error(f"vi-failover: error: {exc}")
        return EXIT_USAGE
    sums = [_summaries(c, r) for c, r in zip((first, second), runs, strict=False) if c]
    if second is None:
        if args.json:
            out.json({"config": _name(args.config), **view.run_json(runs[0], sums[0])})
        else:
            for line in view.run_lines(runs[0], sums[0], args.tick_minutes):
                out.line(line)
        return EXIT_OK
    diffs = differences(runs[0], runs[1])
    names = (_name(args.config), _name(args.compare))
    if args.json:
        first_json: dict[str, Any] = {"config": names[0], **view.run_json(runs[0], sums[0])}
        second_json: dict[str, Any] = {"config": names[1], **view.run_json(runs[1], sums[1])}
        out.json(
            {
                "first": first_json,
                "second": second_json,
                "differences": [view.difference_json(d) for d in diffs],
            }
        )
        return EXIT_OK
    pairs = _paired(sums[0], sums[1])
    for line in view.compare_lines(names, pairs, diffs):
        out.line(line)
    return EXIT_OK


def _config(path: Path | None) -> Config:
    from shared.core.config import ConfigError, load_config, parse_config  # noqa: PLC0415
    from vi_failover_client.replay_files import load_json  # noqa: PLC0415

    if path is None:
        value = os.environ.get("FAILOVER_CONFIG", "")
        if not value.strip():
            raise ConfigError("give --config (a FAILOVER_CONFIG file) or set FAILOVER_CONFIG")
        return load_config(value)
    return parse_config(load_json(path, "config"))


def _summaries(config: Config, run: ReplayRun) -> list[GroupSummary]:
    from shared.core.replay_report import summarize  # noqa: PLC0415

    return [summarize(run, g.name, [a.name for a in g.accounts]) for g in config.groups]


def _paired(
    first: list[GroupSummary], second: list[GroupSummary]
) -> list[tuple[GroupSummary, GroupSummary]]:
    theirs = {s.group: s for s in second}
    return [(s, theirs[s.group]) for s in first if s.group in theirs]


def _name(path: Path | None) -> str:
    return path.name if path is not None else "FAILOVER_CONFIG"


def _tick_minutes(text: str) -> int:
    """Like READINESS_SCHEDULE's `0 */N * * * *`: N divides the hour, so ticks are evenly
    spaced."""
    value = int(text) if text.isdigit() else 0
    if value < 1 or 60 % value:
        divisors = "1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60"
        raise argparse.ArgumentTypeError(f"expected minutes that divide 60: {divisors}")
    return value


def _minutes(most: int) -> Any:
    def parse(text: str) -> int:
        value = int(text) if text.isdigit() else 0
        if not 1 <= value <= most:
            raise argparse.ArgumentTypeError(f"expected a whole number of minutes, 1-{most}")
        return value

    return parse


def deliveries(history: Path, out: Output) -> list[tuple[str, bytes]] | None:
    """A history as `replay` reads it, in the order received, each payload as the action group
    would have posted it (an exported Activity Log event as the legacy webhook carries it):
    `(source, body)` pairs for `send-alert --history`. None (after saying why) when the core
    is missing or the history cannot be read."""
    try:
        from shared.core.replay_input import ReplayInputError, in_order  # noqa: PLC0415
        from vi_failover_client.replay_files import load_history  # noqa: PLC0415
    except ImportError as exc:
        missing = f"--history needs the decision core ({exc.name})"
        out.error(f"vi-failover: error: {missing}: {CORE_HINT}")
        return None
    try:
        loaded = in_order(load_history(history))
    except ReplayInputError as exc:
        out.error(f"vi-failover: error: {exc}")
        return None
    return [(d.source, json.dumps(d.payload).encode()) for d in loaded]
