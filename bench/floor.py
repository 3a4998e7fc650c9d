"""Figure 5's floor: the storage work the app must do to move the fan-out's groups, and nothing
else, on the same Azurite in the same run, so the fan-out can be read as a ratio to it.

For each of the same N groups, a minimal client of azure-data-tables (no app code) reads the
group's rows as the app reads them (one query: the `active` row and the `incident|` and
`readiness|` ranges), then writes one entity-group transaction: `active` replaced under
If-Match, the incident upserted, an audit line inserted, each as large as the app's
(`bench.floor_rows`). It works at the app's parallelism: one process per queue consumer of the
fan-out, each with the app's GROUP_WORKERS threads, the groups dealt out evenly. Its table is
its own, set up beforehand (untimed) with the rows the app's partitions hold before the
incident: Azurite scans the whole table for every query, so the table's size matters.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient
from requests.adapters import HTTPAdapter

from bench.fanout import QUEUE_INSTANCES
from bench.floor_rows import QUERY, SECONDARY, move, partition, query_parameters
from bench.incident import active_rows, other_share, partition_sizes
from bench.results import Figure
from bench.stack import BenchError, azurite_cpu, machine_cpu_seconds, many
from bench.stats import summary
from devhost.azurite import Azurite
from shared.app.parallel import GROUP_WORKERS  # the app's threads per process: the one number

PROCESSES = QUEUE_INSTANCES
THREADS = GROUP_WORKERS
TABLE = "benchfloor"
RATIO_GOAL = 1.2
SETUP_LIMIT_S = 300.0
_ROWS_READ = 3  # `active` and two readiness rows: what the app's read of a group finds


@dataclass(frozen=True)
class WorkerResult:
    """What one floor process did: when it finished (monotonic s), its CPU, each call's time."""

    setup_s: float = 0.0
    finished: float = 0.0
    cpu_s: float = 0.0
    query_s: list[float] = field(default_factory=list)
    transaction_s: list[float] = field(default_factory=list)
    error: str = ""


