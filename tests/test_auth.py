"""Who may deliver alerts: the shared secret, the secure webhook's Entra ID token, and the
handler that refuses everyone else before reading a byte of the body.

Tokens are minted with PyJWT from RSA keys made here, and the tenant's OpenID configuration and
JWKS come from a real HTTP server on 127.0.0.1. The clock is fake: nothing sleeps.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket
from itertools import count
from typing import Any

import azure.functions as func
import jwt
import pytest
import requests

from shared.adapters.memory_store import InMemoryStateStore
from shared.app.controller import Controller
from shared.app.errors import UnavailableError
from shared.core.model import Config
from shared.http.auth import (
    ACTION_GROUP_APP_ID,
    AlertAuthenticator,
    ForbiddenError,
    UnauthenticatedError,
)
from shared.http.handlers import HttpApi
from shared.settings import SETTING_NAMES, Settings, SettingsError, StorageSettings, load_settings
from shared.wiring import build_api
from tests import alertfactory as af
from tests.core import FakeClock as FakeDateClock
from tests.core import group
from tests.entra import TENANT, V1_ISSUER, V2_ISSUER, OpenIdServer, Signer, edited, idp, signers

__all__ = ["idp", "signers"]  # fixtures, used by name

OTHER_TENANT = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
AUDIENCE = "api://vi-failover-alerts"
SECRET = "s3cr3t-0f-the-act10n-gr0up-url"
NOW = 1_900_000_000.0
ROLE = "ActionGroupsSecureWebhook"
CONFIG = Config(groups=(group(),))


class FakeClock:
    """Epoch seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def settings(
    authority: str = "https://login.microsoftonline.com", *, secret: str | None = None, aad: bool
) -> Settings:
    return Settings(
        config=CONFIG,
        storage=StorageSettings(connection_string="x=y"),
        alert_shared_secret=secret,
        alert_aad_tenant_id=TENANT if aad else None,
        alert_aad_audience=AUDIENCE if aad else None,
        alert_aad_authority=authority,
    )


def aad_auth(idp: OpenIdServer, clock: FakeClock, secret: str | None = None) -> AlertAuthenticator:
    return AlertAuthenticator.from_settings(
        settings(idp.url, secret=secret, aad=True), session=requests.Session(), clock=clock
    )


