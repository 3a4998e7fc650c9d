"""Readiness probes: the real ArmClient and AccountProber against the ARM/VI stand-in, over HTTP."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ClientAuthenticationError

from devhost.azurite import free_port
from devhost.standin import AzureStandIn
from shared.adapters.arm import ArmClient, ArmNoAnswerError, StaticTokenCredential
from shared.adapters.probe import AccountProber
from shared.core.model import Account, ProbeResult, ReadinessStatus

ARM_TOKEN = "arm-token-for-tests"
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
SUBSCRIPTION = "/subscriptions/9b2c4e71-5d3a-4f0e-8c6b-2a7d1e9f4c30/resourceGroups/rg-video"
EASTUS = Account(
    name="contoso-eastus",
    account_id="3377bbfd-a83c-486f-8108-e85cdbc7d561",
    location="eastus",
    resource_id=f"{SUBSCRIPTION}/providers/Microsoft.VideoIndexer/accounts/contoso-eastus",
)
WESTUS = Account(
    name="contoso-westus",
    account_id="01a8623c-48f4-4a18-b9de-164b6f8cfc57",
    location="westus",
    resource_id=f"{SUBSCRIPTION}/providers/Microsoft.VideoIndexer/accounts/contoso-westus",
)
TIMEOUT = 0.5  # seconds: the "hang" case waits this long, nothing else comes close
SLOW_MS = 150  # the stand-in's "slow" answers after 300 ms; local answers take a few ms

Status = ReadinessStatus
NO_LEAKS: list[str] = []


class FailingCredential:
    """A credential that fails as azure-identity's do when no identity is available."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise self.error


@pytest.fixture
def standin() -> Iterator[AzureStandIn]:
    with AzureStandIn([EASTUS, WESTUS], arm_token=ARM_TOKEN, slow_seconds=0.3) as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_prober(sleeps: list[float]) -> Iterator[Callable[..., AccountProber]]:
    clients: list[ArmClient] = []

    def make(
        arm_url: str,
        vi_url: str | None = None,
        credential: TokenCredential | None = None,
        **options: Any,
    ) -> AccountProber:
        arm = ArmClient(
            credential or StaticTokenCredential(ARM_TOKEN), base_url=arm_url, timeout=TIMEOUT
        )
        clients.append(arm)
        settings: dict[str, Any] = {"timeout": TIMEOUT, "slow_ms": SLOW_MS, **options}
        return AccountProber(
            arm, vi_base_url=vi_url or arm_url, sleep=sleeps.append, clock=lambda: NOW, **settings
        )

    yield make
    for client in clients:
        client.close()


def leaked_secrets(result: ProbeResult, standin: AzureStandIn, *extra: str) -> list[str]:
    return [t for t in [ARM_TOKEN, *standin.issued_tokens, *extra] if t in result.evidence]


@pytest.mark.parametrize(
    ("behaviour", "expected_status", "cause"),
    [
        pytest.param("healthy", Status.HEALTHY, "Videos?pageSize=1 → 200", id="healthy"),
        pytest.param(
            "provisioning-failed",
            Status.MISCONFIGURED,
            "provisioningState Failed",
            id="provisioning-failed",
        ),
        pytest.param("missing", Status.MISCONFIGURED, "→ 404", id="arm-404"),
        pytest.param("unauthorized", Status.UNAUTHORIZED, "Videos?pageSize=1 → 401", id="vi-401"),
        pytest.param("forbidden", Status.UNAUTHORIZED, "Videos?pageSize=1 → 403", id="vi-403"),
        pytest.param(
            "throttled-once", Status.HEALTHY, "429, retried after 1 s → 200", id="429-once"
        ),
        pytest.param("throttled", Status.DEGRADED, "→ 429 in", id="429-always"),
        pytest.param("hang", Status.UNREACHABLE, "timed out after", id="vi-timeout"),
        pytest.param("slow", Status.DEGRADED, "slow (over 150 ms)", id="vi-slow"),
        pytest.param("malformed", Status.UNREACHABLE, "malformed (not JSON)", id="vi-malformed"),
        pytest.param("unhealthy", Status.UNREACHABLE, "Videos?pageSize=1 → 503", id="vi-503"),
        pytest.param("token-down", Status.UNREACHABLE, "token endpoint down", id="token-503"),
        pytest.param(
            "token-forbidden", Status.UNAUTHORIZED, "generateAccessToken → 403", id="token-403"
        ),
    ],
)
def test_each_behaviour_is_classified_with_its_cause_and_no_token(
    standin: AzureStandIn,
    make_prober: Callable[..., AccountProber],
    caplog: pytest.LogCaptureFixture,
    behaviour: str,
    expected_status: ReadinessStatus,
    cause: str,
) -> None:
    """Each stand-in behaviour maps to its status; evidence names the cause; no token leaks."""
    caplog.set_level(logging.DEBUG)
    standin.set_behaviour(WESTUS.name, behaviour)
    prober = make_prober(standin.url)

    result = prober.probe(WESTUS)

    probe_logs = [r for r in caplog.records if r.name == "shared.adapters.probe"]
    expected = (expected_status, True, NO_LEAKS, NO_LEAKS, 1)
    assert expected == (
        result.status,
        cause in result.evidence,
        leaked_secrets(result, standin),
        [t for t in [ARM_TOKEN, *standin.issued_tokens] if t in caplog.text],
        len(probe_logs),
    ), result.evidence


