"""Figure 5, cold: the fan-out's incident on a fresh stack over an empty table, with no readiness
timer run before it. No group has a row yet (the app writes a group at its first change), and
no standby has a probe a batch may trust, so each group's move waits for a pre-flight probe.

Two figures: the first delivery's answer (goal: a 200 within 2 s), and the time until every
group has moved, beside the warm fan-out's from the same run (goal: at most twice as long).
"All moved" counts the `active` rows on West US, of which there is none before the incident.
"""

from __future__ import annotations

from pathlib import Path

from bench.fanout import fanout_stack, first_answer, goal_seconds
from bench.incident import active_rows, deliver_incident
from bench.results import Figure
from bench.stack import BenchError
from devhost.azurite import Azurite

FIRST_ANSWER_GOAL_S = 2.0
RATIO_GOAL = 2.0  # cold at most twice the warm fan-out


def cold_fanout(azurite: Azurite, work: Path, groups: int, warm: Figure) -> list[Figure]:
    """N groups, primaries in East US, nothing stored; one Video Indexer incident in East US."""
    with fanout_stack(azurite, work, groups, "benchcold") as stack:
        table = stack.table()
        if (rows := active_rows(table)) != 0:
            raise BenchError(f"expected no group rows before the cold incident, found {rows}")
        table.close()
        run = deliver_incident(stack, azurite, groups, "BENCH-COLD", 20 * goal_seconds(groups))
    warm_s = warm.value
    cold_s = run.all_moved_s
    goal = RATIO_GOAL * warm_s if warm_s is not None else None
    versus = {"cold_s": cold_s, "warm_s": warm_s}
    return [
        first_answer(
            run,
            "coldstart.fanout.first_answer_s",
            "cold fan-out webhook answer",
            FIRST_ANSWER_GOAL_S,
            only_200=True,
        ),
        Figure(
            "coldstart.fanout.all_moved_s",
            f"cold: {groups:,} groups all moved",
            cold_s,
            "s",
            goal,
            f"≤ {RATIO_GOAL:g}x warm" + (f" ({goal:.3g} s)" if goal is not None else ""),
            {**run.detail(), "warm_s": warm_s},
        ),
        Figure(
            "coldstart.fanout.ratio_to_warm",
            "cold all moved ÷ warm",
            cold_s / warm_s if cold_s is not None and warm_s else None,
            "x",
            RATIO_GOAL,
            f"≤ {RATIO_GOAL:g}x",
            versus,
        ),
    ]