def claims(**changes: Any) -> dict[str, Any]:
    """A v1.0 token's claims as the secure webhook gets them; `...` deletes a claim."""
    base: dict[str, Any] = {
        "aud": AUDIENCE,
        "iss": V1_ISSUER,
        "tid": TENANT,
        "appid": ACTION_GROUP_APP_ID,
        "roles": [ROLE],
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 3600,
        "oid": "5a4c0f3e-1d2b-4c6a-8e9f-0a1b2c3d4e5f",
        "sub": "5a4c0f3e-1d2b-4c6a-8e9f-0a1b2c3d4e5f",
    }
    return edited(base, changes)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def outcome(
    auth: AlertAuthenticator,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> int:
    """The status the handler would answer: 200 when the check passes."""
    try:
        auth.check(params or {}, headers or {})
    except UnauthenticatedError:
        return 401
    except ForbiddenError:
        return 403
    except UnavailableError:
        return 503
    return 200


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], body: dict[str, Any], key: bytes | None) -> str:
    """A JWT put together by hand, HMAC-SHA256-signed with `key`, or unsigned when None."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
    if key is None:
        return signing_input + "."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


# --- claims ------------------------------------------------------------------------------------

V2 = {"iss": V2_ISSUER, "azp": ACTION_GROUP_APP_ID, "appid": ...}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, 200, id="valid-v1"),
        pytest.param(V2, 200, id="valid-v2"),
        pytest.param({"aud": ["api://other", AUDIENCE]}, 200, id="aud-list-holding-ours"),
        pytest.param({"tid": TENANT.upper()}, 200, id="tid-in-upper-case"),
        pytest.param({"exp": NOW - 30}, 200, id="expired-within-leeway"),
        pytest.param({"nbf": NOW + 30}, 200, id="nbf-within-leeway"),
        pytest.param({"nbf": ...}, 200, id="no-nbf"),
        pytest.param({"exp": NOW - 61}, 401, id="expired"),
        pytest.param({"exp": ...}, 401, id="no-exp"),
        pytest.param({"exp": "tomorrow"}, 401, id="exp-not-a-number"),
        pytest.param({"exp": float("nan")}, 401, id="exp-nan"),
        pytest.param({"exp": float("inf")}, 401, id="exp-infinite"),
        pytest.param({"nbf": float("nan")}, 401, id="nbf-nan"),
        pytest.param({"nbf": NOW + 61}, 401, id="not-yet-valid"),
        pytest.param({"aud": "api://someone-else"}, 401, id="wrong-aud"),
        pytest.param({"aud": ...}, 401, id="no-aud"),
        pytest.param({"tid": OTHER_TENANT}, 401, id="wrong-tid"),
        pytest.param({"tid": ...}, 401, id="no-tid"),
        pytest.param({"iss": f"https://sts.windows.net/{OTHER_TENANT}/"}, 401, id="wrong-iss"),
        pytest.param(
            {"iss": f"https://login.microsoftonline.com/{TENANT}/"},
            401,
            id="iss-v1-path-on-v2-host",
        ),
        pytest.param({"iss": ...}, 401, id="no-iss"),
        pytest.param({"appid": "00000000-0000-0000-0000-000000000001"}, 403, id="wrong-appid"),
        pytest.param({**V2, "azp": "00000000-0000-0000-0000-000000000001"}, 403, id="wrong-azp"),
        pytest.param(
            {"azp": "00000000-0000-0000-0000-000000000001"}, 403, id="right-appid-wrong-azp"
        ),
        pytest.param({"appid": ...}, 403, id="no-caller-app"),
        pytest.param({"roles": ...}, 403, id="no-roles"),
        pytest.param({"roles": ["Reader"]}, 403, id="other-role"),
        pytest.param({"roles": ROLE}, 403, id="roles-not-a-list"),
    ],
)
def test_secure_webhook_claims_decide_401_or_403(
    idp: OpenIdServer,
    clock: FakeClock,
    signers: tuple[Signer, ...],
    changes: dict[str, Any],
    expected: int,
) -> None:
    """Bad exp/nbf/tid/iss/aud is 401, a wrong caller app or role 403; 60 s leeway on time."""
    token = signers[0].sign(claims(**changes))

    assert expected == outcome(aad_auth(idp, clock), headers=bearer(token))


def _tampered(signer: Signer) -> str:
    header, _, signature = signer.sign(claims(roles=[])).split(".")
    return f"{header}.{_b64(json.dumps(claims()).encode())}.{signature}"


@pytest.mark.parametrize(
    "make_headers",
    [
        pytest.param(lambda s: {}, id="no-authorization-header"),
        pytest.param(lambda s: {"Authorization": ""}, id="empty-authorization"),
        pytest.param(lambda s: {"Authorization": "Basic dXNlcjpwYXNz"}, id="basic-scheme"),
        pytest.param(lambda s: {"Authorization": "Bearer"}, id="bearer-without-token"),
        pytest.param(lambda s: bearer("not-a-jwt"), id="malformed"),
        pytest.param(lambda s: bearer("a.b.c"), id="malformed-segments"),
        pytest.param(lambda s: bearer("x" * 20_000), id="too-long"),
        pytest.param(
            lambda s: bearer(forge({"alg": "none", "kid": s[0].kid}, claims(), None)),
            id="alg-none",
        ),
        pytest.param(
            lambda s: bearer(forge({"alg": "HS256", "kid": s[0].kid}, claims(), s[0].public_pem)),
            id="hs256-keyed-with-the-public-key",
        ),
        pytest.param(
            lambda s: bearer(jwt.encode(claims(), s[0].private_key, "RS512", {"kid": s[0].kid})),
            id="rs512-not-allowed",
        ),
        pytest.param(
            lambda s: bearer(jwt.encode(claims(), s[0].private_key, "PS256", {"kid": s[0].kid})),
            id="ps256-not-allowed",
        ),
        pytest.param(
            lambda s: bearer(Signer(s[0].kid, s[2].private_key).sign(claims())), id="bad-signature"
        ),
        pytest.param(lambda s: bearer(_tampered(s[0])), id="tampered-payload"),
        pytest.param(
            lambda s: bearer(jwt.encode(claims(), s[0].private_key, "RS256")), id="no-kid"
        ),
        pytest.param(
            lambda s: {"authorization": f"bearer {s[0].sign(claims(exp=1))}"},
            id="expired-lowercase-header",
        ),
    ],
)
def test_tokens_that_are_not_genuine_are_401(
    idp: OpenIdServer, clock: FakeClock, signers: tuple[Signer, ...], make_headers: Any
) -> None:
    """Missing, malformed, unsigned, HMAC-forged, non-RS256, mis-signed or tampered: 401."""
    headers = make_headers(signers)

    assert 401 == outcome(aad_auth(idp, clock), headers=headers)


def test_bearer_scheme_and_header_name_are_case_insensitive(
    idp: OpenIdServer, clock: FakeClock, signers: tuple[Signer, ...]
) -> None:
    """`authorization: bearer <token>` is as good as `Authorization: Bearer <token>`."""
    headers = {"authorization": f"bearer {signers[0].sign(claims())}"}

    assert 200 == outcome(aad_auth(idp, clock), headers=headers)


# --- signing keys ------------------------------------------------------------------------------


def test_keys_are_fetched_once_then_served_from_the_cache(
    idp: OpenIdServer, clock: FakeClock, signers: tuple[Signer, ...]
) -> None:
    """Building the authenticator fetches nothing; the first token fetches, later ones do not."""
    auth = aad_auth(idp, clock)
    fetches_at_start = idp.jwks_fetches

    results = [outcome(auth, headers=bearer(signers[0].sign(claims()))) for _ in range(3)]

    assert (0, [200, 200, 200], 1) == (fetches_at_start, results, idp.jwks_fetches)


def test_a_rotated_key_is_fetched_when_a_token_names_it(
    idp: OpenIdServer, clock: FakeClock, signers: tuple[Signer, ...]
) -> None:
    """After Entra ID rotates to key B, a token signed with B triggers a refetch and passes."""
    auth = aad_auth(idp, clock)
    outcome(auth, headers=bearer(signers[0].sign(claims())))
    idp.jwks = [signers[0].jwk, signers[1].jwk]
    clock.now += 120

    result = outcome(auth, headers=bearer(signers[1].sign(claims(exp=NOW + 3600))))

    assert (200, 2) == (result, idp.jwks_fetches)


def test_unknown_kids_are_401_and_refetch_at_most_once_a_minute(
    idp: OpenIdServer, clock: FakeClock, signers: tuple[Signer, ...]
) -> None:
    """A kid the tenant does not list is 401; a burst of them costs one fetch per 60 s."""
    auth = aad_auth(idp, clock)
    outcome(auth, headers=bearer(signers[0].sign(claims())))
    clock.now += 120
    junk = bearer(signers[2].sign(claims()))

    burst = [outcome(auth, headers=junk) for _ in range(20)]
    fetches_after_burst = idp.jwks_fetches
    clock.now += 59
    before_a_minute = outcome(auth, headers=junk)
    fetches_before_a_minute = idp.jwks_fetches
    clock.now += 1
    after_a_minute = outcome(auth, headers=junk)

    assert ([401] * 20, 2, 401, 2, 401, 3) == (
        burst,
        fetches_after_burst,
        before_a_minute,
        fetches_before_a_minute,
        after_a_minute,
        idp.jwks_fetches,
    )


def test_keys_are_refetched_after_a_day(
    idp: OpenIdServer, clock: FakeClock, signers: tuple[Signer, ...]
) -> None:
    """Held keys age out after 24 h; a key the tenant dropped stops working then."""
    auth = aad_auth(idp, clock)
    outcome(auth, headers=bearer(signers[0].sign(claims())))
    idp.jwks = [signers[1].jwk]
    clock.now += 24 * 3600 - 1
    day_token = claims(exp=clock.now + 3600, nbf=clock.now)
    still_held = outcome(auth, headers=bearer(signers[0].sign(day_token)))
    clock.now += 1
    later = claims(exp=clock.now + 3600, nbf=clock.now)

    dropped = outcome(auth, headers=bearer(signers[0].sign(later)))

    assert (200, 401, 2) == (still_held, dropped, idp.jwks_fetches)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param(lambda s: setattr(s, "status", 503), id="http-503"),
        pytest.param(lambda s: setattr(s, "status", 404), id="http-404"),
        pytest.param(
            lambda s: setattr(s, "config_override", {"issuer": V2_ISSUER}), id="no-jwks-uri"
        ),
        pytest.param(
            lambda s: setattr(s, "config_override", {"jwks_uri": "http://example.com/keys"}),
            id="jwks-uri-not-https",
        ),
        pytest.param(lambda s: setattr(s, "jwks", []), id="no-keys"),
        pytest.param(
            lambda s: setattr(s, "jwks", [{"kty": "oct", "kid": "key-a", "k": "c2VjcmV0"}]),
            id="only-a-symmetric-key",
        ),
    ],
)
def test_an_unreachable_key_endpoint_is_503(
    idp: OpenIdServer, clock: FakeClock, signers: tuple[Signer, ...], break_it: Any
) -> None:
    """Keys that cannot be fetched are 503 (the action group retries it), never 401."""
    break_it(idp)

    assert 503 == outcome(aad_auth(idp, clock), headers=bearer(signers[0].sign(claims())))


def test_a_refused_connection_to_the_authority_is_503(
    clock: FakeClock, signers: tuple[Signer, ...]
) -> None:
    """Nothing listening at the authority is 503 too."""
    authority = f"http://127.0.0.1:{_closed_port()}"
    auth = AlertAuthenticator.from_settings(
        settings(authority, aad=True), session=requests.Session(), clock=clock
    )

    assert 503 == outcome(auth, headers=bearer(signers[0].sign(claims())))


def test_after_an_outage_the_keys_are_fetched_again_a_minute_later(
    idp: OpenIdServer, clock: FakeClock, signers: tuple[Signer, ...]
) -> None:
    """Down: retries within 60 s fetch nothing and stay 503; a minute on, a delivery passes."""
    auth = aad_auth(idp, clock)
    token = bearer(signers[0].sign(claims()))
    idp.status = 503
    down = outcome(auth, headers=token)
    idp.status = 200
    clock.now += 30
    too_soon = outcome(auth, headers=token)
    fetches_too_soon = idp.jwks_fetches
    clock.now += 30

    recovered = outcome(auth, headers=token)

    assert (503, 503, 0, 200, 1) == (down, too_soon, fetches_too_soon, recovered, idp.jwks_fetches)


def test_held_keys_keep_serving_when_the_daily_refresh_fails(
    idp: OpenIdServer,
    clock: FakeClock,
    signers: tuple[Signer, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """During an Entra ID outage after a day, the keys already held still verify tokens."""
    auth = aad_auth(idp, clock)
    outcome(auth, headers=bearer(signers[0].sign(claims())))
    idp.status = 503
    clock.now += 24 * 3600 + 1

    with caplog.at_level(logging.WARNING, logger="shared.http.auth"):
        result = outcome(auth, headers=bearer(signers[0].sign(claims(exp=clock.now + 60))))

    assert (200, True) == (result, "still using the 1 held" in caplog.text)


# --- shared secret and combinations ------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({}, 401, id="missing"),
        pytest.param({"token": ""}, 401, id="empty"),
        pytest.param({"token": SECRET[:-1]}, 401, id="prefix"),
        pytest.param({"token": SECRET + "x"}, 401, id="longer"),
        pytest.param({"token": SECRET.upper()}, 401, id="other-case"),
        pytest.param({"code": SECRET}, 401, id="in-code-not-token"),
        pytest.param({"token": SECRET}, 200, id="right"),
        pytest.param({"token": SECRET, "code": "function-key"}, 200, id="right-beside-code"),
    ],
)
def test_the_shared_secret_must_come_exactly_in_token(
    params: dict[str, str], expected: int
) -> None:
    """ALERT_SHARED_SECRET passes only when `?token=` equals it exactly."""
    auth = AlertAuthenticator.from_settings(settings(secret=SECRET, aad=False))

    assert expected == outcome(auth, params=params)


def test_with_nothing_configured_every_delivery_passes() -> None:
    """No ALERT_* setting: the function key alone guards the route, so `check` passes."""
    auth = AlertAuthenticator.from_settings(settings(aad=False))

    assert (False, 200) == (auth.configured, outcome(auth, headers=bearer("junk")))


@pytest.mark.parametrize(
    ("secret_ok", "token_ok", "expected"),
    [(True, True, 200), (False, True, 401), (True, False, 401), (False, False, 401)],
    ids=["both", "secret-wrong", "token-wrong", "neither"],
)
def test_with_both_configured_both_must_pass(
    idp: OpenIdServer,
    clock: FakeClock,
    signers: tuple[Signer, ...],
    secret_ok: bool,
    token_ok: bool,
    expected: int,
) -> None:
    """The shared secret and the secure webhook token are each required when both are set."""
    token = signers[0].sign(claims() if token_ok else claims(aud="api://other"))
    params = {"token": SECRET if secret_ok else "wrong-wrong-wrong"}

    actual = outcome(aad_auth(idp, clock, secret=SECRET), params=params, headers=bearer(token))

    assert expected == actual


# --- through the handler -----------------------------------------------------------------------


class Api:
    """The alerts handler over an in-memory store."""

    def __init__(self, auth: AlertAuthenticator) -> None:
        ids = count(1)
        self.store = InMemoryStateStore()
        self.controller = Controller(CONFIG, self.store, FakeDateClock(), lambda: f"d{next(ids)}")
        self.api = HttpApi(settings(aad=False), lambda: self.controller, auth)

    def post(
        self,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> func.HttpResponse:
        request = func.HttpRequest(
            method="POST",
            url="http://127.0.0.1:7071/api/alerts",
            headers={"content-type": "application/json", **(headers or {})},
            params=params or {},
            route_params={},
            body=af.to_body(af.service_health()) if body is None else body,
        )
        return self.api.alerts(request)

    def audit(self) -> list[str]:
        return [record.action for record in self.controller.history(None, 100)]


def _body(response: func.HttpResponse) -> dict[str, Any]:
    value = json.loads(response.get_body())
    assert isinstance(value, dict)
    return value


def test_a_valid_delivery_goes_through_to_the_controller(
    idp: OpenIdServer, clock: FakeClock, signers: tuple[Signer, ...]
) -> None:
    """The right secret and a valid token: the alert is processed and the group fails over."""
    api = Api(aad_auth(idp, clock, secret=SECRET))

    response = api.post({"token": SECRET}, bearer(signers[0].sign(claims())))

    assert (200, "failed_over") == (response.status_code, _body(response)["outcome"])


@pytest.mark.parametrize(
    ("params", "changes", "status", "error"),
    [
        pytest.param({}, {}, 401, "Unauthorized", id="no-secret"),
        pytest.param({"token": SECRET}, None, 401, "Unauthorized", id="no-bearer"),
        pytest.param({"token": SECRET}, {"exp": NOW - 3600}, 401, "Unauthorized", id="expired"),
        pytest.param({"token": SECRET}, {"roles": []}, 403, "Forbidden", id="no-role"),
        pytest.param({"token": SECRET}, {"appid": "x"}, 403, "Forbidden", id="wrong-caller"),
    ],
)
def test_refused_deliveries_write_nothing_and_leak_nothing(
    idp: OpenIdServer,
    clock: FakeClock,
    signers: tuple[Signer, ...],
    caplog: pytest.LogCaptureFixture,
    params: dict[str, str],
    changes: dict[str, Any] | None,
    status: int,
    error: str,
) -> None:
    """401/403 carry their error code, write no audit line, and never show secret or token."""
    api = Api(aad_auth(idp, clock, secret=SECRET))
    token = signers[0].sign(claims(**changes)) if changes is not None else None
    wrong_secret_token = signers[0].sign(claims())

    with caplog.at_level(logging.DEBUG):
        response = api.post(params, bearer(token) if token else {})
        wrong = api.post({"token": "not-" + SECRET}, bearer(wrong_secret_token))

    text = response.get_body().decode() + wrong.get_body().decode() + caplog.text
    leaked = [s for s in (SECRET, token, wrong_secret_token, "not-" + SECRET) if s and s in text]
    assert (status, error, [], [], 401) == (
        response.status_code,
        _body(response)["error"],
        api.audit(),
        leaked,
        wrong.status_code,
    )


def test_401_challenges_for_a_bearer_token_only_when_the_secure_webhook_is_on(
    idp: OpenIdServer, clock: FakeClock
) -> None:
    """`WWW-Authenticate: Bearer` comes with a 401 when a token is expected, not otherwise."""
    with_aad = Api(aad_auth(idp, clock)).post()
    secret_only = Api(AlertAuthenticator.from_settings(settings(secret=SECRET, aad=False))).post()

    assert ("Bearer", None) == (
        with_aad.headers.get("WWW-Authenticate"),
        secret_only.headers.get("WWW-Authenticate"),
    )


def test_credentials_are_checked_before_the_body(idp: OpenIdServer, clock: FakeClock) -> None:
    """An unauthenticated request is 401 even when its size, type and body are all wrong."""
    api = Api(aad_auth(idp, clock))
    headers = {"content-length": str(10 * 1024 * 1024), "content-type": "image/png"}

    response = api.post(headers=headers, body=b"\x89PNG not json")

    assert (401, []) == (response.status_code, api.audit())


def test_an_unreachable_key_endpoint_answers_503_with_retry_after(
    idp: OpenIdServer, clock: FakeClock, signers: tuple[Signer, ...]
) -> None:
    """The handler answers 503 AuthUnavailable with Retry-After, and writes nothing."""
    idp.status = 503
    api = Api(aad_auth(idp, clock))

    response = api.post(headers=bearer(signers[0].sign(claims())))

    assert (503, "AuthUnavailable", "10", []) == (
        response.status_code,
        _body(response)["error"],
        response.headers.get("Retry-After"),
        api.audit(),
    )


def test_the_default_handler_has_no_alert_authentication() -> None:
    """HttpApi(settings, controller) still works as before: no ALERT_* check."""
    ids = count(1)
    controller = Controller(CONFIG, InMemoryStateStore(), FakeDateClock(), lambda: f"d{next(ids)}")
    api = HttpApi(settings(aad=False), lambda: controller)
    request = func.HttpRequest(
        method="POST",
        url="http://127.0.0.1:7071/api/alerts",
        headers={"content-type": "application/json"},
        params={},
        route_params={},
        body=af.to_body(af.service_health()),
    )

    assert 200 == api.alerts(request).status_code


# --- settings and wiring -----------------------------------------------------------------------

RID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.VideoIndexer/accounts/"
BASE_ENV = {
    "FAILOVER_CONFIG": json.dumps(
        {
            "groups": [
                {
                    "name": "default",
                    "accounts": [
                        {"name": n, "accountId": n, "location": n, "resourceId": RID + n}
                        for n in ("eastus", "westus")
                    ],
                }
            ]
        }
    ),
    "FailoverStorage": "UseDevelopmentStorage=true",
}


def test_alert_settings_parse() -> None:
    """The four ALERT_* settings parse; the tenant is lower-cased, the authority's slash dropped."""
    env = {
        **BASE_ENV,
        "ALERT_SHARED_SECRET": f"  {SECRET}  ",
        "ALERT_AAD_TENANT_ID": TENANT.upper(),
        "ALERT_AAD_AUDIENCE": AUDIENCE,
        "ALERT_AAD_AUTHORITY": "https://login.microsoftonline.us/",
    }

    parsed = load_settings(env)

    assert (SECRET, TENANT, AUDIENCE, "https://login.microsoftonline.us") == (
        parsed.alert_shared_secret,
        parsed.alert_aad_tenant_id,
        parsed.alert_aad_audience,
        parsed.alert_aad_authority,
    )