def test_a_healthy_probe_makes_the_three_documented_calls(
    standin: AzureStandIn, make_prober: Callable[..., AccountProber]
) -> None:
    """ARM GET, generateAccessToken, then the Videos list, with the API version and page size."""
    prober = make_prober(standin.url)

    result = prober.probe(WESTUS)

    expected = [
        ("GET", f"{WESTUS.resource_id}?api-version=2025-04-01"),
        ("POST", f"{WESTUS.resource_id}/generateAccessToken?api-version=2025-04-01"),
        ("GET", f"/westus/Accounts/{WESTUS.account_id}/Videos?pageSize=1"),
    ]
    assert (expected, NOW, True) == (
        standin.requests_seen,
        result.checked_at,
        result.latency_ms is not None and result.latency_ms < SLOW_MS,
    )


def test_building_the_client_and_prober_makes_no_request(standin: AzureStandIn) -> None:
    """Construction does no I/O (Functions cold start); the credential repr hides its token."""
    credential = StaticTokenCredential(ARM_TOKEN)

    AccountProber(ArmClient(credential, base_url=standin.url), vi_base_url=standin.url)

    assert ([], False) == (standin.requests_seen, ARM_TOKEN in repr(credential))


@pytest.mark.parametrize(
    ("behaviour", "expected_status", "expected_vi_calls"),
    [
        pytest.param("throttled-once", Status.HEALTHY, 2, id="second-answer-200"),
        pytest.param("throttled", Status.DEGRADED, 2, id="still-429"),
    ],
)
def test_a_429_waits_for_retry_after_through_the_injected_sleep_and_retries_once(
    standin: AzureStandIn,
    make_prober: Callable[..., AccountProber],
    sleeps: list[float],
    behaviour: str,
    expected_status: ReadinessStatus,
    expected_vi_calls: int,
) -> None:
    """Retry-After: 1 makes the probe ask the sleep for 1 s, then call the data plane again."""
    standin.set_behaviour(WESTUS.name, behaviour)
    prober = make_prober(standin.url)

    result = prober.probe(WESTUS)

    vi_calls = [path for _, path in standin.requests_seen if "/Videos" in path]
    assert (expected_status, [1.0], expected_vi_calls) == (result.status, sleeps, len(vi_calls))


def test_a_long_retry_after_is_capped(
    make_prober: Callable[..., AccountProber], sleeps: list[float]
) -> None:
    """A Retry-After above max_retry_after waits only max_retry_after."""
    with AzureStandIn([WESTUS], retry_after_seconds=120) as standin:
        standin.set_behaviour(WESTUS.name, "throttled")
        prober = make_prober(standin.url, max_retry_after=2.5)

        result = prober.probe(WESTUS)

    assert (Status.DEGRADED, [2.5]) == (result.status, sleeps)


