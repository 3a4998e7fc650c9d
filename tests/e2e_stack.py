"""A running local host (as `make run` starts it, with its ARM/VI stand-in) on the suite's
Azurite, and the calls end-to-end tests make of it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import requests

from devhost.azurite import Azurite, free_port
from tests import alertfactory as af
from tests import apicontract as api
from tests.hosting import HostProcess


class Stack:
    """A running host plus the URL of its stand-in."""

    def __init__(self, host: HostProcess, standin_url: str) -> None:
        self.host = host
        self.standin_url = standin_url

    def set_health(self, account: str, behaviour: str) -> None:
        """Switch one account's behaviour in the stand-in (healthy, unhealthy, hang, …)."""
        response = requests.post(
            f"{self.standin_url}/_standin/accounts/{account}",
            json={"behaviour": behaviour},
            timeout=10,
        )
        assert 200 == response.status_code

    def post(self, payload: object) -> requests.Response:
        """Deliver an alert as the action group does."""
        headers = {"Content-Type": "application/json"}
        return api.post(
            f"{self.host.url}/alerts", data=af.to_body(payload), headers=headers, timeout=30
        )

    def alert(self, **kwargs: object) -> str:
        """Deliver a Service Health alert built from these fields; its outcome (200 only)."""
        response = self.post(af.service_health(**kwargs))  # type: ignore[arg-type]
        assert 200 == response.status_code
        outcome = response.json()["outcome"]
        assert isinstance(outcome, str)
        return outcome

    def status(self) -> dict[str, object]:
        """The first group's entry of GET /api/status."""
        group = api.get(f"{self.host.url}/status", timeout=30).json()["groups"][0]
        assert isinstance(group, dict)
        return group

    def run_readiness(self) -> None:
        """Run the readiness timer now, through the host's admin endpoint."""
        admin = self.host.url.removesuffix("/api") + "/admin/functions/readiness"
        assert 202 == requests.post(admin, json={"input": ""}, timeout=10).status_code


@contextmanager
def stack_on(azurite: Azurite, table: str, config: str) -> Iterator[Stack]:
    """The host with its stand-in, serving `config`, on the suite's Azurite; the readiness
    timer runs only when a test asks."""
    port = free_port()
    env = {
        "STANDIN_PORT": str(port),
        "FAILOVER_CONFIG": config,
        "READINESS_SCHEDULE": "0 0 0 1 1 *",
    }
    with HostProcess(azurite.connection_string, table, **env) as host:
        yield Stack(host, f"http://127.0.0.1:{port}")


def wait_for(condition: Callable[[], object], what: str, seconds: float = 20) -> None:
    """Poll until `condition()` is true, or fail naming `what`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)  # polling an asynchronous timer run, not timing a result
    pytest.fail(f"timed out waiting for {what}")
