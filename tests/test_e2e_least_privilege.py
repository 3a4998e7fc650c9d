"""Who may do what, over HTTP on the local host with keys laid out as the deployment lays them
out: the action group's own key on `alerts`, the readers' key on the read functions, the master
key for break-glass, operators signed in with Microsoft Entra ID."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from tests import alertfactory as af
from tests import apicontract as api
from tests.entra import TENANT, V2_ISSUER, OpenIdServer, Signer, idp, signers
from tests.hosting import HostProcess

__all__ = ["idp", "signers"]  # fixtures used below

ACTION_GROUP_KEY = "ag-1f9c3e7a5b2d48c0"
READER_KEY = "rd-6b0e2a9d4c7f13e5"
MASTER_KEY = "mk-2d8a5c1f7e3b90a4"
SHARED_SECRET = "ss-9e4b7d2a6c1f05b8e3"
AUDIENCE = "api://vi-failover-operators"
READ_FUNCTIONS = ("active_account", "status", "history", "groups", "console")


def function_keys() -> str:
    """LOCAL_FUNCTION_KEYS as the deployment creates them (infra/README.md)."""
    keys: dict[str, dict[str, str]] = {"alerts": {"action-group": ACTION_GROUP_KEY}}
    keys.update({name: {"readers": READER_KEY} for name in READ_FUNCTIONS})
    return json.dumps(keys)


@pytest.fixture
def host(azurite: Azurite, table_name: str, idp: OpenIdServer) -> Iterator[HostProcess]:
    env = {
        "LOCAL_FUNCTION_KEYS": function_keys(),
        "LOCAL_MASTER_KEY": MASTER_KEY,
        "ALERT_SHARED_SECRET": SHARED_SECRET,
        "OPERATOR_AUTH": "entra",
        "OPERATOR_AAD_TENANT_ID": TENANT,
        "OPERATOR_AAD_AUDIENCE": AUDIENCE,
        "ALERT_AAD_AUTHORITY": idp.url,
    }
    with HostProcess(azurite.connection_string, table_name, **env) as process:
        yield process


def rows(azurite: Azurite, table: str) -> list[dict[str, Any]]:
    """Every row of the state table (none when it was never created)."""
    client = TableServiceClient.from_connection_string(azurite.connection_string)
    if table not in {t.name for t in client.list_tables()}:
        return []
    return list(client.get_table_client(table).list_entities())


def operator_token(signer: Signer, **changes: Any) -> str:
    now = time.time()
    claims: dict[str, Any] = {
        "aud": AUDIENCE,
        "iss": V2_ISSUER,
        "tid": TENANT,
        "azp": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "roles": ["Failover.Operator"],
        "preferred_username": "oncall@contoso.example",
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 3600,
        **changes,
    }
    return signer.sign(claims)


def post(url: str, **kwargs: Any) -> requests.Response:
    return api.post(url, timeout=30, **kwargs)


def test_a_readers_credential_cannot_raise_an_alert_and_writes_nothing(
    host: HostProcess, azurite: Azurite, table_name: str
) -> None:
    """The readers' key opens the read routes only; even with the shared secret guessed
    right it cannot reach `alerts`, and the action group's key without the secret is refused
    by the app. Nothing is written by any refusal."""
    alert = af.to_body(af.service_health())
    reader = {"x-functions-key": READER_KEY}
    refused = [
        post(f"{host.url}/alerts", data=alert, headers=reader).status_code,
        post(f"{host.url}/alerts?token={SHARED_SECRET}", data=alert, headers=reader).status_code,
        post(f"{host.url}/alerts?code={READER_KEY}", data=alert).status_code,
        post(f"{host.url}/alerts?code={ACTION_GROUP_KEY}", data=alert).status_code,
        post(f"{host.url}/alerts?code={ACTION_GROUP_KEY}&token=wrong", data=alert).status_code,
        post(f"{host.url}/failover/break-glass", json={"reason": "x"}, headers=reader).status_code,
    ]
    written = rows(azurite, table_name)
    reads = [
        api.get(f"{host.url}/{route}", headers=reader, timeout=30).status_code
        for route in ("active-account", "status", "history")
    ]
    accepted = post(f"{host.url}/alerts?code={ACTION_GROUP_KEY}&token={SHARED_SECRET}", data=alert)

    assert ([401] * 6, [], [200, 200, 200]) == (refused, written, reads)
    assert (200, "failed_over") == (accepted.status_code, accepted.json()["outcome"])


def test_the_action_groups_key_opens_nothing_but_alerts(host: HostProcess) -> None:
    key = {"x-functions-key": ACTION_GROUP_KEY}

    statuses = [
        api.get(f"{host.url}/status", headers=key, timeout=30).status_code,
        api.get(f"{host.url}/history", headers=key, timeout=30).status_code,
        post(f"{host.url}/failover/break-glass", json={"reason": "x"}, headers=key).status_code,
    ]

    assert [401, 401, 401] == statuses


def test_a_spoofed_principal_never_becomes_the_actor(
    host: HostProcess, signers: tuple[Signer, Signer, Signer], azurite: Azurite, table_name: str
) -> None:
    """Headers any caller can set, a body `actor`, a token of a key nobody publishes and a
    token without the role move nothing; a signed-in operator moves and is the actor; the
    master key moves as break-glass."""
    current, _, unpublished = signers
    move = {"to": "contoso-westus", "reason": "drill", "force": True}
    reader = {"x-functions-key": READER_KEY}
    spoofed = {
        "x-ms-client-principal-name": "ceo@contoso.example",
        "X-MS-CLIENT-PRINCIPAL": "eyJ1c2VyRGV0YWlscyI6ICJjZW9AY29udG9zby5leGFtcGxlIn0=",
    }
    refused = [
        post(f"{host.url}/failover", json=move, headers=spoofed).status_code,
        post(
            f"{host.url}/failover", json=move, headers={"x-functions-key": READER_KEY}
        ).status_code,
        post(
            f"{host.url}/failover",
            json=move,
            headers={"Authorization": f"Bearer {operator_token(unpublished)}"},
        ).status_code,
        post(
            f"{host.url}/failover",
            json=move,
            headers={"Authorization": f"Bearer {operator_token(current, roles=[])}"},
        ).status_code,
        post(
            f"{host.url}/failover",
            json={**move, "actor": "ceo@contoso.example"},
            headers={"Authorization": f"Bearer {operator_token(current)}"},
        ).status_code,
    ]
    written = rows(azurite, table_name)
    signed_in = post(
        f"{host.url}/failover",
        json=move,
        headers={**spoofed, "Authorization": f"Bearer {operator_token(current)}"},
    )
    back = {"to": "contoso-eastus", "reason": "sign-in down", "force": True}
    glass = post(
        f"{host.url}/failover/break-glass", json=back, headers={"x-functions-key": MASTER_KEY}
    )
    history = api.get(f"{host.url}/history", headers=reader, timeout=30).json()["records"]

    assert ([401, 401, 401, 403, 400], []) == (refused, written)
    assert (200, 200) == (signed_in.status_code, glass.status_code)
    assert [
        ("moved", "break-glass (master key)"),
        ("moved", "oncall@contoso.example"),
    ] == [(r["action"], r["actor"]) for r in history]
