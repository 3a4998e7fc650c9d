"""Every account of a group, and tokens for each: AccountRef, data-plane URLs, cached tokens, and
ids that are not Azure's never reaching a URL, so never receiving a token.

Real parts: the ARM/VI stand-in on a local port, and a local endpoint for the client.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from typing import Any

import pytest
import requests
from azure.data.tables import TableClient
from vi_failover_client import (
    AccessTokenError,
    AccessTokens,
    AccountRef,
    ActiveAccountClient,
    InsecureURLError,
    InvalidAccountError,
    UnknownAccountError,
    VideoLocations,
    access_token,
    data_plane_url,
)
from vi_failover_client.vi import token_expiry

from devhost.azurite import Azurite
from devhost.standin import AzureStandIn
from tests.activeaccount_server import ActiveAccountServer, view
from tests.clientkit import StaticCredential, westus
from tests.hosting import DEMO_CONFIG

ARM_TOKEN = "arm-client-5e1a7c9d3b2f4068"
SUB = "9b2c4e71-5d3a-4f0e-8c6b-2a7d1e9f4c30"


class WallClock:
    """Seconds since the epoch that move only when told, from now."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def demo_accounts() -> list[AccountRef]:
    """The demo configuration's two accounts."""
    config = json.loads(DEMO_CONFIG.read_text())
    return [AccountRef.from_dict(a) for a in config["groups"][0]["accounts"]]


def test_a_token_from_arm_opens_the_accounts_data_plane() -> None:
    """ARM's token for the account, from access_token, opens its API at data_plane_url."""
    credential = StaticCredential(ARM_TOKEN)
    with AzureStandIn.from_config(str(DEMO_CONFIG), arm_token=ARM_TOKEN) as standin:
        account = westus(location="West US")
        token = access_token(account, credential, permission="Reader", arm_base_url=standin.url)
        videos = requests.get(
            f"{data_plane_url(account, standin.url)}/Videos?pageSize=1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        by_query = requests.get(
            f"{data_plane_url(account.ref, standin.url)}/Videos",
            params={"pageSize": "1", "accessToken": token},
            timeout=10,
        )
        issued, seen = standin.issued_tokens, standin.requests_seen

    assert [token] == issued
    assert (200, 200) == (videos.status_code, by_query.status_code)
    assert [("https://management.azure.com/.default",)] == credential.scopes
    assert ("POST", f"{account.resource_id}/generateAccessToken?api-version=2025-04-01") == seen[0]
    assert token not in json.dumps(seen)
    assert f"https://api.videoindexer.ai/westus/Accounts/{account.account_id}" == data_plane_url(
        account
    )


def test_a_refused_token_names_arms_error_and_never_the_bearer() -> None:
    """A 403 from generateAccessToken is an AccessTokenError with ARM's code, without tokens."""
    with AzureStandIn.from_config(str(DEMO_CONFIG), arm_token=ARM_TOKEN) as standin:
        standin.set_behaviour("contoso-westus", "token-forbidden")

        with pytest.raises(AccessTokenError) as raised:
            access_token(westus(), StaticCredential(ARM_TOKEN), arm_base_url=standin.url)

    assert "answered 403: AuthorizationFailed" in str(raised.value)
    assert ARM_TOKEN not in str(raised.value)


HOSTILE_RESOURCE_IDS = [
    ".evil.example/x",
    "@evil.example/subscriptions/x",
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.VideoIndexer/accounts/a/../../x",
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a",
    "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.VideoIndexer/accounts/a",
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.VideoIndexer/accounts/a?x=1",
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.VideoIndexer/accounts/a#frag",
]


