"""The controller with real readiness: the ARM client and prober over HTTP against the
ARM/VI stand-in, the in-memory store, and a real webhook receiver for notifications."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest

from devhost.standin import AzureStandIn
from shared.adapters.arm import ArmClient, StaticTokenCredential
from shared.adapters.memory_store import InMemoryStateStore
from shared.adapters.notify import WebhookNotifier
from shared.adapters.probe import AccountProber
from shared.app.controller import Controller
from shared.core.model import Config
from shared.core.state import AuditRecord
from tests import alertfactory as af
from tests.core import EAST, T0, WEST, FakeClock, group
from tests.receiver import Receiver, Reply

STABLE = group(failback="auto", failback_stable_minutes=1, min_dwell_minutes=0)


class Rig:
    """Controller + stand-in + optional webhook receiver."""

    def __init__(self, standin: AzureStandIn, config: Config, receiver: Receiver | None) -> None:
        self.standin = standin
        self.clock = FakeClock()
        self.store = InMemoryStateStore()
        arm = ArmClient(StaticTokenCredential("test-token"), base_url=standin.url, timeout=0.5)
        prober = AccountProber(
            arm,
            vi_base_url=standin.url,
            timeout=0.5,
            slow_ms=100,
            sleep=lambda _: None,
            clock=self.clock,
        )
        notifier = (
            WebhookNotifier(f"{receiver.url}/hook?sig=s3cret", timeout=1, attempts=2, backoff=0.01)
            if receiver
            else None
        )
        ids = count(1)
        self.controller = Controller(
            config,
            self.store,
            self.clock,
            lambda: f"d{next(ids)}",
            prober=prober,
            notifier=notifier,
        )

    def alert(self, **kwargs: object) -> str:
        return self.controller.handle_alert(af.to_body(af.service_health(**kwargs))).outcome  # type: ignore[arg-type]

    def active(self) -> str:
        return self.controller.state(self.controller.config.groups[0]).active

    def history(self) -> list[str]:
        return [r.action for r in self.controller.history(None, 100)]


@pytest.fixture
def rig(standin: AzureStandIn) -> Rig:
    """The default group (manual failback) with no webhook."""
    return Rig(standin, Config(groups=(group(),)), None)


def test_tick_records_readiness_of_every_account(rig: Rig) -> None:
    """A readiness tick probes each account and records its status with the evidence."""
    rig.standin.set_behaviour(WEST.name, "unhealthy")

    rig.controller.readiness_tick()

    readiness = rig.controller.state(rig.controller.config.groups[0]).readiness
    assert ("healthy", "unreachable") == (readiness[EAST.name].status, readiness[WEST.name].status)
    assert "503" in readiness[WEST.name].evidence


@pytest.mark.parametrize(
    "behaviour",
    [
        "unhealthy",
        "unauthorized",
        "forbidden",
        "token-down",
        "token-forbidden",
        "provisioning-failed",
        "missing",
        "malformed",
        "hang",
        "slow",
        "throttled",
    ],
)
def test_a_failing_standby_is_never_a_failover_target(rig: Rig, behaviour: str) -> None:
    """Whatever is wrong with west, an East US incident is blocked, with the evidence recorded."""
    rig.standin.set_behaviour(WEST.name, behaviour)
    rig.controller.readiness_tick()

    outcome = rig.alert()

    assert ("blocked", EAST.name) == (outcome, rig.active())
    blocked = [r for r in rig.controller.history(None, 50) if r.action == "blocked"]
    assert "failed its latest readiness check" in blocked[0].reason


def test_preflight_catches_a_standby_that_failed_since_the_last_tick(rig: Rig) -> None:
    """West was healthy at the last tick but is down now: the pre-flight probe blocks the move."""
    rig.controller.readiness_tick()
    rig.standin.set_behaviour(WEST.name, "unhealthy")

    outcome = rig.alert()

    assert ("blocked", EAST.name) == (outcome, rig.active())


def test_resending_after_the_standby_recovers_fails_over(rig: Rig) -> None:
    """Blocked on an unhealthy west; west recovers; the same alert re-sent fails over."""
    rig.standin.set_behaviour(WEST.name, "unhealthy")
    rig.controller.readiness_tick()
    assert "blocked" == rig.alert()

    rig.standin.set_behaviour(WEST.name, "healthy")
    outcome = rig.alert()

    assert ("failed_over", WEST.name) == (outcome, rig.active())
    assert 1 == rig.history().count("failed_over")


def test_the_timer_completes_a_blocked_failover_without_another_alert(rig: Rig) -> None:
    """Blocked on an unhealthy west; once west is healthy the next tick makes the move."""
    rig.standin.set_behaviour(WEST.name, "unhealthy")
    rig.controller.readiness_tick()
    rig.alert()

    rig.standin.set_behaviour(WEST.name, "healthy")
    outcomes = rig.controller.readiness_tick()

    assert ({"default": "failed_over"}, WEST.name) == (outcomes, rig.active())


def test_auto_failback_after_the_stable_period(standin: AzureStandIn) -> None:
    """With failback auto and 1 stable minute, a tick after resolution moves back to east."""
    rig = Rig(standin, Config(groups=(STABLE,)), None)
    rig.controller.readiness_tick()
    rig.clock.now = T0 + timedelta(minutes=5)
    assert "failed_over" == rig.alert(event_time="2026-11-20T10:05:00Z")
    rig.clock.now = T0 + timedelta(minutes=10)
    rig.alert(stage="Resolved", communication_id="1001", event_time="2026-11-20T10:10:00Z")
    rig.controller.readiness_tick()

    rig.clock.now = T0 + timedelta(minutes=11, seconds=30)
    outcomes = rig.controller.readiness_tick()

    assert ({"default": "failed_back"}, EAST.name) == (outcomes, rig.active())


def test_the_timer_never_crashes_on_a_broken_account(rig: Rig) -> None:
    """Every account hanging or misbehaving: the tick completes and returns each group's outcome."""
    rig.standin.set_behaviour(EAST.name, "hang")
    rig.standin.set_behaviour(WEST.name, "malformed")

    outcomes = rig.controller.readiness_tick()

    assert {"default": "recorded"} == outcomes


