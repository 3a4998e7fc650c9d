"""Figure 1: how long POST /api/alerts takes, for a delivery that fails over and one ignored."""

from __future__ import annotations

import time
import uuid

import requests

from bench.results import Figure
from bench.stack import BenchError, Stack, resource_id
from bench.stats import summary
from tests import alertfactory as af

ACTION_GROUP_LIMIT_MS = 10_000.0  # the action group gives up on a webhook after about 10 s
WARM_UP = 5  # deliveries before measuring: the first builds the controller and its pools


def alert_latency(stack: Stack, groups: list[str], ignored: int) -> list[Figure]:
    """Sequential deliveries over one keep-alive connection, as one action group sends them.

    Each failover-worthy delivery is a Resource Health "Unavailable" alert for the primary of a
    group no alert has touched, so every measured request reads a fresh state, probes the
    target (pre-flight), and writes a move with its audit line. The first WARM_UP groups are
    not measured.
    """
    session = requests.Session()
    url = f"{stack.url}/alerts"

    def deliver(body: bytes, outcome: str) -> float:
        started = time.perf_counter()
        response = session.post(url, data=body, timeout=30)
        elapsed = time.perf_counter() - started
        answer = response.json() if response.status_code == 200 else {}
        if answer.get("outcome") != outcome:
            raise BenchError(f"alert answered {response.status_code}: {response.text[:300]}")
        return elapsed

    bodies = [
        af.to_body(
            af.resource_health(
                resource_id=resource_id(f"{group}-eastus"), event_data_id=str(uuid.uuid4())
            )
        )
        for group in groups
    ]
    metric = af.to_body(af.metric_alert())
    failover = [deliver(body, "failed_over") for body in bodies][WARM_UP:]
    ignore = [deliver(metric, "ignored") for _ in range(WARM_UP + ignored)][WARM_UP:]
    session.close()
    moved, skipped = summary(failover, 1000), summary(ignore, 1000)
    limit = f"≤ {ACTION_GROUP_LIMIT_MS / 1000:g} s (action group)"
    return [
        Figure("alert.failover.p50_ms", "alert → failover, p50", moved["p50"], "ms", detail=moved),
        Figure(
            "alert.failover.p99_ms",
            "alert → failover, p99",
            moved["p99"],
            "ms",
            ACTION_GROUP_LIMIT_MS,
            limit,
            moved,
        ),
        Figure(
            "alert.ignored.p50_ms", "alert → ignored, p50", skipped["p50"], "ms", detail=skipped
        ),
        Figure(
            "alert.ignored.p99_ms",
            "alert → ignored, p99",
            skipped["p99"],
            "ms",
            ACTION_GROUP_LIMIT_MS,
            limit,
            skipped,
        ),
    ]
