"""Who an operator is: a Microsoft Entra ID token with the Failover.Operator role, App Service
Authentication's principal, or break-glass with the master key; never the body or a header the
caller sets. Tokens come from a tenant served over real HTTP (tests/entra.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from shared.adapters.memory_store import InMemoryStateStore
from shared.app.controller import Controller
from shared.core.model import Config
from shared.http.handlers import HttpApi
from shared.http.operators import OperatorAuthenticator
from shared.settings import Settings, SettingsError, StorageSettings, load_settings
from tests.apicontract import checked
from tests.core import WEST, FakeClock, group
from tests.entra import TENANT, V2_ISSUER, OpenIdServer, Signer, edited, idp, signers
from tests.funcrequests import body_of, request

__all__ = ["idp", "signers"]  # fixtures, used by name

AUDIENCE = "api://vi-failover-operators"
NOW = 1_900_000_000.0
MOVE: dict[str, object] = {"to": WEST.name, "reason": "East US is flaky"}


def claims(**changes: Any) -> dict[str, Any]:
    """An operator's v2.0 access token claims; `...` deletes a claim."""
    base: dict[str, Any] = {
        "aud": AUDIENCE,
        "iss": V2_ISSUER,
        "tid": TENANT,
        "azp": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",  # the Azure CLI
        "roles": ["Failover.Operator"],
        "preferred_username": "oncall@contoso.example",
        "name": "On Call",
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 3600,
    }
    return edited(base, changes)


class Stack:
    """The handlers over an in-memory store, with operators identified in one mode."""

    def __init__(self, operators: OperatorAuthenticator) -> None:
        config = Config(groups=(group(),))
        self.store = InMemoryStateStore()
        self.controller = Controller(config, self.store, FakeClock())
        settings = Settings(config=config, storage=StorageSettings(connection_string="x=y"))
        self.api = HttpApi(settings, lambda: self.controller, operators=operators)

    def move(
        self, headers: dict[str, str], body: dict[str, object] = MOVE
    ) -> tuple[int, dict[str, Any]]:
        sent = request("POST", "failover", body=json.dumps(body).encode(), headers=headers)
        response = checked(sent, self.api.failover(sent))
        return response.status_code, body_of(response)

    def break_glass(self, body: dict[str, object] = MOVE) -> tuple[int, dict[str, Any]]:
        sent = request("POST", "failover/break-glass", body=json.dumps(body).encode())
        response = checked(sent, self.api.failover_break_glass(sent))
        return response.status_code, body_of(response)

    def actors(self) -> list[str]:
        return [r.actor for r in self.store.history(["default"], 10, unmatched=False)]


def entra(idp: OpenIdServer) -> Stack:
    settings = Settings(
        config=Config(groups=(group(),)),
        storage=StorageSettings(connection_string="x=y"),
        alert_aad_authority=idp.url,
        operator_auth="entra",
        operator_aad_tenant_id=TENANT,
        operator_aad_audience=AUDIENCE,
    )
    operators = OperatorAuthenticator.from_settings(
        settings, session=requests.Session(), clock=lambda: NOW
    )
    return Stack(operators)


