"""The shell around the core: no request writes groups it does not change, a configuration
drift is a move like any other (audited and paged), and every failure maps to one HTTP answer
naming its cause."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import count

import pytest

from shared.adapters.memory_store import InMemoryStateStore
from shared.adapters.notify import WebhookNotifier
from shared.app.controller import Controller
from shared.app.errors import (
    ArmUnavailableError,
    AuthUnavailableError,
    QueueUnavailableError,
    StorageUnavailableError,
    TimeoutUnavailableError,
    UnavailableError,
    WriteConflictError,
)
from shared.core.failover import initial_state
from shared.core.model import Config
from shared.http.errors import error_response
from shared.http.handlers import HttpApi
from shared.settings import Settings, StorageSettings
from tests import alertfactory as af
from tests.core import CENTRAL, EAST, WEST, FakeClock, group
from tests.funcrequests import body_of, request
from tests.receiver import Receiver

MOVE_WEST = json.dumps({"to": WEST.name, "reason": "drill"}).encode()
TWO = Config(groups=(group(name="tenant-a"), group(EAST, CENTRAL, name="tenant-b")))


def api_over(store: InMemoryStateStore, config: Config = TWO) -> HttpApi:
    """The handlers over this store, with a fake clock."""
    ids = count(1)
    controller = Controller(config, store, FakeClock(), lambda: f"d{next(ids)}")
    settings = Settings(
        config=config,
        storage=StorageSettings(connection_string="x=y"),
        operator_auth="local",
    )
    return HttpApi(settings, lambda: controller)


def test_reads_on_a_fresh_table_answer_and_write_nothing() -> None:
    """Status, the active account and history of groups never written: answered from their
    initial state, and no row is created."""
    store = InMemoryStateStore()
    api = api_over(store)

    status = api.status(request("GET", "status"))
    active = api.active_account(request("GET", "active-account", params={"group": "tenant-b"}))
    history = api.history(request("GET", "history"))

    assert (200, 200, 200) == (status.status_code, active.status_code, history.status_code)
    assert EAST.name == body_of(active)["account"]["name"]  # type: ignore[index]
    assert (None, None) == (store.load_group("tenant-a"), store.load_group("tenant-b"))


def test_an_alert_writes_only_the_groups_it_touches() -> None:
    """A West US incident touches tenant-a only (tenant-b has no West US account)."""
    store = InMemoryStateStore()
    api = api_over(store)
    west = af.service_health(services=(("Azure AI Video Indexer", ("West US",)),))

    api.alerts(request("POST", "alerts", body=af.to_body(west)))

    assert (True, None) == (store.load_group("tenant-a") is not None, store.load_group("tenant-b"))


def test_a_group_on_an_account_no_longer_configured_is_moved_back_audited_and_paged() -> None:
    """The stored active account was removed from the configuration: the next change of the
    group first moves it to its primary, with a `moved` audit line by `configuration` and a
    notification, in the same write."""
    store = InMemoryStateStore()
    grp = group(name="tenant-a")
    stored = replace(initial_state(grp, FakeClock()()), active="contoso-gone", version=4)
    store.save(grp, None, stored, ())
    with Receiver() as receiver:
        notifier = WebhookNotifier(f"{receiver.url}/hook", timeout=1, attempts=1)
        controller = Controller(Config(groups=(grp,)), store, FakeClock(), notifier=notifier)
        controller.handle_alert(
            af.to_body(af.service_health(services=(("Video Indexer", ("West US",)),)))
        )
        pages = [r.body for r in receiver.requests]

    state = store.load_group("tenant-a")
    lines = store.history(["tenant-a"], 10, unmatched=False)
    assert state is not None
    assert (EAST.name, 5) == (state.active, state.version)
    moved = [r for r in lines if r.action == "moved"]
    assert [("contoso-gone", EAST.name, "configuration")] == [
        (r.from_account, r.to_account, r.actor) for r in moved
    ]
    assert ["moved"] == [p["action"] for p in pages if isinstance(p, dict)]
    assert 1 == len(pages)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (StorageUnavailableError("table down"), "StorageUnavailable"),
        (QueueUnavailableError("queue down"), "QueueUnavailable"),
        (ArmUnavailableError("ARM down"), "ArmUnavailable"),
        (WriteConflictError("busy group"), "WriteConflict"),
        (AuthUnavailableError("keys down"), "AuthUnavailable"),
        (TimeoutUnavailableError("too slow"), "Timeout"),
    ],
)
def test_every_dependency_failure_is_503_naming_it_with_retry_after(
    error: UnavailableError, code: str
) -> None:
    """One mapping: the 503's code names the dependency; Retry-After tells when to retry."""
    response = error_response(error, retry_after=7)

    assert (503, code, "7") == (
        response.status_code,
        body_of(response)["error"],
        response.headers["Retry-After"],
    )
    assert str(error) == body_of(response)["message"]


@pytest.mark.parametrize("limit", ["²", "٣", "0", "1001", "ten", "-1"])
def test_a_history_limit_that_is_not_ascii_digits_in_range_is_400(limit: str) -> None:
    """`limit` accepts 1-1000 in ASCII digits only (str.isdigit also takes "²", int refuses)."""
    api = api_over(InMemoryStateStore())

    response = api.history(request("GET", "history", params={"limit": limit}))

    assert (400, "InvalidRequest") == (response.status_code, body_of(response)["error"])
    assert "limit" in str(body_of(response)["message"])


def test_a_missing_group_with_several_configured_is_400_not_404() -> None:
    """Omitting `group` is a bad request when it is required, not an unknown group."""
    api = api_over(InMemoryStateStore())

    response = api.active_account(request("GET", "active-account"))
    unknown = api.active_account(request("GET", "active-account", params={"group": "nope"}))

    assert (400, "InvalidRequest") == (response.status_code, body_of(response)["error"])
    assert (404, "UnknownGroup") == (unknown.status_code, body_of(unknown)["error"])


def test_a_storage_outage_is_503_storage_unavailable_on_every_route() -> None:
    """The in-memory store marked unavailable: alerts, reads and manual moves all answer 503
    StorageUnavailable."""
    store = InMemoryStateStore()
    api = api_over(store, Config(groups=(group(),)))
    store.available = False

    answers = [
        api.alerts(request("POST", "alerts", body=af.to_body(af.service_health()))),
        api.status(request("GET", "status")),
        api.history(request("GET", "history")),
        api.failover(request("POST", "failover", body=MOVE_WEST)),
    ]

    assert [(503, "StorageUnavailable")] * 4 == [
        (a.status_code, body_of(a)["error"]) for a in answers
    ]