def test_alert_settings_default_to_off() -> None:
    """Unset or blank ALERT_* settings leave authentication to the function key."""
    parsed = load_settings({**BASE_ENV, "ALERT_SHARED_SECRET": "  ", "ALERT_AAD_AUTHORITY": ""})

    assert (None, None, None, "https://login.microsoftonline.com") == (
        parsed.alert_shared_secret,
        parsed.alert_aad_tenant_id,
        parsed.alert_aad_audience,
        parsed.alert_aad_authority,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"ALERT_AAD_TENANT_ID": TENANT},
            "ALERT_AAD_TENANT_ID and ALERT_AAD_AUDIENCE",
            id="tenant-without-audience",
        ),
        pytest.param(
            {"ALERT_AAD_AUDIENCE": AUDIENCE},
            "ALERT_AAD_TENANT_ID and ALERT_AAD_AUDIENCE",
            id="audience-without-tenant",
        ),
        pytest.param(
            {"ALERT_AAD_TENANT_ID": "contoso.onmicrosoft.com", "ALERT_AAD_AUDIENCE": AUDIENCE},
            "ALERT_AAD_TENANT_ID: 'contoso.onmicrosoft.com' is not a tenant id",
            id="tenant-not-a-guid",
        ),
        pytest.param(
            {"ALERT_AAD_AUTHORITY": "http://login.example.com"},
            "ALERT_AAD_AUTHORITY",
            id="authority-http-not-loopback",
        ),
        pytest.param(
            {"ALERT_AAD_AUTHORITY": "ftp://127.0.0.1"}, "ALERT_AAD_AUTHORITY", id="authority-ftp"
        ),
        pytest.param(
            {"ALERT_AAD_AUTHORITY": "https://login.example.com?x=1"},
            "ALERT_AAD_AUTHORITY",
            id="authority-with-query",
        ),
        pytest.param(
            {"ALERT_SHARED_SECRET": "short-secret"},
            "ALERT_SHARED_SECRET: 12 characters",
            id="short",
        ),
    ],
)
def test_bad_alert_settings_fail_naming_the_key(env: dict[str, str], message: str) -> None:
    """Each bad ALERT_* value stops the app with an error that names the setting."""
    with pytest.raises(SettingsError) as raised:
        load_settings({**BASE_ENV, **env})

    assert message in str(raised.value)


