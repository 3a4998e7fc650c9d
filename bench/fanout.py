"""Figure 5: one regional incident for N groups active in that region; time until all moved.

Above FANOUT_INLINE_GROUPS the webhook accepts the incident onto the queue and answers at once;
the queue-triggered function moves the groups. Once every group has moved the benchmark
delivers once more, as a late retry would, to see what an accepted incident costs to repeat.

The app writes a group's rows at its first change, and the readiness timer writes every group.
So the timer runs once before the incident, as it would have in production within the last
5 minutes: every group has its rows, and the batches find fresh standby probes. The cold
fan-out (`bench.cold_fanout`) is the same incident without it.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import requests

from bench.incident import (
    SECONDARY,
    IncidentRun,
    active_rows,
    deliver_incident,
    partition_sizes,
)
from bench.results import Figure
from bench.stack import BenchError, Stack, many
from devhost.azurite import Azurite

# Two consumers of the queue on this 2-core machine: the host and one more instance, as Flex
# Consumption adds instances for a queue backlog (devhost/queue_worker.py).
QUEUE_INSTANCES = 2
FIRST_ANSWER_GOAL_S = 10.0  # the action group waits about 10 s for an answer
_TICK_DONE = "Executed 'Functions.readiness' (Succeeded"


def goal_seconds(groups: int) -> float:
    """The issue's goals: 1,000 groups within 5 s, 10,000 within 60 s."""
    return 5.0 if groups <= 1000 else 60.0


def fanout_stack(azurite: Azurite, work: Path, groups: int, table: str) -> Stack:
    """A host serving `groups` groups `fan-00000`…, primaries in East US, two queue consumers."""
    return Stack(
        azurite,
        many("fan", groups),
        work,
        table,
        LOCAL_QUEUE_INSTANCES=str(QUEUE_INSTANCES),
    )


def fanout(azurite: Azurite, work: Path, groups: int) -> list[Figure]:
    """N groups, primaries in East US; one Video Indexer incident in East US."""
    goal = goal_seconds(groups)
    with fanout_stack(azurite, work, groups, "benchfanout") as stack:
        readiness = run_readiness(stack, limit=120 + groups / 10)  # it writes every group
        table = stack.table()
        if active_rows(table, SECONDARY) != 0 or active_rows(table, "eastus") != groups:
            raise BenchError(f"expected {groups} groups on East US before the incident")
        run = deliver_incident(stack, azurite, groups, "BENCH-FANOUT", 20 * goal)
        sizes = partition_sizes(table, "fan-00000")
        table.close()
    detail = {**run.detail(), "readiness_tick_s": round(readiness, 2), "entity_bytes": sizes}
    return [
        Figure(
            "fanout.all_moved_s",
            f"{groups:,} groups all moved",
            run.all_moved_s,
            "s",
            goal,
            f"≤ {goal:g} s",
            detail,
        ),
        first_answer(run, "fanout.first_answer_s", "fan-out webhook answer", FIRST_ANSWER_GOAL_S),
        Figure(
            "fanout.late_retry_s",
            f"retry once all moved ({run.late.status or 'timeout'} {run.late.outcome})",
            run.late.seconds,
            "s",
            detail=asdict(run.late),
        ),
    ]


def first_answer(
    run: IncidentRun, key: str, title: str, goal: float, *, only_200: bool = False
) -> Figure:
    """How long the first delivery took to be answered. With `only_200`, an answer other than
    200 has no value, so a 503 or a timeout misses the goal however fast it came."""
    first = run.deliveries[0]
    missed = only_200 and first.status != 200
    return Figure(
        key,
        f"{title} ({first.status or 'timeout'})",
        None if missed else first.seconds,
        "s",
        goal,
        f"≤ {goal:g} s" + (", 200" if only_200 else ""),
        asdict(first),
    )


def run_readiness(stack: Stack, limit: float) -> float:
    """Run the readiness timer now (the admin API) and wait until it has finished; seconds."""
    started = time.perf_counter()
    before = stack.output.count(_TICK_DONE)
    admin = f"{stack.url.removesuffix('/api')}/admin/functions/readiness"
    response = requests.post(admin, timeout=30)
    if response.status_code != 202:
        raise BenchError(f"the readiness timer could not be started: {response.status_code}")
    while stack.output.count(_TICK_DONE) == before:
        if time.perf_counter() - started > limit:
            raise BenchError(f"the readiness timer did not finish within {limit:.0f} s")
        time.sleep(0.5)
    return time.perf_counter() - started
