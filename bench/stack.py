"""The local stack a benchmark runs on: Azurite, and the function app under the local host with
its in-process ARM/VI stand-in, serving a generated FAILOVER_CONFIG."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import requests
from azure.data.tables import TableClient, TableServiceClient

from devhost.azurite import Azurite, free_port
from tests.hosting import HostProcess

SUBSCRIPTION = "5b1e8f3a-0c2d-4e6f-9a7b-3c5d7e9f1a2b"  # made up: the stand-in serves any
_IDS = uuid.UUID("6a0d9c4e-2b7f-4e1a-8c3d-5f9e1b2a7c40")
Json = dict[str, object]


class BenchError(RuntimeError):
    """The stack did not behave as a benchmark needs, so its figure would mean nothing."""


def account(name: str, location: str) -> Json:
    """A configured account with accountId and location given, so ARM is never asked for them."""
    return {
        "name": name,
        "accountId": str(uuid.uuid5(_IDS, name)),
        "location": location,
        "resourceId": resource_id(name),
    }


def resource_id(name: str) -> str:
    """The ARM id of a bench account."""
    return (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-bench"
        f"/providers/Microsoft.VideoIndexer/accounts/{name}"
    )


def pair(group: str, primary: str, secondary: str) -> Json:
    """A group of two accounts, `<group>-<region>`: primary first, then the secondary."""
    return {
        "name": group,
        "accounts": [
            account(f"{group}-{primary}", primary),
            account(f"{group}-{secondary}", secondary),
        ],
    }


def many(prefix: str, count: int, primary: str = "eastus", secondary: str = "westus") -> list[Json]:
    """`count` groups `<prefix>-00000`…, each with its primary in `primary`."""
    return [pair(f"{prefix}-{i:05d}", primary, secondary) for i in range(count)]


class Stack(HostProcess):
    """The function app on a free port, its state in table `table` of the given Azurite."""

    def __init__(
        self, azurite: Azurite, groups: list[Json], work: Path, table: str, **env: str
    ) -> None:
        config = work / f"{table}-config.json"
        config.write_text(json.dumps({"groups": groups}))
        super().__init__(
            azurite.connection_string,
            table,
            FAILOVER_CONFIG=str(config),
            STANDIN_PORT=str(free_port()),
            STORAGE_TIMEOUT_SECONDS="3",  # the product's default, not the tests' shorter one
            **env,
        )
        self.table_name = table
        self._azurite = azurite

    @property
    def pid(self) -> int:
        """The host's process id (it serves the app and the ARM/VI stand-in)."""
        if self._process is None:
            raise BenchError("the host is not running")
        return self._process.pid

    def table(self) -> TableClient:
        """A fresh client for the state table, as an app reading it directly would have."""
        service = TableServiceClient.from_connection_string(self._azurite.connection_string)
        return service.get_table_client(self.table_name)

    def seed(self, group: str) -> None:
        """Make the app write the group's entity now, not inside a measurement: a group is
        written by its first change, here a pin and an unpin."""
        for pin in (True, False):
            body = {"group": group, "reason": "bench: write the entity", "pin": pin}
            response = requests.post(f"{self.url}/failover", json=body, timeout=60)
            response.raise_for_status()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux /proc)."""
    fields = _stat(pid)
    # After the command name: state is field 3, utime 14 and stime 15 (man 5 proc).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its running children (the host's extra queue instances)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == pid:  # field 4: the parent's pid
                    children.append(int(entry.name))
            except (OSError, IndexError):
                continue  # ended meanwhile
    return cpu_seconds(pid) + sum(cpu_seconds(child) for child in children)


def machine_cpu_seconds() -> float:
    """CPU time all processes on the machine have used so far, and time the hypervisor gave
    to others (steal): with the stack's own, it says what other work took (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def azurite_cpu(azurite: Azurite) -> float:
    """CPU time Azurite has used so far."""
    if azurite.pid is None:
        raise BenchError("Azurite is not running")
    return tree_cpu_seconds(azurite.pid)


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