def test_the_shared_secret_is_never_echoed() -> None:
    """A rejected secret is not in the error, and a valid one is not in the settings' repr."""
    with pytest.raises(SettingsError) as raised:
        load_settings({**BASE_ENV, "ALERT_SHARED_SECRET": "tooshort123"})
    parsed = load_settings({**BASE_ENV, "ALERT_SHARED_SECRET": SECRET})

    assert (False, False) == ("tooshort123" in str(raised.value), SECRET in repr(parsed))


@pytest.mark.parametrize("authority", ["http://127.0.0.1:8080", "http://localhost:9000/"])
def test_a_loopback_authority_may_be_plain_http(authority: str) -> None:
    """Tests and local stand-ins serve the OpenID configuration over http on loopback."""
    env = {**BASE_ENV, "ALERT_AAD_AUTHORITY": authority}

    assert authority.rstrip("/") == load_settings(env).alert_aad_authority


def test_the_alert_settings_are_listed() -> None:
    """SETTING_NAMES (the README's table, the infrastructure's app settings) has all four."""
    names = (
        "ALERT_SHARED_SECRET",
        "ALERT_AAD_TENANT_ID",
        "ALERT_AAD_AUDIENCE",
        "ALERT_AAD_AUTHORITY",
    )

    assert [] == [name for name in names if name not in SETTING_NAMES]


def test_start_up_warns_once_when_only_the_function_key_guards_alerts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Building the app with no ALERT_* setting logs one WARNING saying so."""
    with caplog.at_level(logging.INFO, logger="shared.wiring"):
        build_api(BASE_ENV)

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 == sum("function key is the only guard" in w for w in warnings)


def test_start_up_fetches_no_key_and_logs_no_secret(
    idp: OpenIdServer, caplog: pytest.LogCaptureFixture
) -> None:
    """With every ALERT_* setting, building the app fetches nothing and logs no secret."""
    env = {
        **BASE_ENV,
        "ALERT_SHARED_SECRET": SECRET,
        "ALERT_AAD_TENANT_ID": TENANT,
        "ALERT_AAD_AUDIENCE": AUDIENCE,
        "ALERT_AAD_AUTHORITY": idp.url,
    }

    with caplog.at_level(logging.DEBUG):
        build_api(env)

    assert (0, False, True) == (
        idp.jwks_fetches,
        SECRET in caplog.text,
        "shared secret (?token=) and secure webhook" in caplog.text,
    )
