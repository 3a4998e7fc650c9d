"""Figure 4: alert POST → an app's client, polling with a 1 s TTL, uses the new account."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime

import requests
from vi_failover_client import ActiveAccountClient, ActiveAccountError
from vi_failover_client.alerts import service_health_alert

from bench.results import Figure
from bench.stack import BenchError, Stack
from bench.stats import summary

CLIENT_TTL = 1.0
POLL_EVERY = 0.005  # the app asks before every call; 200 times a second bounds our error at 5 ms
GOAL_P99_S = 1.5
# The group's two regions, as Service Health names them, and its accounts' location suffixes.
REGIONS = (("North Europe", "northeurope"), ("West Europe", "westeurope"))


class Watcher:
    """An app's client on its own thread: when did each (account, version) first appear?"""

    def __init__(self, url: str, group: str) -> None:
        self._client = ActiveAccountClient(group=group, endpoints=[url], ttl=CLIENT_TTL)
        self._seen: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="watcher", daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._client.close()

    def _poll(self) -> None:
        last: tuple[str, int] | None = None
        while not self._stop.is_set():
            try:
                account = self._client.get()
            except ActiveAccountError:  # the app would retry on its next call; so do we
                time.sleep(POLL_EVERY)
                continue
            if (account.name, account.version) != last:
                last = (account.name, account.version)
                self._seen.append((time.perf_counter(), account.name))
            time.sleep(POLL_EVERY)

    def first_use(self, name: str, after: float, timeout: float) -> float:
        """When the client first returned `name` after `after` (perf_counter seconds)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for when, seen in list(self._seen):
                if seen == name and when >= after:
                    return when
            time.sleep(POLL_EVERY)
        raise BenchError(f"the client did not see {name} within {timeout:g} s")


def time_to_visible(stack: Stack, group: str, alternations: int, seed: int = 4) -> list[Figure]:
    """Incidents alternate between the group's two regions; each one moves the group.

    Step i opens a Service Health incident in the region of the active account (a failover to
    the other one), measures until the client uses that one, then resolves the incident
    (failback is manual, so the resolution moves nothing) for the next step to move back.
    """
    rnd = random.Random(seed)
    session = requests.Session()
    visible: list[float] = []
    answered: list[float] = []
    with Watcher(stack.url, group) as watcher:
        watcher.first_use(f"{group}-{REGIONS[0][1]}", 0.0, 10)
        for step in range(alternations):
            (region, _), (_, target) = REGIONS[step % 2], REGIONS[(step + 1) % 2]
            tracking = f"BENCH-TV-{step:03d}"
            # A random point in the client's TTL, as an alert finds a real app's cache.
            time.sleep(rnd.uniform(0, CLIENT_TTL))
            sent = time.perf_counter()
            _post(session, stack.url, region, tracking, "failed_over", resolve=False)
            answered.append(time.perf_counter() - sent)
            visible.append(watcher.first_use(f"{group}-{target}", sent, 10) - sent)
            _post(session, stack.url, region, tracking, "recorded", resolve=True)
    session.close()
    seen, answer = summary(visible), summary(answered, 1000)
    detail = {"alternations": alternations, "client_ttl_s": CLIENT_TTL, "answer_ms": answer}
    return [
        Figure(
            "visible.p50_s", "alert → client uses new account, p50", seen["p50"], "s", detail=seen
        ),
        Figure(
            "visible.p99_s",
            "alert → client uses new account, p99",
            seen["p99"],
            "s",
            GOAL_P99_S,
            f"≤ {GOAL_P99_S:g} s",
            {**seen, **detail},
        ),
    ]


def _post(
    session: requests.Session, url: str, region: str, tracking: str, outcome: str, *, resolve: bool
) -> None:
    alert = service_health_alert(
        regions=[region], now=datetime.now(UTC), tracking_id=tracking, resolve=resolve
    )
    response = session.post(f"{url}/alerts", json=alert, timeout=30)
    answer = response.json() if response.status_code == 200 else {}
    if answer.get("outcome") != outcome:
        raise BenchError(
            f"{tracking}: wanted {outcome}, got {response.status_code} {response.text[:300]}"
        )
