"""Figures 2 and 3: `GET /api/active-account` beside a bare `get_entity` on the same Azurite,
and the client library's cached read and its revalidation (the 304 path)."""

from __future__ import annotations

import statistics
import timeit
from typing import Any

import requests
from vi_failover_client import ActiveAccountClient

from bench.results import Figure
from bench.stack import BenchError, Stack
from bench.stats import summary, timed

READ_GOAL_RATIO = 1.3  # the endpoint's p50 may cost at most 1.3x a bare table read's
CACHED_GOAL_US = 2.0
ROUNDS = 4  # the two loops alternate, so drift (GC, Azurite's heap) hits both alike
# The filter the app's store runs for a group (shared/table_store.py, load_group): the active
# row, the incidents and the readiness rows, in one query.
LOAD_GROUP_FILTER = (
    "PartitionKey eq @pk and ( RowKey eq @active or ( RowKey ge @lo and RowKey lt @hi ) "
    "or ( RowKey ge @rlo and RowKey lt @rhi ) )"
)


def read_path(stack: Stack, group: str, count: int) -> list[Figure]:
    """One keep-alive `requests.Session` against one `TableClient`, both sequential."""
    session = requests.Session()
    url, params = f"{stack.url}/active-account", {"group": group}
    table = stack.table()
    query = {
        "pk": group,
        "active": "active",
        "lo": "incident|",
        "hi": "incident}",
        "rlo": "readiness|",
        "rhi": "readiness}",
    }

    def endpoint() -> None:
        response = session.get(url, params=params, timeout=10)
        if response.status_code != 200 or response.json()["group"] != group:
            raise BenchError(f"active-account answered {response.status_code}")

    def bare() -> None:
        table.get_entity(group, "active")

    def as_the_app_queries() -> None:
        list(table.query_entities(LOAD_GROUP_FILTER, parameters=query))

    def hop() -> None:
        # A route the host does not serve: its HTTP round trip, with no app code and no storage.
        if session.get(f"{stack.url}/bench-no-such-route", timeout=10).status_code != 404:
            raise BenchError("the local host served a route that does not exist")

    loops = {"endpoint": endpoint, "bare": bare, "query": as_the_app_queries, "hop": hop}
    samples: dict[str, list[float]] = {name: [] for name in loops}
    for loop in loops.values():
        timed(loop, 50)  # warm-up: connections, the controller, Azurite's JIT
    per_round = max(1, count // ROUNDS)
    for _ in range(ROUNDS):
        for name, loop in loops.items():
            samples[name] += timed(loop, per_round)
    session.close()
    table.close()
    http, raw, app_query, bare_hop = (summary(samples[n], 1000) for n in loops)
    ratio = http["p50"] / raw["p50"]
    rate = {n: len(s) / sum(s) for n, s in samples.items()}
    common = {"requests_each": len(samples["endpoint"]), "rounds": ROUNDS}
    return [
        Figure("read.endpoint.p50_ms", "GET active-account, p50", http["p50"], "ms", detail=http),
        Figure("read.endpoint.p99_ms", "GET active-account, p99", http["p99"], "ms", detail=http),
        Figure(
            "read.endpoint.per_s",
            "GET active-account, sequential",
            rate["endpoint"],
            "req/s",
            detail=common,
        ),
        Figure("read.bare.p50_ms", "bare get_entity, p50", raw["p50"], "ms", detail=raw),
        Figure("read.bare.p99_ms", "bare get_entity, p99", raw["p99"], "ms", detail=raw),
        Figure(
            "read.bare.per_s", "bare get_entity, sequential", rate["bare"], "req/s", detail=common
        ),
        Figure(
            "read.app_query.p50_ms",
            "bare query as the app reads a group, p50",
            app_query["p50"],
            "ms",
            detail=app_query,
        ),
        Figure(
            "read.host_hop.p50_ms",
            "HTTP round trip to the host alone (404), p50",
            bare_hop["p50"],
            "ms",
            detail=bare_hop,
        ),
        Figure(
            "read.ratio_p50",
            "GET active-account p50 ÷ bare p50",
            ratio,
            "x",
            READ_GOAL_RATIO,
            f"≤ {READ_GOAL_RATIO:g}x",
            {"endpoint_p50_ms": http["p50"], "bare_p50_ms": raw["p50"]},
        ),
    ]


class _FakeClock:
    """Monotonic seconds that move only when told, to expire the client's TTL at will."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def client_reads(stack: Stack, group: str, cached_calls: int, revalidations: int) -> list[Figure]:
    """`ActiveAccountClient.get()` holding a value, and one refresh against the real endpoint."""
    with ActiveAccountClient(group=group, endpoints=[stack.url], ttl=3600) as client:
        client.get()
        repeats = timeit.repeat(client.get, number=max(1, cached_calls // 5), repeat=5)
    per_call = [r / max(1, cached_calls // 5) * 1e9 for r in repeats]
    cached_ns = statistics.median(per_call)

    clock, statuses = _FakeClock(), []
    session = requests.Session()

    def count(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        statuses.append(response.status_code)

    session.hooks["response"].append(count)
    with ActiveAccountClient(
        group=group, endpoints=[stack.url], ttl=1.0, clock=clock, session=session
    ) as client:
        client.get()  # the first read: 200 with the ETag

        def revalidate() -> None:
            clock.now += 2.0  # past the TTL: the refresh asks the endpoint, If-None-Match
            client.refresh()

        timed(revalidate, 20)
        statuses.clear()
        samples = timed(revalidate, revalidations)
    session.close()
    if set(statuses) != {304}:
        raise BenchError(f"revalidation was not answered 304 every time: {sorted(set(statuses))}")
    again = summary(samples, 1000)
    return [
        Figure(
            "client.cached_us",
            "client get() within TTL",
            cached_ns / 1000,
            "µs",
            CACHED_GOAL_US,
            f"< {CACHED_GOAL_US:g} µs",
            {"calls": cached_calls, "ns_per_call_each_repeat": [round(x, 1) for x in per_call]},
        ),
        Figure(
            "client.revalidate.p50_ms",
            "client revalidation (304), p50",
            again["p50"],
            "ms",
            detail=again,
        ),
        Figure(
            "client.revalidate.p99_ms",
            "client revalidation (304), p99",
            again["p99"],
            "ms",
            detail=again,
        ),
    ]
