"""Figure 6: importing `function_app` in a fresh interpreter, as a cold Functions worker does.

The storage connection string points at a closed port: an import that connected would fail
or stall there. An audit hook in a separate run counts every socket the import creates.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

from bench.results import Figure
from bench.stack import BenchError
from devhost.azurite import ACCOUNT_KEY, ACCOUNT_NAME, free_port
from tests.hosting import DEMO_CONFIG, ROOT

GOAL_MS = 300.0
# Audit events that reach the network: a connection, a name lookup, a datagram. (urllib3
# creates and binds an IPv6 socket on ::1 at import to learn whether IPv6 works; that sends
# nothing and is reported in the figure's detail, not counted.)
_NETWORK_EVENTS = {
    "socket.connect",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.sendto",
    "socket.sendmsg",
}
_TIME_IMPORT = (
    "import time; started = time.perf_counter(); import function_app; "
    "print(time.perf_counter() - started)"
)
# Audit events are raised by CPython itself, so nothing of the app is patched to count them.
_COUNT_SOCKETS = """
import json, sys
events = []
def hook(event, args):
    if event.startswith("socket."):
        events.append(event)
sys.addaudithook(hook)
import function_app
print(json.dumps(events))
"""


def _env() -> dict[str, str]:
    closed = free_port()  # nothing listens there
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FailoverStorage", "AzureWebJobsStorage"))
    }
    return env | {
        "FAILOVER_CONFIG": str(DEMO_CONFIG),
        "FailoverStorage": (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{closed}/{ACCOUNT_NAME};"
            f"QueueEndpoint=http://127.0.0.1:{closed}/{ACCOUNT_NAME};"
        ),
    }


def _run(code: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreter and code, no shell
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"importing function_app failed: {done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1]


def cold_start(repeats: int) -> list[Figure]:
    """Median import time over `repeats` fresh interpreters (after one unmeasured run that
    leaves the bytecode cache warm), and the sockets an import creates."""
    _run(_TIME_IMPORT)
    times = [float(_run(_TIME_IMPORT)) * 1000 for _ in range(repeats)]
    sockets = json.loads(_run(_COUNT_SOCKETS))
    network = [event for event in sockets if event in _NETWORK_EVENTS]
    median = statistics.median(times)
    return [
        Figure(
            "coldstart.import_ms",
            "import function_app, median",
            median,
            "ms",
            GOAL_MS,
            f"< {GOAL_MS:g} ms",
            {
                "runs_ms": [round(t, 1) for t in times],
                "storage": "a closed port",
                # Without a bytecode cache the app's own modules are compiled at every import.
                "bytecode_cache": "off" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on",
            },
        ),
        Figure(
            "coldstart.network_events",
            "connections or lookups at import",
            float(len(network)),
            "",
            0.0,
            "0",
            {"network_events": network, "all_socket_events": sockets},
        ),
    ]