@pytest.mark.parametrize("resource_id", HOSTILE_RESOURCE_IDS)
def test_a_hostile_resource_id_never_receives_a_token(resource_id: str) -> None:
    """A resource id that is not a VI account's (as a tampered entity or file could hold) is
    refused before the credential is asked and before any request, through either helper."""
    credential = StaticCredential(ARM_TOKEN)
    with AzureStandIn.from_config(str(DEMO_CONFIG)) as standin:
        with pytest.raises(InvalidAccountError) as one_shot:
            access_token(westus(resource_id=resource_id), credential, arm_base_url=standin.url)
        with pytest.raises(InvalidAccountError):
            AccessTokens(credential, arm_base_url=standin.url).get(westus(resource_id=resource_id))
        seen = standin.requests_seen

    assert ([], []) == (credential.scopes, seen)
    assert "resourceId must be /subscriptions/<guid>" in str(one_shot.value)


@pytest.mark.parametrize(
    "changes",
    [
        {"location": "eastus.evil.example"},
        {"location": "eastus/../x"},
        {"account_id": "../../evil"},
        {"account_id": "3377bbfd-a83c-486f-8108-e85cdbc7d561/../x"},
        {"location": ""},
    ],
    ids=["host-in-location", "path-in-location", "path-in-id", "suffix-on-id", "no-location"],
)
def test_a_hostile_location_or_account_id_builds_no_data_plane_url(changes: dict[str, str]) -> None:
    """Locations are letters and digits, account ids GUIDs; anything else builds no URL."""
    with pytest.raises(InvalidAccountError):
        data_plane_url(westus(**changes))


@pytest.mark.parametrize(
    "arm_base_url", ["http://management.example", "https://management.azure.com/x"]
)
def test_arm_tokens_go_over_https_to_the_configured_host_only(arm_base_url: str) -> None:
    """An ARM base that is http to another host, or has a path, is refused by name."""
    credential = StaticCredential(ARM_TOKEN)

    with pytest.raises(ValueError, match="arm_base_url"):
        access_token(westus(), credential, arm_base_url=arm_base_url)

    assert [] == credential.scopes


def test_vi_tokens_go_over_https_to_the_configured_host_only() -> None:
    """A VI base over http to a host other than loopback is refused, naming the setting."""
    with pytest.raises(InsecureURLError, match="vi_base_url"):
        data_plane_url(westus(), "http://api.example")


def test_tokens_are_cached_per_account_until_shortly_before_they_expire() -> None:
    """One fetch per account and permission while the token is good; a new one within the
    margin before expiry; the API version is overridable."""
    clock = WallClock()
    east, west = demo_accounts()
    with AzureStandIn.from_config(str(DEMO_CONFIG), token_lifetime_seconds=600) as standin:
        tokens = AccessTokens(
            StaticCredential(ARM_TOKEN),
            arm_base_url=standin.url,
            api_version="2024-01-01",
            refresh_margin=120,
            clock=clock,
        )
        first = [tokens.get(east), tokens.get(east), tokens.get(west)]
        reader = tokens.get(east, permission="Reader")
        clock.now += 470  # 130 s before expiry: still good
        still = tokens.get(east)
        clock.now += 20  # 110 s before expiry: within the margin
        renewed = tokens.get(east)
        paths = [p for _, p in standin.requests_seen]

    assert first[0] == first[1] == still
    assert len({first[0], first[2], reader, renewed}) == 4
    assert 4 == tokens.fetches
    assert all(p.endswith("/generateAccessToken?api-version=2024-01-01") for p in paths)