def bearer(signer: Signer, **changes: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {signer.sign(claims(**changes))}"}


def test_an_operator_token_with_the_role_moves_and_names_the_actor(
    idp: OpenIdServer, signers: tuple[Signer, Signer, Signer]
) -> None:
    """The actor is the signed-in user the token names, not the spoofed principal header."""
    stack = entra(idp)
    headers = {**bearer(signers[0]), "x-ms-client-principal-name": "someone-else@contoso.example"}

    status, body = stack.move(headers)

    assert (200, "moved") == (status, body["outcome"])
    assert ["oncall@contoso.example"] == stack.actors()


@pytest.mark.parametrize(
    ("changes", "status", "needle"),
    [
        ({"roles": ["Reader"]}, 403, "Failover.Operator role"),
        ({"roles": ...}, 403, "Failover.Operator role"),
        ({"aud": "api://another-app"}, 401, "audience"),
        ({"iss": "https://login.microsoftonline.com/another/v2.0"}, 401, "issuer"),
        ({"exp": NOW - 3600}, 401, "expired"),
        ({"tid": "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"}, 401, "tenant"),
    ],
    ids=["no operator role", "no roles", "other audience", "other issuer", "expired", "tenant"],
)
def test_tokens_that_do_not_prove_an_operator_are_refused_and_move_nothing(
    idp: OpenIdServer,
    signers: tuple[Signer, Signer, Signer],
    changes: dict[str, Any],
    status: int,
    needle: str,
) -> None:
    """401 when the token does not prove who it is, 403 when it does but lacks the role."""
    stack = entra(idp)

    answer, body = stack.move(bearer(signers[0], **changes))

    assert status == answer
    assert needle in str(body["message"])
    assert ([], None) == (stack.actors(), stack.store.load_group("default"))


def test_no_token_and_a_spoofed_principal_header_is_401(idp: OpenIdServer) -> None:
    """A caller that only sets x-ms-client-principal-name proves nothing."""
    stack = entra(idp)

    status, body = stack.move({"x-ms-client-principal-name": "admin@contoso.example"})

    assert (401, "Unauthorized") == (status, body["error"])
    assert [] == stack.actors()


def principal(roles: list[str], name: str = "oncall@contoso.example") -> dict[str, str]:
    """The headers App Service Authentication sets for a signed-in principal."""
    encoded = {
        "auth_typ": "aad",
        "name_typ": "preferred_username",
        "role_typ": "roles",
        "claims": [{"typ": "preferred_username", "val": name}]
        + [{"typ": "roles", "val": r} for r in roles],
    }
    return {
        "x-ms-client-principal": base64.b64encode(json.dumps(encoded).encode()).decode(),
        "x-ms-client-principal-name": name,
    }


def test_with_app_service_authentication_the_platform_principal_is_the_actor() -> None:
    """The principal App Service put in front of the request, with the role, moves the group."""
    stack = Stack(OperatorAuthenticator("app-service"))

    status, _ = stack.move(principal(["Failover.Operator"]))
    refused, body = stack.move(principal([], name="visitor@contoso.example"))

    assert (200, 403) == (status, refused)
    assert "Failover.Operator" in str(body["message"])
    assert ["oncall@contoso.example"] == stack.actors()


def test_unconfigured_sign_in_is_401_and_break_glass_is_audited_as_such() -> None:
    """Without operator sign-in, POST /api/failover names the settings; the break-glass route
    (behind the master key) moves the group with the actor saying so."""
    stack = Stack(OperatorAuthenticator(""))

    refused, body = stack.move({})
    moved, _ = stack.break_glass()

    assert (401, 200) == (refused, moved)
    assert "OPERATOR_AAD_TENANT_ID" in str(body["message"])
    assert ["break-glass (master key)"] == stack.actors()


def test_the_body_cannot_name_the_actor() -> None:
    """An `actor` field is refused, naming it; the actor is who signed in."""
    stack = Stack(OperatorAuthenticator("local"))

    status, body = stack.move({}, {**MOVE, "actor": "ceo@contoso.example"})

    assert (400, "InvalidRequest") == (status, body["error"])
    assert str(body["message"]).startswith("actor:")


def _account(name: str, location: str) -> dict[str, str]:
    rid = f"/subscriptions/s/resourceGroups/r/providers/Microsoft.VideoIndexer/accounts/{name}"
    return {"name": name, "resourceId": rid, "accountId": f"{name}-id", "location": location}


BASE_ENV = {
    "FAILOVER_CONFIG": json.dumps(
        {"groups": [{"name": "g", "accounts": [_account("e", "eastus"), _account("w", "westus")]}]}
    ),
    "FailoverStorage": "UseDevelopmentStorage=true",
}
SECRET = {"ALERT_SHARED_SECRET": "s3cr3t-0f-the-act10n-gr0up-url"}
IN_AZURE = {"WEBSITE_SITE_NAME": "vi-failover-prod"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({**IN_AZURE, **SECRET, "OPERATOR_AUTH": "local"}, "OPERATOR_AUTH=local"),
        ({**IN_AZURE}, "ALERT_SHARED_SECRET or ALERT_AAD_TENANT_ID"),
        ({"OPERATOR_AUTH": "entra"}, "OPERATOR_AUTH=entra needs OPERATOR_AAD_TENANT_ID"),
        ({"OPERATOR_AUTH": "everyone"}, "OPERATOR_AUTH: 'everyone' is not one of"),
        ({"OPERATOR_AAD_TENANT_ID": TENANT}, "OPERATOR_AAD_AUDIENCE is not set"),
    ],
    ids=["local in Azure", "unguarded alerts in Azure", "entra without tenant", "unknown", "half"],
)
def test_unsafe_access_settings_stop_the_app_naming_the_key(
    env: dict[str, str], named: str
) -> None:
    """The app refuses to start with a posture that lets readers act, naming the setting."""
    with pytest.raises(SettingsError, match=named):
        load_settings({**BASE_ENV, **env})


def test_entra_is_the_mode_once_the_tenant_and_audience_are_set() -> None:
    """OPERATOR_AAD_* alone turn operator sign-in on; in Azure with the secret the app starts."""
    loaded = load_settings(
        {
            **BASE_ENV,
            **IN_AZURE,
            **SECRET,
            "OPERATOR_AAD_TENANT_ID": TENANT,
            "OPERATOR_AAD_AUDIENCE": AUDIENCE,
        }
    )

    assert ("entra", TENANT, AUDIENCE) == (
        loaded.operator_auth,
        loaded.operator_aad_tenant_id,
        loaded.operator_aad_audience,
    )
