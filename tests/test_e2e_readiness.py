"""Readiness end to end: the local host with its ARM/VI stand-in (as `make run` starts them),
real Azurite, and the stand-in's control endpoint flipping an account's health."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from devhost.azurite import Azurite
from tests import apicontract as api
from tests.e2e_stack import Stack, stack_on, wait_for
from tests.hosting import DEMO_CONFIG


@pytest.fixture
def stack(azurite: Azurite, table_name: str) -> Iterator[Stack]:
    """The demo configuration (manual failback)."""
    with stack_on(azurite, table_name, str(DEMO_CONFIG)) as running:
        yield running


def test_unhealthy_standby_blocks_then_a_resend_fails_over(stack: Stack) -> None:
    """West unhealthy → blocked, and status and history say why; west healthy → failed_over."""
    stack.set_health("contoso-westus", "unhealthy")

    blocked = stack.alert()
    status = stack.status()
    history = api.get(f"{stack.host.url}/history", timeout=30).json()["records"]
    stack.set_health("contoso-westus", "healthy")
    resent = stack.alert()

    assert ("blocked", "contoso-eastus") == (blocked, status["account"]["name"])  # type: ignore[index]
    west = next(a for a in status["accounts"] if a["name"] == "contoso-westus")  # type: ignore[attr-defined]
    assert (False, "unreachable") == (west["readiness"]["ready"], west["readiness"]["status"])
    assert "503" in west["readiness"]["evidence"]
    assert any(
        r["action"] == "blocked" and "failed its latest readiness check" in r["reason"]
        for r in history
    )
    assert "failed_over" == resent


def test_the_readiness_timer_records_every_account(stack: Stack) -> None:
    """Running the timer records each account's readiness with the time of the check."""
    stack.set_health("contoso-westus", "token-down")

    stack.run_readiness()

    wait_for(lambda: stack.status()["lastReadinessCheck"] is not None, "a readiness check")
    accounts = {a["name"]: a["readiness"]["status"] for a in stack.status()["accounts"]}  # type: ignore[attr-defined]
    assert {"contoso-eastus": "healthy", "contoso-westus": "unreachable"} == accounts


def test_auto_failback_happens_without_another_alert(azurite: Azurite, table_name: str) -> None:
    """With failback auto, the timer moves the group back to east after the resolution."""
    config = json.loads(DEMO_CONFIG.read_text())
    config["policy"] |= {"failback": "auto", "failbackStableMinutes": 0, "minDwellMinutes": 0}
    with stack_on(azurite, table_name, json.dumps(config)) as running:
        running.run_readiness()
        wait_for(lambda: running.status()["lastReadinessCheck"] is not None, "a readiness check")
        assert "failed_over" == running.alert()
        running.alert(stage="Resolved", communication_id="1001", event_time="2026-11-20T11:00:00Z")

        running.run_readiness()

        wait_for(
            lambda: running.status()["account"]["name"] == "contoso-eastus",  # type: ignore[index]
            "the automatic failback",
        )
        actions = [
            r["action"]
            for r in api.get(f"{running.host.url}/history", timeout=30).json()["records"]
        ]
        assert 1 == actions.count("failed_back")
