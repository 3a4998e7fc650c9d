"""Figure 5: one regional incident for N groups active in that region; time until all moved.

Above FANOUT_INLINE_GROUPS the webhook accepts the incident onto the queue and answers at once;
the queue-triggered function moves the groups. The benchmark still re-delivers as the action
group does (after a 503 or no answer, again about 5 s later), and once every group has moved it
delivers once more, as a late retry would, to see what an accepted incident costs to repeat.

Before the incident, the readiness timer runs once, as it would have in production within the
last 5 minutes, so the batches find fresh standby probes.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from azure.data.tables import TableClient
from vi_failover_client.alerts import service_health_alert

from bench.results import Figure
from bench.stack import BenchError, Stack, many, tree_cpu_seconds
from devhost.azurite import Azurite

ANSWER_LIMIT_S = 10.0  # the action group waits about 10 s for an answer
REDELIVER_AFTER_S = 5.0
QUEUE_INSTANCES = "2"


def goal_seconds(groups: int) -> float:
    """The issue's goals: 1,000 groups within 5 s, 10,000 within 60 s."""
    return 5.0 if groups <= 1000 else 60.0


@dataclass(frozen=True)
class Delivery:
    """One POST of the incident: when it was sent (s after the first), its answer and time."""

    sent_s: float
    status: int | None  # None: no answer within the action group's patience
    seconds: float
    outcome: str


class ActionGroup:
    """Delivers one alert on its own thread, again 5 s after each 503 or timeout."""

    def __init__(self, url: str, alert: dict[str, object]) -> None:
        self._url, self._alert = f"{url}/alerts", alert
        self._session = requests.Session()
        self.deliveries: list[Delivery] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._retry, name="action-group", daemon=True)
        self.first = 0.0

    def start(self) -> None:
        self.first = time.perf_counter()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def deliver(self) -> Delivery:
        """One POST, timed; a 4xx means the benchmark itself is wrong."""
        sent = time.perf_counter()
        try:
            response = self._session.post(self._url, json=self._alert, timeout=ANSWER_LIMIT_S + 5)
            status: int | None = response.status_code
            body = response.json()
            outcome = str(body.get("outcome") or body.get("error"))
        except requests.Timeout:
            status, outcome = None, "timeout"
        if status not in (None, 200, 503):
            raise BenchError(f"the incident was answered {status}: {outcome}")
        return Delivery(round(sent - self.first, 3), status, time.perf_counter() - sent, outcome)

    def _retry(self) -> None:
        while not self._stop.is_set():
            delivery = self.deliver()
            self.deliveries.append(delivery)
            if delivery.status == 200:
                return
            self._stop.wait(REDELIVER_AFTER_S)


def fanout(azurite: Azurite, work: Path, groups: int) -> list[Figure]:
    """N groups, primaries in East US; one Video Indexer incident in East US."""
    goal = goal_seconds(groups)
    # Two consumers of the queue on this 2-core machine: the host and one more instance, as
    # Flex Consumption adds instances for a queue backlog (devhost/queue_worker.py).
    with Stack(
        azurite, many("fan", groups), work, "benchfanout", LOCAL_QUEUE_INSTANCES=QUEUE_INSTANCES
    ) as stack:
        readiness = _run_readiness(stack, limit=120 + groups / 10)  # it writes every group
        table = stack.table()
        if _moved(table)[0] != 0 or _count(table, "eastus") != groups:
            raise BenchError(f"expected {groups} groups on East US before the incident")
        alert = service_health_alert(
            regions=["East US"], now=datetime.now(UTC), tracking_id="BENCH-FANOUT"
        )
        sender = ActionGroup(stack.url, alert)
        cpu_before = (tree_cpu_seconds(stack.pid), _azurite_cpu(azurite))
        sent_at = time.time()
        sender.start()
        moved, last_write = _wait_all_moved(table, groups, sent_at + 20 * goal)
        window = time.time() - sent_at
        host_cpu = tree_cpu_seconds(stack.pid) - cpu_before[0]
        azurite_cpu = _azurite_cpu(azurite) - cpu_before[1]
        sender.stop()
        late = sender.deliver()  # a retry arriving after every group has moved
        table.close()
        log = stack.output
    total = last_write - sent_at if moved == groups and last_write is not None else None
    first = sender.deliveries[0]
    detail = {
        "groups": groups,
        "moved": moved,
        "deliveries": [asdict(d) for d in sender.deliveries],
        "readiness_tick_s": round(readiness, 2),
        "groups_per_s": round(groups / total, 1) if total else None,
        # From the first delivery until the poll saw every group moved.
        "window_s": round(window, 2),
        "host_cpu_s": round(host_cpu, 2),
        "azurite_cpu_s": round(azurite_cpu, 2),
        **_from_log(log),
    }
    return [
        Figure(
            "fanout.all_moved_s",
            f"{groups:,} groups all moved",
            total,
            "s",
            goal,
            f"≤ {goal:g} s",
            detail,
        ),
        Figure(
            "fanout.first_answer_s",
            f"fan-out webhook answer ({first.status or 'timeout'})",
            first.seconds,
            "s",
            ANSWER_LIMIT_S,
            f"≤ {ANSWER_LIMIT_S:g} s",
            asdict(first),
        ),
        Figure(
            "fanout.late_retry_s",
            f"retry once all moved ({late.status or 'timeout'} {late.outcome})",
            late.seconds,
            "s",
            detail=asdict(late),
        ),
    ]


def _run_readiness(stack: Stack, limit: float) -> float:
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


def _azurite_cpu(azurite: Azurite) -> float:
    if azurite.pid is None:
        raise BenchError("Azurite is not running")
    return tree_cpu_seconds(azurite.pid)


def _moved(table: TableClient) -> tuple[int, float | None]:
    """How many groups are active on West US, and when (epoch s) the last of them was written."""
    rows = list(
        table.query_entities(
            "RowKey eq 'active' and Location eq 'westus'", select=["PartitionKey", "Timestamp"]
        )
    )
    stamps = [
        stamp.timestamp() for row in rows if (stamp := row.metadata.get("timestamp")) is not None
    ]
    return len(rows), max(stamps, default=None)


def _count(table: TableClient, location: str) -> int:
    query = f"RowKey eq 'active' and Location eq '{location}'"
    return sum(1 for _ in table.query_entities(query, select=["PartitionKey"]))


def _wait_all_moved(table: TableClient, groups: int, until: float) -> tuple[int, float | None]:
    """Poll the table; the last write's time is Azurite's own Timestamp of the entity, so the
    poll interval costs no precision, and a slow poll keeps its table scans out of the way."""
    every = max(0.5, groups / 2000)
    while True:
        moved, last = _moved(table)
        if moved >= groups or time.time() > until:
            return moved, last
        time.sleep(every)


_PREFLIGHT = re.compile(r"pre-flight probe of \S+: (\w+)")
_TICK_DONE = "Executed 'Functions.readiness' (Succeeded"


def _from_log(log: str) -> dict[str, object]:
    """What the host's log says the fan-out did: probes, conflicts, budget overruns."""
    return {
        "preflight_probes": dict(Counter(_PREFLIGHT.findall(log))),
        "conflict_retries": log.count("changed under us"),
        "answered_503": log.count("answering 503"),
        "failed_over_lines": len(re.findall(r"→ group \S+: failed_over", log)),
        "batches_applied": log.count("Executed 'Functions.fanout' (Succeeded"),
        "batches_failed": log.count("Executed 'Functions.fanout' (Failed"),
    }
