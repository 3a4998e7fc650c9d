"""One regional incident delivered to a stack, as an action group delivers it, timed until every
group it touches has moved: the measurement behind the warm and the cold fan-out figures.

The benchmark re-delivers as the action group does (after a 503 or no answer, again about 5 s
later). It learns that every group has moved from the host's log, so nothing but the app
touches the table while the groups move; then one query counts the `active` rows on the
secondary and takes the last one's write time, Azurite's own `Timestamp`.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient
from vi_failover_client.alerts import service_health_alert

from bench.stack import BenchError, Stack, azurite_cpu, machine_cpu_seconds, tree_cpu_seconds
from devhost.azurite import Azurite

ANSWER_LIMIT_S = 10.0  # the action group waits about 10 s for an answer
REDELIVER_AFTER_S = 5.0
LOG_POLL_S = 0.1
# The primaries' region as Service Health names it, and the secondaries' location.
REGION, SECONDARY = "East US", "westus"


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


@dataclass(frozen=True)
class IncidentRun:
    """What one incident cost: its deliveries, and when (if) every group had moved."""

    groups: int
    moved: int
    all_moved_s: float | None  # first delivery sent → the last group's write; None: not all
    deliveries: list[Delivery]
    late: Delivery  # a retry arriving after every group has moved
    window_s: float  # first delivery sent → the log showed every group moved (or time ran out)
    host_cpu_s: float
    azurite_cpu_s: float
    other_cpu_s: float  # everything else on the machine meanwhile, the bench's process included
    load_average_1m: float  # when every group had moved
    log: dict[str, object]

    def detail(self) -> dict[str, object]:
        """The run as a figure's detail."""
        return {
            "groups": self.groups,
            "moved": self.moved,
            "deliveries": [asdict(d) for d in self.deliveries],
            "groups_per_s": round(self.groups / self.all_moved_s, 1) if self.all_moved_s else None,
            "window_s": round(self.window_s, 2),
            "host_cpu_s": round(self.host_cpu_s, 2),
            "azurite_cpu_s": round(self.azurite_cpu_s, 2),
            "other_cpu_s": round(self.other_cpu_s, 2),
            "other_cpu_share": round(other_share(self.other_cpu_s, self.window_s), 3),
            "load_average_1m": round(self.load_average_1m, 2),
            **self.log,
        }


def deliver_incident(
    stack: Stack, azurite: Azurite, groups: int, tracking_id: str, limit_s: float
) -> IncidentRun:
    """Post one Video Indexer incident in East US and wait until `groups` groups have moved to
    West US (or `limit_s` has passed); then deliver it once more, as a late retry would."""
    table = stack.table()
    alert = service_health_alert(regions=[REGION], now=datetime.now(UTC), tracking_id=tracking_id)
    sender = ActionGroup(stack.url, alert)
    _, logged = stack.log_from(0)
    cpu_before = (tree_cpu_seconds(stack.pid), azurite_cpu(azurite), machine_cpu_seconds())
    sent_at = time.time()
    sender.start()
    log, logged = _wait_logged_moves(stack, logged, groups, sent_at + limit_s)
    window = time.time() - sent_at
    host_cpu = tree_cpu_seconds(stack.pid) - cpu_before[0]
    azurite_used = azurite_cpu(azurite) - cpu_before[1]
    machine = machine_cpu_seconds() - cpu_before[2]
    sender.stop()
    moved, last_write = moved_rows(table)
    late = sender.deliver()
    table.close()
    log += stack.log_from(logged)[0]
    complete = moved == groups and last_write is not None
    return IncidentRun(
        groups=groups,
        moved=moved,
        all_moved_s=last_write - sent_at if complete and last_write is not None else None,
        deliveries=sender.deliveries,
        late=late,
        window_s=window,
        host_cpu_s=host_cpu,
        azurite_cpu_s=azurite_used,
        other_cpu_s=machine - host_cpu - azurite_used,
        load_average_1m=os.getloadavg()[0],
        log=_from_log(log, sent_at),
    )


def other_share(cpu_s: float, window_s: float) -> float:
    """The share of the machine's CPU that `cpu_s` took over `window_s`."""
    return max(0.0, cpu_s) / (window_s * (os.cpu_count() or 1)) if window_s > 0 else 0.0