def test_moves_are_posted_to_the_webhook(standin: AzureStandIn) -> None:
    """A failover is posted with a text field naming both accounts."""
    with Receiver(Reply(200)) as receiver:
        rig = Rig(standin, Config(groups=(group(),)), receiver)

        rig.alert()

        (posted,) = receiver.requests
    assert isinstance(posted.body, dict)
    assert ("failed_over", EAST.name, WEST.name) == (
        posted.body["action"],
        posted.body["from"],
        posted.body["to"],
    )
    assert WEST.name in str(posted.body["text"])


def test_a_failing_webhook_never_undoes_the_move_and_is_audited(standin: AzureStandIn) -> None:
    """The receiver answers 500: the group still moves, and the failure is in the audit trail."""
    with Receiver(Reply(500), Reply(500)) as receiver:
        rig = Rig(standin, Config(groups=(group(),)), receiver)

        outcome = rig.alert()

        attempts = len(receiver.requests)
    assert ("failed_over", WEST.name, 2) == (outcome, rig.active(), attempts)
    failures = [r for r in rig.controller.history(None, 50) if r.action == "notify_failed"]
    assert 1 == len(failures)
    assert "s3cret" not in failures[0].reason


def test_a_repeated_block_is_posted_once(standin: AzureStandIn) -> None:
    """The first block is paged; later updates that stay blocked are not."""
    with Receiver(Reply(200)) as receiver:
        rig = Rig(standin, Config(groups=(group(),)), receiver)
        standin.set_behaviour(WEST.name, "unhealthy")
        rig.controller.readiness_tick()

        first = rig.alert()
        second = rig.alert(communication_id="1002", event_time="2026-11-20T10:30:00Z")

        actions = [r.body["action"] for r in receiver.requests if isinstance(r.body, dict)]
    assert ("blocked", "blocked", ["blocked"]) == (first, second, actions)


def test_the_timer_forgets_audit_lines_of_unmatched_alerts_after_30_days(rig: Rig) -> None:
    """Lines of alerts that matched no group are deleted by the timer once 30 days old; a
    younger one stays."""
    now = rig.clock()
    rig.store.append_audit(
        [
            AuditRecord("", now - timedelta(days=d), "ignored", "", "", "junk", "alert", name)
            for name, d in (("31 days", 31), ("29 days", 29))
        ]
    )

    rig.controller.readiness_tick()

    left = [r.record_id for r in rig.store.history([], 10, unmatched=True)]
    assert ["29 days"] == left
