"""`make drill`: a game day on a fresh local stack, with a timeline of measured times.

A client polls the active account in the background (as an app would before every indexing
call). A simulated Video Indexer incident hits the primary region; the drill measures alert
sent → flag written → client saw it, then resolves the incident and measures the automatic
failback the same way. Exit 0 only if every expected transition happened in time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from vi_failover_client import ActiveAccount, ActiveAccountClient
from vi_failover_client.alerts import service_health_alert

from devhost.azurite import free_port
from devhost.paths import DEMO_CONFIG, REPO_ROOT

PRIMARY, SECONDARY = "contoso-eastus", "contoso-westus"
CLIENT_TTL = 1.0  # seconds: how stale an app's cached flag may be
POLL_EVERY = 0.05  # the app asks before every indexing call; here 20 times a second


@dataclass(frozen=True)
class Goals:
    """How fast each step must be for the drill to pass."""

    answer: float = 10.0  # the action group gives up after about 10 s
    seen_after_alert: float = 3.0  # alert sent → the polling client uses the new account
    failback_after_resolution: float = 30.0  # with failbackStableMinutes 0 and a 2 s timer
    seen_after_write: float = 2.0  # flag written → client saw it (TTL 1 s + polling)


class Timeline:
    """Events in drill-relative seconds, printed as they happen."""

    def __init__(self) -> None:
        self.start = time.time()
        self.lines: list[tuple[float, str]] = []

    def at(self, when: float, text: str) -> None:
        self.lines.append((when - self.start, text))
        print(f"  t+{when - self.start:6.2f}s  {text}", flush=True)


class Watcher:
    """The app: a client reading the flag continuously; records when each account appeared."""

    def __init__(self, url: str) -> None:
        self.seen: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self.client = ActiveAccountClient(endpoints=[url], ttl=CLIENT_TTL, timeout=2.0)
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.client.close()

    def wait_for(self, name: str, version: int, timeout: float) -> float | None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if (name, version) in self.seen:
                return self.seen[(name, version)]
            time.sleep(POLL_EVERY)
        return None

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                account: ActiveAccount | None = self.client.get()
            except Exception:  # noqa: BLE001  the app keeps polling whatever one read did
                account = None
            if account is not None:
                self.seen.setdefault((account.name, account.version), time.time())
            self._stop.wait(POLL_EVERY)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the drill; 0 when every goal was met."""
    parser = argparse.ArgumentParser(prog="python -m devhost.drill", description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the measured figures here")
    args = parser.parse_args(argv)
    goals = Goals()
    port, standin = free_port(), free_port()
    url = f"http://127.0.0.1:{port}/api"
    print(f"vi-failover drill: fresh local stack on {url} (Azurite, ARM/VI stand-in)\n", flush=True)
    with tempfile.TemporaryDirectory() as work, _stack(port, standin, Path(work)) as _:
        timeline = Timeline()
        watcher = Watcher(url)
        watcher.start()
        figures = _run(url, timeline, watcher, goals)
        watcher.stop()
    ok = _report(figures, goals)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if ok else 1


def _run(url: str, timeline: Timeline, watcher: Watcher, goals: Goals) -> dict[str, float]:
    figures: dict[str, float] = {}
    first = watcher.wait_for(PRIMARY, 1, 15)
    if first is None:
        raise SystemExit("drill: the client never read the primary account")
    timeline.at(first, f"client reads {PRIMARY} (primary); readiness timer probing every 2 s")
    time.sleep(2.5)  # one readiness tick: the primary must be probed healthy for a failback

    now = datetime.now(UTC)
    sent = time.time()
    answer = _post(url, service_health_alert(regions=["East US"], now=now))
    answered = time.time()
    timeline.at(sent, "Service Health incident sent: Video Indexer, East US (the primary region)")
    timeline.at(
        answered, f"webhook answered {answer['outcome']!r} in {1000 * (answered - sent):.0f} ms"
    )
    written = _written(url, "failed_over")
    if written is not None:
        timeline.at(written, f"flag written: {SECONDARY} v2")
    seen = watcher.wait_for(SECONDARY, 2, goals.seen_after_alert + 5)
    if seen is not None:
        timeline.at(seen, f"client saw {SECONDARY}: {seen - sent:.2f} s after the alert")
    figures |= {
        "failover_answer_s": answered - sent,
        "failover_written_s": (written or float("inf")) - sent,
        "failover_seen_s": (seen or float("inf")) - sent,
    }

    resolved_at = time.time()
    resolution = _post(
        url, service_health_alert(regions=["East US"], now=datetime.now(UTC), resolve=True)
    )
    timeline.at(resolved_at, f"incident resolved: webhook answered {resolution['outcome']!r}")
    back = _wait_written(url, "failed_back", goals.failback_after_resolution + 5)
    if back is not None:
        timeline.at(back, f"flag written: {PRIMARY} v3 (automatic failback, no further alert)")
    back_seen = watcher.wait_for(PRIMARY, 3, goals.failback_after_resolution + 5)
    if back_seen is not None:
        timeline.at(back_seen, f"client saw {PRIMARY} again")
    figures |= {
        "failback_written_s": (back or float("inf")) - resolved_at,
        "failback_seen_after_write_s": (back_seen or float("inf")) - (back or resolved_at),
        "moves": float(_count(url, "failed_over") + _count(url, "failed_back")),
    }
    return figures


def _report(figures: dict[str, float], goals: Goals) -> bool:
    checks = [
        (
            "failover answered within the action group's limit",
            figures["failover_answer_s"],
            goals.answer,
        ),
        (
            "client used the secondary after the alert",
            figures["failover_seen_s"],
            goals.seen_after_alert,
        ),
        (
            "failback written after the resolution",
            figures["failback_written_s"],
            goals.failback_after_resolution,
        ),
        (
            "client used the primary after the failback",
            figures["failback_seen_after_write_s"],
            goals.seen_after_write,
        ),
    ]
    print("\nChecks:")
    ok = True
    for text, measured, goal in checks:
        passed = measured <= goal
        ok &= passed
        print(f"  {'PASS' if passed else 'FAIL'}  {text}: {measured:.2f} s (goal {goal:g} s)")
    moves_ok = figures["moves"] == 2
    ok &= moves_ok
    verdict = "PASS" if moves_ok else "FAIL"
    moves = f"{figures['moves']:.0f} moves"
    print(f"  {verdict}  exactly one failover and one failback audited ({moves})")
    print(f"\nDrill {'passed' if ok else 'FAILED'}.")
    return ok


def _post(url: str, payload: dict[str, object]) -> dict[str, object]:
    response = requests.post(f"{url}/alerts", json=payload, timeout=15)
    response.raise_for_status()
    body = response.json()
    if not isinstance(body, dict):
        raise SystemExit(f"drill: unexpected answer {body!r}")
    return body


def _history(url: str) -> list[dict[str, object]]:
    records = requests.get(f"{url}/history?limit=200", timeout=15).json()["records"]
    return list(records)


def _written(url: str, action: str) -> float | None:
    times = [
        datetime.fromisoformat(str(r["time"])).timestamp()
        for r in _history(url)
        if r["action"] == action
    ]
    return min(times) if times else None


def _wait_written(url: str, action: str, timeout: float) -> float | None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        written = _written(url, action)
        if written is not None:
            return written
        time.sleep(0.2)
    return None


def _count(url: str, action: str) -> int:
    return sum(1 for r in _history(url) if r["action"] == action)


class _stack:
    """`python -m devhost.run` with a drill configuration, stopped cleanly afterwards."""

    def __init__(self, port: int, standin: int, work: Path) -> None:
        config = json.loads(DEMO_CONFIG.read_text())
        # Failback as soon as the primary is healthy again, so the drill takes seconds.
        config["policy"] |= {"failback": "auto", "failbackStableMinutes": 0, "minDwellMinutes": 0}
        config_file = work / "drill-config.json"
        config_file.write_text(json.dumps(config))
        self._env = {
            **os.environ,
            "PORT": str(port),
            "STANDIN_PORT": str(standin),
            "FAILOVER_CONFIG": str(config_file),
            "READINESS_SCHEDULE": "*/2 * * * * *",
        }
        for unset in (
            "FailoverStorage",
            "FailoverStorage__tableServiceUri",
            "FailoverStorage__queueServiceUri",
            "AZURITE_TABLE_PORT",
            "AZURITE_QUEUE_PORT",
        ):
            self._env.pop(unset, None)
        self._log = work / "host.log"
        self._url = f"http://127.0.0.1:{port}/api/health"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _stack:
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "devhost.run"],
                cwd=REPO_ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self._process.poll() is not None:
                raise SystemExit(f"drill: the local stack exited:\n{self._log.read_text()}")
            try:
                if requests.get(self._url, timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise SystemExit("drill: the local stack did not start within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


if __name__ == "__main__":
    sys.exit(main())
