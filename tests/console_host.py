"""The local host as the console tests use it: the readers' key on the read functions (as the
deployment hands it out), the action group's on `alerts`, and the README's first alert."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from devhost.azurite import Azurite
from tests.hosting import ROOT, HostProcess

READER_KEY = "rd-4c2e9a7f1b3d5e60"
ACTION_GROUP_KEY = "ag-7e1d3b5a9c2f4e80"
MASTER_KEY = "mk-5a0c8e2d6f4b1937"
CONSOLE_ONLY_KEY = "co-8b3f1d6e0a2c7594"  # opens the page, not the groups route
FIRST_ALERT = ROOT / "examples" / "servicehealth-incident-eastus.json"


def function_keys() -> str:
    """LOCAL_FUNCTION_KEYS: the action group's key on `alerts`, the readers' on the reads."""
    readers = ("active_account", "status", "history", "groups", "console")
    keys = {name: {"readers": READER_KEY} for name in readers}
    keys["console"]["page-only"] = CONSOLE_ONLY_KEY
    return json.dumps({"alerts": {"action-group": ACTION_GROUP_KEY}, **keys})


@contextmanager
def console_host(azurite: Azurite, **settings: str) -> Iterator[HostProcess]:
    """A host on a table of its own, with the keys above and the master key (and `settings`)."""
    table = f"Console{uuid.uuid4().hex[:12]}"
    env = {"LOCAL_FUNCTION_KEYS": function_keys(), "LOCAL_MASTER_KEY": MASTER_KEY, **settings}
    with HostProcess(azurite.connection_string, table, **env) as host:
        yield host


def send_alert(host: HostProcess, path: Path = FIRST_ALERT) -> str:
    """Deliver an alert file as the action group does; the outcome of its 200 answer."""
    response = requests.post(
        f"{host.url}/alerts",
        data=path.read_bytes(),
        headers={"Content-Type": "application/json", "x-functions-key": ACTION_GROUP_KEY},
        timeout=30,
    )
    assert 200 == response.status_code, response.text
    outcome = response.json()["outcome"]
    assert isinstance(outcome, str)
    return outcome


def run_readiness(host: HostProcess) -> None:
    """Run the readiness timer now, through the admin endpoint (master key)."""
    admin = host.url.removesuffix("/api") + "/admin/functions/readiness"
    headers = {"x-functions-key": MASTER_KEY}
    response = requests.post(admin, json={"input": ""}, headers=headers, timeout=10)
    assert 202 == response.status_code
