"""Fan-out: one regional incident moves every group whose active account is in that region,
each exactly once, with a complete audit trail, however often the webhook is retried."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from shared.core.fanout import batch_sizes
from shared.settings import FANOUT_INLINE_GROUPS_DEFAULT
from tests import alertfactory as af
from tests import apicontract as api
from tests.hosting import HostProcess

GROUPS = 300
INLINE = FANOUT_INLINE_GROUPS_DEFAULT  # the most groups one request applies itself
SUB = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers"


def config(groups: int) -> str:
    """`groups` tenants, each on East US with a West US standby; plus one on West US only."""

    def account(name: str, location: str) -> dict[str, str]:
        return {
            "name": name,
            "accountId": f"acct-{name}",
            "location": location,
            "resourceId": f"{SUB}/Microsoft.VideoIndexer/accounts/{name}",
        }

    tenants = [
        {
            "name": f"t{n:05d}",
            "accounts": [account(f"t{n:05d}-e", "eastus"), account(f"t{n:05d}-w", "westus")],
        }
        for n in range(groups)
    ]
    tenants.append(
        {"name": "west-only", "accounts": [account("wo-w", "westus"), account("wo-c", "centralus")]}
    )
    return json.dumps({"groups": tenants})


def active_rows(azurite: Azurite, table: str) -> Counter[str]:
    """How many groups are active on each account location, read from the table."""
    client = TableServiceClient.from_connection_string(azurite.connection_string)
    rows = client.get_table_client(table).query_entities(
        "RowKey eq 'active'", select=["Location", "Version"]
    )
    return Counter(f"{r['Location']} v{r['Version']}" for r in rows)


def audit_actions(azurite: Azurite, table: str) -> Counter[str]:
    """Every audit line's action, counted."""
    client = TableServiceClient.from_connection_string(azurite.connection_string)
    rows = client.get_table_client(table).query_entities(
        "RowKey ge 'audit|' and RowKey lt 'audit}'", select=["Action"]
    )
    return Counter(r["Action"] for r in rows)


def test_one_incident_moves_every_group_once_and_retries_move_nothing(
    azurite: Azurite, table_name: str, tmp_path: Path
) -> None:
    """Applied within the request: 100 groups (FANOUT_INLINE_GROUPS' default) on East US move
    once each; two concurrent re-deliveries and a late retry only add `duplicate` lines; the
    West US-only group is untouched."""
    incident = af.to_body(af.service_health())
    config_file = tmp_path / "config.json"  # too big for one environment variable
    config_file.write_text(config(INLINE))
    with HostProcess(
        azurite.connection_string,
        table_name,
        FAILOVER_CONFIG=str(config_file),
    ) as host:
        first = api.post(f"{host.url}/alerts", data=incident, timeout=60)
        answers: list[int] = []
        racing = [
            threading.Thread(
                target=lambda: answers.append(
                    api.post(f"{host.url}/alerts", data=incident, timeout=60).status_code
                )
            )
            for _ in range(2)
        ]
        for thread in racing:
            thread.start()
        for thread in racing:
            thread.join(timeout=120)
        late = api.post(f"{host.url}/alerts", data=incident, timeout=60)

        assert (200, "failed_over", INLINE) == (
            first.status_code,
            first.json().get("outcome"),
            sum(d["action"] == "failed_over" for d in first.json().get("decisions", [])),
        ), first.text[:500]
        assert ([200, 200], "duplicate") == (answers, late.json()["outcome"])
        # The west-only group was never touched, so it was never written.
        assert Counter({"westus v2": INLINE}) == active_rows(azurite, table_name)
        assert Counter({"failed_over": INLINE, "duplicate": 3 * INLINE}) == audit_actions(
            azurite, table_name
        )


