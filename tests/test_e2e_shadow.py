"""Shadow mode end to end: the local host on real Azurite, over real sockets."""

from __future__ import annotations

import requests

from devhost.azurite import Azurite
from tests.hosting import ROOT, HostProcess, demo_config_in

INCIDENT = (ROOT / "examples" / "servicehealth-incident-eastus.json").read_bytes()


def alert(host: HostProcess) -> requests.Response:
    """The README's first alert, posted as the action group does."""
    headers = {"Content-Type": "application/json"}
    return requests.post(f"{host.url}/alerts", data=INCIDENT, headers=headers, timeout=30)


def get(host: HostProcess, route: str) -> requests.Response:
    """A GET of one route of the host."""
    return requests.get(f"{host.url}/{route}", timeout=30)


def history(host: HostProcess) -> list[dict[str, object]]:
    """The audit trail, newest first."""
    records = get(host, "history?limit=100").json()["records"]
    assert isinstance(records, list)
    return records


def test_shadow_decides_without_moving_and_switching_to_active_lets_the_alert_move(
    azurite: Azurite, table_name: str
) -> None:
    """In shadow the README's first alert leaves apps on East US and records would_fail_over;
    after a restart in active mode the switch is audited and the re-sent alert moves."""
    with HostProcess(
        azurite.connection_string, table_name, FAILOVER_CONFIG=demo_config_in("shadow")
    ) as h:
        before = get(h, "active-account")
        shadow = alert(h)
        after = get(h, "active-account")
        status = get(h, "status").json()["groups"][0]
        would = history(h)[0]
    with HostProcess(
        azurite.connection_string, table_name, FAILOVER_CONFIG=demo_config_in("active")
    ) as h:
        unmoved = get(h, "active-account").json()["account"]["name"]
        active = alert(h)
        moved = get(h, "active-account").json()["account"]["name"]
        records = history(h)

    assert (200, "would_fail_over") == (shadow.status_code, shadow.json()["outcome"])
    assert ("contoso-eastus", before.headers["ETag"]) == (
        after.json()["account"]["name"],
        after.headers["ETag"],
    )
    assert ("would_fail_over", "contoso-eastus", "contoso-westus") == (
        would["action"],
        would["from"],
        would["to"],
    )
    assert "contoso-eastus is impacted by VT0X-1AB; would have moved to contoso-westus" in str(
        would["reason"]
    )
    assert ("shadow", "contoso-eastus", "contoso-westus") == (
        status["mode"],
        status["account"]["name"],
        status["wouldBeAccount"],
    )
    assert status["apartSince"] == status["wouldBeSince"]
    assert ("contoso-eastus", "failed_over", "contoso-westus") == (
        unmoved,
        active.json()["outcome"],
        moved,
    )
    assert ["failed_over", "mode_changed", "would_fail_over"] == [r["action"] for r in records]
    assert "policy.mode changed from shadow to active" in str(records[1]["reason"])


def test_a_manual_move_in_shadow_mode_moves_the_flag_and_is_audited(
    azurite: Azurite, table_name: str
) -> None:
    """Operators stay in charge in shadow mode: POST /api/failover moves what apps read."""
    with HostProcess(
        azurite.connection_string, table_name, FAILOVER_CONFIG=demo_config_in("shadow")
    ) as h:
        answer = requests.post(
            f"{h.url}/failover", json={"to": "contoso-westus", "reason": "drill"}, timeout=30
        )
        flag = get(h, "active-account").json()
        status = get(h, "status").json()["groups"][0]
        record = history(h)[0]

    assert (200, "moved") == (answer.status_code, answer.json()["outcome"])
    assert ("contoso-westus", 2) == (flag["account"]["name"], flag["version"])
    assert ("contoso-westus", None) == (status["wouldBeAccount"], status["apartSince"])
    assert ("moved", "contoso-westus") == (record["action"], record["to"])