def test_concurrent_callers_share_one_token_fetch_per_account() -> None:
    """Eight threads asking at once for the same account make ARM issue one token."""
    (east, _) = demo_accounts()
    with AzureStandIn.from_config(str(DEMO_CONFIG)) as standin:
        tokens = AccessTokens(StaticCredential(ARM_TOKEN), arm_base_url=standin.url)
        start = threading.Barrier(8)
        got: list[str] = []

        def fetch() -> None:
            start.wait(timeout=10)
            got.append(tokens.get(east))

        threads = [threading.Thread(target=fetch) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        issued = standin.issued_tokens

    assert (8, 1, 1) == (len(got), len(set(got)), len(issued))


def test_a_jwt_shaped_token_gives_its_expiry_and_an_opaque_one_none() -> None:
    """token_expiry reads `exp` from a JWT's payload without checking it; else None."""
    payload = "eyJleHAiOiAxNzAwMDAwMDAwfQ"  # {"exp": 1700000000}

    assert 1_700_000_000 == token_expiry(f"e30.{payload}.sig")
    assert token_expiry("opaque-token") is None
    assert token_expiry("a.!!!.c") is None


# --- AccountRef and the group's accounts -------------------------------------------------------


def test_an_account_ref_round_trips_through_json_and_normalises_its_location() -> None:
    """to_json/from_json give the same ref; "West US" is stored as westus."""
    ref = replace(westus(location="West US").ref)

    text = ref.to_json()

    assert ref == AccountRef.from_json(text)
    assert "westus" == json.loads(text)["location"]
    assert {"name", "accountId", "location", "resourceId"} == set(json.loads(text))


@pytest.mark.parametrize(
    "data",
    [
        {"name": "a"},
        {"name": "a b", "accountId": "x", "location": "eastus", "resourceId": "/x"},
        "not an object",
    ],
)
def test_an_account_ref_from_bad_json_is_refused(data: Any) -> None:
    """Missing or malformed fields raise InvalidAccountError, naming what is wrong."""
    with pytest.raises(InvalidAccountError):
        AccountRef.from_dict(data)


def test_the_client_knows_every_account_of_its_group_from_the_apps_config() -> None:
    """accounts= (the app's FAILOVER_CONFIG) gives every account; account(name) finds each."""
    with (
        ActiveAccountServer(view("contoso-westus", 2)) as endpoint,
        ActiveAccountClient(
            group="default", endpoints=[endpoint.url], accounts=str(DEMO_CONFIG)
        ) as client,
    ):
        active = client.get()
        names = [a.name for a in client.accounts()]
        east = client.account("contoso-eastus")
        with pytest.raises(UnknownAccountError, match="contoso-nowhere"):
            client.account("contoso-nowhere")

    assert ["contoso-eastus", "contoso-westus"] == names
    assert active.ref == client.account("contoso-westus")
    assert demo_accounts()[0] == east


def test_without_the_config_the_client_knows_the_accounts_the_flag_named() -> None:
    """With no accounts given, accounts() holds every account the flag has named so far."""
    with (
        ActiveAccountServer(view("contoso-westus", 2)) as endpoint,
        ActiveAccountClient(group="default", endpoints=[endpoint.url]) as client,
    ):
        client.get()
        before = [a.name for a in client.accounts()]
        endpoint.serve(view("contoso-eastus", 3))
        client.refresh()
        after = [a.name for a in client.accounts()]

    assert (["contoso-westus"], ["contoso-westus", "contoso-eastus"]) == (before, after)


# --- VideoLocations ----------------------------------------------------------------------------


def test_video_locations_remember_and_locate_each_videos_account(
    azurite: Azurite, table_name: str
) -> None:
    """remember() then locate() gives the ref back; a later remember replaces it; unknown: None."""
    east, west = demo_accounts()
    locations = VideoLocations.from_connection_string(azurite.connection_string, table_name)

    locations.remember("5f0c2b91d4", west)
    first = locations.locate("5f0c2b91d4")
    locations.remember("5f0c2b91d4", east)
    replaced = locations.locate("5f0c2b91d4")
    unknown = locations.locate("0000000000")
    with pytest.raises(ValueError, match="video_id"):
        locations.locate("a/b")
    locations.close()

    assert (west, east, None) == (first, replaced, unknown)


def test_a_tampered_video_location_is_refused(azurite: Azurite, table_name: str) -> None:
    """A stored resourceId that is not a VI account's raises instead of reaching a URL."""
    locations = VideoLocations.from_connection_string(azurite.connection_string, table_name)
    locations.remember("5f0c2b91d4", demo_accounts()[0])
    table = TableClient.from_connection_string(azurite.connection_string, table_name)
    table.update_entity({"PartitionKey": "video", "RowKey": "5f0c2b91d4", "resourceId": ".evil/x"})

    with pytest.raises(InvalidAccountError):
        locations.locate("5f0c2b91d4")
    locations.close()
