"""Replay against the running app: the same history, posted to the local stack over HTTP, ends
in the state replay predicted."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from vi_failover_client.cli import main
from vi_failover_client.replay_files import load_history

from devhost.azurite import Azurite
from shared.core.config import load_config
from shared.core.replay import replay
from shared.core.replay_input import delivery_of, in_order, readiness_windows
from tests.e2e_stack import Stack, stack_on, wait_for

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "examples" / "replay"
DEMO = ROOT / "devhost" / "demo-config.json"
ACCOUNTS = ["contoso-eastus", "contoso-westus"]


def test_the_stack_ends_where_replay_said_it_would(
    azurite: Azurite, table_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`vi-failover send-alert --history` posts each delivery in the order received (exported
    events as the legacy webhook would carry them): the same active account, the same
    incidents with the same statuses, and the same outcome for every alert. Then
    `history --export` of the stack's audit trail replays to the same decisions."""
    files = sorted(HISTORY.glob("*.json"))
    deliveries = in_order(delivery_of(json.loads(f.read_text("utf-8")), f.name) for f in files)
    predicted = replay(load_config(str(DEMO)), deliveries)
    expected_outcomes = {
        s.source: s.action for s in predicted.steps if s.source != "tick" and s.group
    }
    state = predicted.states["default"]

    with stack_on(azurite, table_name, str(DEMO)) as stack:
        sent = main(["--url", stack.host.url, "send-alert", "--history", str(HISTORY), "--json"])
        answers = json.loads(capsys.readouterr().out)["sent"]
        group = requests.get(f"{stack.host.url}/status", timeout=30).json()["groups"][0]
        exported = tmp_path / "history.jsonl"
        code = main(["--url", stack.host.url, "history", "--export", str(exported)])
    again = replay(load_config(str(DEMO)), load_history(exported))

    incidents = group["openIncidents"] + group["closedIncidents"]
    assert state.active == group["account"]["name"]
    assert {k: i.status.value for k, i in state.incidents.items()} == {
        i["key"]: i["status"] for i in incidents
    }
    assert 0 == sent
    assert [d.source for d in deliveries] == [a["source"] for a in answers]
    outcomes = {a["source"]: a["outcome"] for a in answers}
    assert {**expected_outcomes, "03-test-button.json": "ignored"} == outcomes
    assert (2, "contoso-eastus") == (group["version"] - 1, state.active)
    assert (0, "9 alerts from") == (code, capsys.readouterr().out[:13])
    assert [(s.action, s.to_account) for s in predicted.steps if s.source != "tick"] == [
        (s.action, s.to_account) for s in again.steps if s.source != "tick"
    ]
    assert state.incidents.keys() == again.states["default"].incidents.keys()


def test_an_exported_trail_with_its_readiness_replays_a_blocked_failover_as_it_happened(
    azurite: Azurite, table_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The standby fails its probes when the incident arrives: blocked; the timer finds it
    healthy again and completes the move. Replaying the export with its readiness windows
    blocks and completes likewise; without them it would have moved at once."""
    incident = json.loads((HISTORY / "01-incident-eastus.json").read_text("utf-8"))
    exported, windows = tmp_path / "history.jsonl", tmp_path / "readiness.json"
    with stack_on(azurite, table_name, str(DEMO)) as stack:
        stack.set_health("contoso-westus", "unhealthy")
        stack.run_readiness()
        wait_for(lambda: _readiness(stack, "unreachable"), "westus found unreachable")
        blocked = stack.post(incident).json()["outcome"]
        stack.set_health("contoso-westus", "healthy")
        stack.run_readiness()
        wait_for(lambda: _active(stack) == "contoso-westus", "the timer's move")
        argv = ["history", "--export", str(exported), "--export-readiness", str(windows)]
        code = main(["--url", stack.host.url, *argv])
    config = load_config(str(DEMO))
    events = readiness_windows(json.loads(windows.read_text("utf-8")), "r", ACCOUNTS)

    with_readiness = replay(config, load_history(exported), events, tick=timedelta(minutes=1))
    without = replay(config, load_history(exported))

    assert (0, "blocked", 1) == (code, blocked, len(events))
    assert "1 readiness windows" in capsys.readouterr().out
    assert [("blocked", "contoso-eastus"), ("failed_over", "contoso-westus")] == [
        (s.action, s.to_account) for s in with_readiness.steps if s.action != "readiness"
    ]
    assert [("failed_over", "contoso-westus")] == [
        (s.action, s.to_account) for s in without.steps if s.action != "readiness"
    ]


def _readiness(stack: Stack, status: str) -> bool:
    accounts = stack.status()["accounts"]
    assert isinstance(accounts, list)
    west = next(a for a in accounts if a["name"] == "contoso-westus")
    return bool(west["readiness"]["status"] == status)


def _active(stack: Stack) -> str:
    account = stack.status()["account"]
    assert isinstance(account, dict)
    return str(account["name"])
