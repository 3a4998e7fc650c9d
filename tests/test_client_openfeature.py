"""The OpenFeature provider serves the active account as the flag `active-account`, read through
OpenFeature's own API the way a team reads its other flags.

Real parts: a local HTTP server speaking the endpoint's wire format; the OpenFeature SDK.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import EventDetails, ProviderEvent
from openfeature.exception import ErrorCode, ProviderFatalError
from openfeature.flag_evaluation import Reason
from openfeature.provider import ProviderStatus
from vi_failover_client.openfeature_provider import ActiveAccountProvider

from tests.activeaccount_server import ActiveAccountServer, view
from tests.clientkit import FakeClock


@pytest.fixture(autouse=True)
def fresh_api() -> Iterator[None]:
    """OpenFeature's global API, cleared after each test."""
    yield
    api.shutdown()
    api.clear_providers()


def test_the_active_account_is_a_string_and_an_object_flag() -> None:
    """get_string_value gives the name; get_object_value the AccountRef, version and role."""
    with ActiveAccountServer(view("contoso-westus", 2)) as endpoint:
        api.set_provider_and_wait(ActiveAccountProvider(["default"], endpoints=[endpoint.url]))
        client = api.get_client()

        name = client.get_string_details("active-account", "fallback")
        whole = client.get_object_value("active-account", {})
        other = client.get_string_details("some-other-flag", "fallback")
        number = client.get_integer_details("active-account", 0)

    assert ("contoso-westus", Reason.CACHED, "contoso-westus") == (
        name.value,
        name.reason,
        name.variant,
    )
    assert (2, "secondary") == (name.flag_metadata["version"], name.flag_metadata["role"])
    assert isinstance(whole, dict)
    assert ("contoso-westus", 2, "westus") == (whole["name"], whole["version"], whole["location"])
    assert ("fallback", ErrorCode.FLAG_NOT_FOUND) == (other.value, other.error_code)
    assert ErrorCode.TYPE_MISMATCH == number.error_code


def test_a_move_emits_configuration_changed_and_the_flag_follows() -> None:
    """After a failover the provider emits PROVIDER_CONFIGURATION_CHANGED for active-account."""
    clock, changed = FakeClock(), threading.Event()
    events: list[EventDetails] = []

    def on_changed(details: EventDetails) -> None:
        events.append(details)
        changed.set()

    with ActiveAccountServer() as endpoint:
        provider = ActiveAccountProvider(["default"], endpoints=[endpoint.url], clock=clock)
        api.set_provider_and_wait(provider)
        client = api.get_client()
        client.add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, on_changed)
        before = client.get_string_value("active-account", "fallback")
        endpoint.serve(view("contoso-westus", 2))
        clock.advance(11)
        provider._clients["default"].refresh()  # the test's hand on the clock
        seen = changed.wait(timeout=10)
        after = client.get_string_value("active-account", "fallback")

    assert ("contoso-eastus", "contoso-westus", True) == (before, after, seen)
    assert [["active-account"]] == [e.flags_changed for e in events]


def test_a_refused_configuration_makes_the_provider_fatal() -> None:
    """A 401 at start: the provider's status is FATAL and evaluations answer the default."""
    with ActiveAccountServer() as endpoint:
        endpoint.serve(status=401)
        with pytest.raises(ProviderFatalError):
            api.set_provider_and_wait(ActiveAccountProvider(["default"], endpoints=[endpoint.url]))
        client = api.get_client()

        details = client.get_string_details("active-account", "fallback")
        status = client.get_provider_status()

    assert ProviderStatus.FATAL == status
    assert ("fallback", ErrorCode.PROVIDER_FATAL) == (details.value, details.error_code)


def test_several_groups_are_picked_by_the_context() -> None:
    """With two groups, the evaluation context's `group` attribute picks the client."""
    tenant = view("contoso-westus", 3, group="tenant-b")
    with ActiveAccountServer(view("contoso-eastus", 1), others=[tenant]) as endpoint:
        provider = ActiveAccountProvider(["default", "tenant-b"], endpoints=[endpoint.url])
        api.set_provider_and_wait(provider)
        ready = [c.get().name for c in provider._clients.values()]
        client = api.get_client()
        tenant_b = client.get_string_value(
            "active-account", "x", EvaluationContext(attributes={"group": "tenant-b"})
        )
        unknown = client.get_string_details(
            "active-account", "x", EvaluationContext(attributes={"group": "nobody"})
        )

    assert ["contoso-eastus", "contoso-westus"] == ready
    assert "contoso-westus" == tenant_b
    assert ErrorCode.INVALID_CONTEXT == unknown.error_code
