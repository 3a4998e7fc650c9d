"""Replay against the running app: the same history, posted to the local stack over HTTP, ends
in the state replay predicted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from vi_failover_client.cli import main
from vi_failover_client.replay_files import load_history

from devhost.azurite import Azurite
from shared.core.config import load_config
from shared.core.replay import replay
from shared.core.replay_input import delivery_of, in_order
from tests.e2e_stack import stack_on

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "examples" / "replay"
DEMO = ROOT / "devhost" / "demo-config.json"


def test_the_stack_ends_where_replay_said_it_would(
    azurite: Azurite, table_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each delivery posted in the order received (exported events as the legacy webhook would
    carry them): the same active account, the same incidents with the same statuses, and
    the same outcome for every alert. Then `history --export` of the stack's audit trail
    replays to the same decisions."""
    files = sorted(HISTORY.glob("*.json"))
    deliveries = in_order(delivery_of(json.loads(f.read_text("utf-8")), f.name) for f in files)
    predicted = replay(load_config(str(DEMO)), deliveries)
    expected_outcomes = {
        s.source: s.action for s in predicted.steps if s.source != "tick" and s.group
    }
    state = predicted.states["default"]

    outcomes = {}
    with stack_on(azurite, table_name, str(DEMO)) as stack:
        for delivery in deliveries:
            response = stack.post(delivery.payload)
            assert 200 == response.status_code, response.text
            outcomes[delivery.source] = response.json()["outcome"]
        group = requests.get(f"{stack.host.url}/status", timeout=30).json()["groups"][0]
        exported = tmp_path / "history.jsonl"
        code = main(["--url", stack.host.url, "history", "--export", str(exported)])
    again = replay(load_config(str(DEMO)), load_history(exported))

    incidents = group["openIncidents"] + group["closedIncidents"]
    assert state.active == group["account"]["name"]
    assert {k: i.status.value for k, i in state.incidents.items()} == {
        i["key"]: i["status"] for i in incidents
    }
    assert {**expected_outcomes, "03-test-button.json": "ignored"} == outcomes
    assert (2, "contoso-eastus") == (group["version"] - 1, state.active)
    assert (0, "9 alerts from") == (code, capsys.readouterr().out[:13])
    assert [(s.action, s.to_account) for s in predicted.steps if s.source != "tick"] == [
        (s.action, s.to_account) for s in again.steps if s.source != "tick"
    ]
    assert state.incidents.keys() == again.states["default"].incidents.keys()