def floor(azurite: Azurite, groups: int, fanout: Figure) -> list[Figure]:
    """The floor's seconds for the fan-out's groups, and the fan-out's ratio to them."""
    names = [str(group["name"]) for group in many("fan", groups)]
    table = TableClient.from_connection_string(azurite.connection_string, TABLE)
    table.create_table()
    context = multiprocessing.get_context("spawn")  # the bench has threads: no fork
    ready, go = context.Barrier(PROCESSES + 1), context.Event()
    results: Queue[WorkerResult] = context.Queue()
    connection = azurite.connection_string
    workers = [
        context.Process(
            target=work,
            args=(connection, names[n::PROCESSES], ready, go, results),
            name=f"floor-{n}",
            daemon=True,
        )
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        ready.wait(SETUP_LIMIT_S)
        cpu_before = (azurite_cpu(azurite), machine_cpu_seconds())
        started = time.monotonic()
        go.set()
        done = [results.get(timeout=SETUP_LIMIT_S) for _ in workers]
        azurite_used = azurite_cpu(azurite) - cpu_before[0]
        machine = machine_cpu_seconds() - cpu_before[1]
    except Exception as exc:
        failed = [r.error for r in _drain(results) if r.error]
        raise BenchError(f"the floor did not run: {failed or exc!r}") from exc
    finally:
        for worker in workers:
            worker.join(timeout=10)
    if errors := [r.error for r in done if r.error]:
        raise BenchError(f"the floor failed: {errors}")
    if (moved := active_rows(table, SECONDARY)) != groups:
        raise BenchError(f"the floor moved {moved} of {groups} groups")
    sizes = partition_sizes(table, names[0])
    table.close()
    seconds = max(r.finished for r in done) - started
    other = machine - azurite_used - sum(r.cpu_s for r in done)
    detail = {
        "groups": groups,
        "processes": PROCESSES,
        "threads_each": THREADS,
        "setup_s": round(max(r.setup_s for r in done), 2),
        "finished_s": [round(r.finished - started, 3) for r in done],
        "client_cpu_s": round(sum(r.cpu_s for r in done), 2),
        "azurite_cpu_s": round(azurite_used, 2),
        "other_cpu_s": round(other, 2),
        "other_cpu_share": round(other_share(other, seconds), 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "query_ms": summary([s for r in done for s in r.query_s], 1000),
        "transaction_ms": summary([s for r in done for s in r.transaction_s], 1000),
        "entity_bytes": sizes,
    }
    return [
        Figure(
            "fanout.floor_s", f"floor: {groups:,} groups, bare SDK", seconds, "s", detail=detail
        ),
        _ratio(fanout, seconds, detail),
    ]


def _ratio(fanout: Figure, floor_s: float, floor: dict[str, object]) -> Figure:
    app_s = fanout.value
    app = dict(fanout.detail)
    return Figure(
        "fanout.ratio_to_floor",
        "fan-out all moved ÷ floor",
        app_s / floor_s if app_s is not None else None,
        "x",
        RATIO_GOAL,
        f"≤ {RATIO_GOAL:g}x",
        {
            "fanout_s": app_s,
            "floor_s": round(floor_s, 3),
            "cpu_s": {
                "app_host": app.get("host_cpu_s"),
                "app_azurite": app.get("azurite_cpu_s"),
                "floor_client": floor["client_cpu_s"],
                "floor_azurite": floor["azurite_cpu_s"],
                "app_other": app.get("other_cpu_s"),
                "floor_other": floor["other_cpu_s"],
            },
        },
    )


def work(
    connection: str,
    groups: list[str],
    ready: Barrier,
    go: Event,
    results: Queue[WorkerResult],
) -> None:
    """One floor process: write its groups' partitions, wait for the others, then move each
    group on THREADS threads, timed."""
    try:
        table = _client(connection)
        with ThreadPoolExecutor(THREADS, thread_name_prefix="floor") as pool:
            setup = time.monotonic()
            now = datetime.now(UTC)
            for _ in pool.map(lambda g: _create(table, g, now), groups):
                pass
            setup = time.monotonic() - setup
            ready.wait(SETUP_LIMIT_S)
            go.wait(SETUP_LIMIT_S)
            cpu = time.process_time()
            timings = list(pool.map(lambda g: _move(table, g), groups))
            finished = time.monotonic()
            cpu = time.process_time() - cpu
        table.close()
    except Exception as exc:  # noqa: BLE001  reported to the parent, which raises BenchError
        ready.abort()
        results.put(WorkerResult(error=repr(exc)))
        return
    queries, transactions = zip(*timings, strict=True) if timings else ((), ())
    results.put(WorkerResult(setup, finished, cpu, list(queries), list(transactions)))


def _client(connection: str) -> TableClient:
    """A TableClient whose connection pool holds a connection for each thread."""
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=THREADS))
    transport = RequestsTransport(session=session, session_owner=False)
    return TableClient.from_connection_string(connection, TABLE, transport=transport)


def _create(table: TableClient, group: str, now: datetime) -> None:
    table.submit_transaction([("create", row) for row in partition(group, now)])


def _move(table: TableClient, group: str) -> tuple[float, float]:
    """Read the group as the app does, then move it in one transaction; each call's seconds."""
    started = time.perf_counter()
    rows = list(table.query_entities(QUERY, parameters=query_parameters(group)))
    read = time.perf_counter()
    if len(rows) != _ROWS_READ:
        raise BenchError(f"group {group}: the read found {len(rows)} rows, not {_ROWS_READ}")
    etag = str(next(r.metadata["etag"] for r in rows if r["RowKey"] == "active"))
    table.submit_transaction(move(group, etag, datetime.now(UTC), uuid.uuid4().hex))
    return read - started, time.perf_counter() - read


def _drain(results: Queue[WorkerResult]) -> list[WorkerResult]:
    found = []
    while not results.empty():
        found.append(results.get_nowait())
    return found