def moved_rows(table: TableClient) -> tuple[int, float | None]:
    """How many groups are active on the secondary, and when (epoch s) the last was written."""
    query = f"RowKey eq 'active' and Location eq '{SECONDARY}'"
    try:
        rows = list(table.query_entities(query, select=["PartitionKey", "Timestamp"]))
    except ResourceNotFoundError:  # no table yet: nothing was written
        return 0, None
    stamps = [
        stamp.timestamp() for row in rows if (stamp := row.metadata.get("timestamp")) is not None
    ]
    return len(rows), max(stamps, default=None)


def active_rows(table: TableClient, location: str | None = None) -> int:
    """How many `active` rows the table holds (in `location`, when given)."""
    query = "RowKey eq 'active'" + (f" and Location eq '{location}'" if location else "")
    try:
        return sum(1 for _ in table.query_entities(query, select=["PartitionKey"]))
    except ResourceNotFoundError:
        return 0


_MOVED = re.compile(r"→ group \S+: failed_over")


def _wait_logged_moves(stack: Stack, offset: int, groups: int, until: float) -> tuple[str, int]:
    """Wait until the host has logged `groups` moves after byte `offset` (or `until`); what it
    logged meanwhile, and the offset after it. Reading the log costs the table nothing, so the
    app has Azurite to itself while it works; reading only what is new costs little CPU."""
    lines: list[str] = []
    moves = 0
    while moves < groups and time.time() < until:
        time.sleep(LOG_POLL_S)
        new, offset = stack.log_from(offset)
        lines.append(new)
        moves += len(_MOVED.findall(new))
    return "".join(lines), offset


_PREFLIGHT = re.compile(r"pre-flight probe of \S+: (\w+)")


def _from_log(log: str, sent_at: float) -> dict[str, object]:
    """What the host's log says the incident did: probes, conflicts, budget overruns, and how
    each consumer of the queue ran its batches (times in s after the first delivery)."""
    started = [_epoch(when) - sent_at for when, _ in _BATCH_STARTED.findall(log)]
    consumers: dict[str, dict[str, float]] = {}
    for when, consumer in _BATCH_DONE.findall(log):
        mine = consumers.setdefault(consumer, {"batches": 0, "last_done_s": 0.0})
        mine["batches"] += 1
        mine["last_done_s"] = round(max(mine["last_done_s"], _epoch(when) - sent_at), 3)
    return {
        "preflight_probes": dict(Counter(_PREFLIGHT.findall(log))),
        "conflict_retries": log.count("changed under us"),
        "answered_503": log.count("answering 503"),
        "failed_over_lines": len(_MOVED.findall(log)),
        "batches_applied": log.count("Executed 'Functions.fanout' (Succeeded"),
        "batches_failed": log.count("Executed 'Functions.fanout' (Failed"),
        "first_batch_started_s": round(min(started), 3) if started else None,
        # The host's own consumer logs as `devhost.queues`, each extra one with its pid.
        "consumers": consumers,
        "warnings": _warnings(log),
    }


# The host's log lines start with a local time to the millisecond (logging's asctime).
_STAMP = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO "
_BATCH_STARTED = re.compile(_STAMP + r"(\S+): Executing 'Functions\.fanout'", re.MULTILINE)
_BATCH_DONE = re.compile(_STAMP + r"(\S+): Executed 'Functions\.fanout' \(Succeeded", re.MULTILINE)
_WARNING = re.compile(r"^\S+ \S+ (WARNING|ERROR) (\S+?)(?:\[\d+\])?: (.*)$", re.MULTILINE)
_WARNINGS_KEPT = 10
_NUMBER = re.compile(r"\d+")


def _warnings(log: str) -> dict[str, int]:
    """How often the host logged each kind of warning or error, the most frequent first; every
    number reads #, so the lines of one kind (one per group, say) count together."""
    kinds = Counter(
        f"{level} {logger}: {_NUMBER.sub('#', message)}"[:200]
        for level, logger, message in _WARNING.findall(log)
    )
    return dict(kinds.most_common(_WARNINGS_KEPT))


def _epoch(stamp: str) -> float:
    """A log line's local time as epoch seconds."""
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def partition_sizes(table: TableClient, group: str) -> dict[str, int]:
    """Bytes of JSON of the largest row of each kind (`active`, `audit`, …) in a partition."""
    sizes: dict[str, int] = {}
    for entity in table.query_entities("PartitionKey eq @pk", parameters={"pk": group}):
        kind = str(entity["RowKey"]).split("|", 1)[0]
        size = len(json.dumps(dict(entity), default=str))
        sizes[kind] = max(size, sizes.get(kind, 0))
    return sizes