def test_a_queued_fanout_moves_every_group_once_and_retries_touch_no_group(
    azurite: Azurite, table_name: str, tmp_path: Path
) -> None:
    """Above FANOUT_INLINE_GROUPS the alert is accepted onto the queue: the answer comes at
    once, the queue trigger moves all 300 groups exactly once, and re-deliveries (concurrent
    and late) answer `duplicate` without touching a group, so the audit holds exactly one
    line per group."""
    incident = af.to_body(af.service_health())
    config_file = tmp_path / "config.json"
    config_file.write_text(config(GROUPS))
    with HostProcess(
        azurite.connection_string, table_name, FAILOVER_CONFIG=str(config_file)
    ) as host:
        first = api.post(f"{host.url}/alerts", data=incident, timeout=60)
        answers: list[tuple[int, str]] = []

        def redeliver() -> None:
            answer = api.post(f"{host.url}/alerts", data=incident, timeout=60)
            answers.append((answer.status_code, answer.json()["outcome"]))

        racing = [threading.Thread(target=redeliver) for _ in range(2)]
        for thread in racing:
            thread.start()
        for thread in racing:
            thread.join(timeout=120)
        moved = wait_until(lambda: active_rows(azurite, table_name)["westus v2"] == GROUPS)
        late = api.post(f"{host.url}/alerts", data=incident, timeout=60)
        log = host.output

    queued = first.json()["queued"]
    assert (200, "recorded", []) == (
        first.status_code,
        first.json()["outcome"],
        first.json()["decisions"],
    )
    assert (GROUPS, len(batch_sizes(GROUPS))) == (queued["groups"], queued["batches"])
    assert [(200, "duplicate")] * 2 == answers
    assert ("duplicate", queued) == (late.json()["outcome"], late.json()["queued"])
    assert moved, "not every group moved within the wait"
    # The west-only group was never touched, so it was never written.
    assert Counter({"westus v2": GROUPS}) == active_rows(azurite, table_name)
    assert Counter({"failed_over": GROUPS}) == audit_actions(azurite, table_name)
    assert len(batch_sizes(GROUPS)) == log.count("Executed 'Functions.fanout' (Succeeded")


def wait_until(done: Callable[[], bool], limit: float = 60.0) -> bool:
    """Poll `done` until it holds or `limit` seconds pass; whether it held."""
    deadline = time.monotonic() + limit
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)  # polling for the queue's work, not timing it
    return True


def test_a_second_queue_instance_moves_nothing_twice_and_stops_with_the_host(
    azurite: Azurite, table_name: str, tmp_path: Path
) -> None:
    """With LOCAL_QUEUE_INSTANCES=2 a second process consumes the same queue, competing for
    its batches: the groups still move exactly once, and stopping the host stops it too."""
    config_file = tmp_path / "config.json"
    config_file.write_text(config(GROUPS))
    with HostProcess(
        azurite.connection_string,
        table_name,
        FAILOVER_CONFIG=str(config_file),
        LOCAL_QUEUE_INSTANCES="2",
    ) as host:
        assert wait_until(lambda: "queue instance" in host.output, limit=30)
        incident = af.to_body(af.service_health())
        answer = api.post(f"{host.url}/alerts", data=incident, timeout=60)
        moved = wait_until(lambda: active_rows(azurite, table_name)["westus v2"] == GROUPS)
        log = host.output
    instance = int(re.search(r"queue instance (\d+) listening", log)[1])  # type: ignore[index]

    assert ("recorded", True) == (answer.json()["outcome"], moved)
    assert Counter({"failed_over": GROUPS}) == audit_actions(azurite, table_name)
    assert len(batch_sizes(GROUPS)) == log.count("Executed 'Functions.fanout' (Succeeded")
    assert not Path(f"/proc/{instance}").exists(), "the extra queue instance outlived the host"


def test_a_big_real_alert_is_queued_and_moves_every_group(
    azurite: Azurite, table_name: str, tmp_path: Path
) -> None:
    """A 180 KB alert (65 services by 60 regions) touching 150 groups: accepted onto the real
    queue (each message under its 64 KiB), and the queue trigger moves every group once."""
    groups = 150
    config_file = tmp_path / "config.json"
    config_file.write_text(config(groups))
    with HostProcess(
        azurite.connection_string, table_name, FAILOVER_CONFIG=str(config_file)
    ) as host:
        first = api.post(f"{host.url}/alerts", data=af.to_body(af.big_service_health()), timeout=60)
        moved = wait_until(lambda: active_rows(azurite, table_name)["westus v2"] == groups)

    assert (200, "recorded") == (first.status_code, first.json()["outcome"])
    assert moved, "not every group moved within the wait"
    assert Counter({"failed_over": groups}) == audit_actions(azurite, table_name)