@pytest.mark.parametrize(
    ("configured", "mentions"),
    [
        pytest.param(
            replace(WESTUS, account_id="99999999-0000-4000-8000-000000000000"),
            ["99999999-0000-4000-8000-000000000000", WESTUS.account_id],
            id="accountId",
        ),
        pytest.param(replace(WESTUS, location="eastus"), ["eastus", "westus"], id="location"),
    ],
)
def test_a_config_that_disagrees_with_arm_is_misconfigured_naming_both_values(
    standin: AzureStandIn,
    make_prober: Callable[..., AccountProber],
    configured: Account,
    mentions: list[str],
) -> None:
    """The config's accountId or location differing from ARM's is misconfigured, both named."""
    prober = make_prober(standin.url)

    result = prober.probe(configured)

    expected = (Status.MISCONFIGURED, [True, True], WESTUS.account_id, "westus", NO_LEAKS)
    assert expected == (
        result.status,
        [value in result.evidence for value in mentions],
        result.account_id,
        result.location,
        leaked_secrets(result, standin),
    )


def test_an_account_given_only_by_resource_id_resolves_from_arm(
    standin: AzureStandIn, make_prober: Callable[..., AccountProber]
) -> None:
    """Empty accountId and location are filled from ARM ("West US" → westus) and probed."""
    prober = make_prober(standin.url)

    result = prober.probe(replace(WESTUS, account_id="", location=""))

    expected = (Status.HEALTHY, WESTUS.account_id, "westus")
    assert expected == (result.status, result.account_id, result.location)


def test_an_arm_answer_with_an_empty_location_or_account_id_is_no_answer() -> None:
    """ARM answering 200 with "" for location and accountId has not told them: the account is
    unresolved (ArmNoAnswerError naming both fields), not resolved to an empty region."""
    blank = replace(WESTUS, location="", account_id="")
    with AzureStandIn([blank], arm_token=ARM_TOKEN) as server:
        arm = ArmClient(StaticTokenCredential(ARM_TOKEN), base_url=server.url, timeout=TIMEOUT)
        with pytest.raises(ArmNoAnswerError) as raised:
            arm.get_account(WESTUS.resource_id)
        arm.close()

    assert "without location, properties.accountId" in str(raised.value)


@pytest.mark.parametrize(
    ("credential", "expected_status", "cause"),
    [
        pytest.param(
            StaticTokenCredential("not-the-arm-token"),
            Status.UNAUTHORIZED,
            "→ 401",
            id="arm-rejects-the-token",
        ),
        pytest.param(
            FailingCredential(ClientAuthenticationError("no managed identity endpoint")),
            Status.UNAUTHORIZED,
            "the credential failed: no managed identity endpoint",
            id="credential-fails",
        ),
        pytest.param(
            FailingCredential(RuntimeError("a bug")),
            Status.UNREACHABLE,
            "probe failed unexpectedly: RuntimeError: a bug",
            id="unexpected-error",
        ),
    ],
)
def test_credential_problems_are_classified_and_never_raised(
    standin: AzureStandIn,
    make_prober: Callable[..., AccountProber],
    credential: TokenCredential,
    expected_status: ReadinessStatus,
    cause: str,
) -> None:
    """A refused or failing credential is unauthorized; anything unexpected is unreachable."""
    prober = make_prober(standin.url, credential=credential)

    result = prober.probe(WESTUS)

    expected = (expected_status, True, None, NO_LEAKS)
    assert expected == (
        result.status,
        cause in result.evidence,
        result.account_id,
        leaked_secrets(result, standin, "not-the-arm-token"),
    ), result.evidence


def test_nothing_listening_for_arm_is_unreachable(
    make_prober: Callable[..., AccountProber],
) -> None:
    """A closed ARM port is unreachable, and the evidence says the connection was refused."""
    prober = make_prober(f"http://127.0.0.1:{free_port()}")

    result = prober.probe(WESTUS)

    assert (Status.UNREACHABLE, True) == (
        result.status,
        "Connection refused" in result.evidence,
    ), result.evidence


def test_nothing_listening_for_the_data_plane_is_unreachable(
    standin: AzureStandIn, make_prober: Callable[..., AccountProber]
) -> None:
    """ARM answers but the VI endpoint's port is closed: unreachable, with ARM's ids."""
    prober = make_prober(standin.url, vi_url=f"http://127.0.0.1:{free_port()}")

    result = prober.probe(WESTUS)

    expected = (Status.UNREACHABLE, True, WESTUS.account_id, None, NO_LEAKS)
    assert expected == (
        result.status,
        "no connection: [Errno 111] Connection refused" in result.evidence,
        result.account_id,
        result.latency_ms,
        leaked_secrets(result, standin),
    ), result.evidence
