"""Telemetry at start-up, in a fresh interpreter as a cold Functions worker: off, nothing of
OpenTelemetry is imported; on, the Azure Monitor distro is configured once, by the import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from devhost.azurite import ACCOUNT_KEY, ACCOUNT_NAME, free_port
from tests.hosting import DEMO_CONFIG, ROOT

_LOADED = """
import json, sys
import function_app
loaded = [m for m in sys.modules if m.startswith(("opentelemetry", "azure.monitor"))]
print(json.dumps(sorted(loaded)))
"""
# os._exit: the exporters' flush at exit would only meet the closed port.
_CONFIGURED = """
import json, logging, os
import function_app
from opentelemetry import metrics, trace
from shared.wiring import build_api
build_api()
print(json.dumps({
    "tracer_provider": type(trace.get_tracer_provider()).__module__,
    "meter_provider": type(metrics.get_meter_provider()).__module__,
    "root_handlers": [type(h).__name__ for h in logging.getLogger().handlers],
    "app_log_level": logging.getLogger("shared").getEffectiveLevel(),
}))
import sys; sys.stdout.flush()
os._exit(0)
"""


def _run(code: str, **extra: str) -> str:
    closed = free_port()  # nothing listens there: an import that connected would fail
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLICATIONINSIGHTS_")}
    env |= {
        "FAILOVER_CONFIG": str(DEMO_CONFIG),
        "FailoverStorage": (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{closed}/{ACCOUNT_NAME};"
            f"QueueEndpoint=http://127.0.0.1:{closed}/{ACCOUNT_NAME};"
        ),
        **extra,
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 0 == done.returncode, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_with_telemetry_off_importing_the_app_loads_no_opentelemetry_module() -> None:
    """APPLICATIONINSIGHTS_CONNECTION_STRING unset: neither OpenTelemetry nor the Azure
    Monitor distro is imported, so the cold start is what it was without them."""
    loaded = json.loads(_run(_LOADED))

    assert [] == loaded


def test_with_telemetry_on_importing_the_app_configures_azure_monitor_once() -> None:
    """APPLICATIONINSIGHTS_CONNECTION_STRING set: the import configures the SDK's providers
    and one logging handler on the root logger, and lets the app's INFO decisions through;
    building the app again does not configure it twice."""
    closed = free_port()
    connection = (
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
        f"IngestionEndpoint=http://127.0.0.1:{closed}/"
    )

    found = json.loads(
        _run(
            _CONFIGURED,
            APPLICATIONINSIGHTS_CONNECTION_STRING=connection,
            # Keeps the test off the network: no usage statistics, no VM metadata look-up.
            APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
            OTEL_EXPERIMENTAL_RESOURCE_DETECTORS="otel",
        )
    )

    assert {
        "tracer_provider": "opentelemetry.sdk.trace",
        "meter_provider": "opentelemetry.sdk.metrics._internal",
        "root_handlers": ["LoggingHandler"],
        "app_log_level": 20,
    } == found
