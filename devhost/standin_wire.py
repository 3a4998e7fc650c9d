"""What ARM and the VI API answer for an account in each behaviour, in their wire format.

Each answer is a `Reply` value; the stand-in's HTTP handler sends it (or holds it, for `slow`
and `hang`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from devhost.standin_accounts import Accounts, AccountState
from devhost.standin_reply import Reply, vi_error
from devhost.standin_videos import VideoRequest, video_reply

TENANT_ID = "00000000-0000-4000-8000-00000000cafe"  # made up: ARM reports one, nobody checks it
# ARM reports display names; the probe must normalise them, so the stand-in does not.
_DISPLAY_NAMES = {
    "eastus": "East US",
    "eastus2": "East US 2",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
    "centralus": "Central US",
    "northeurope": "North Europe",
    "westeurope": "West Europe",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
}


@dataclass(frozen=True)
class Options:
    """How the stand-in plays its behaviours."""

    arm_token: str | None  # None: any bearer token passes ARM's check
    slow_seconds: float
    hang_seconds: float
    retry_after_seconds: int
    token_lifetime_seconds: float = 3600.0  # VI's access tokens last an hour


def arm_error(status: int, code: str, message: str) -> Reply:
    """ARM's error shape."""
    return Reply(status, {"error": {"code": code, "message": message}})


def arm_reply(
    accounts: Accounts,
    options: Options,
    *,
    method: str,
    resource_id: str,
    token_action: bool,  # POST .../generateAccessToken rather than GET of the resource
    versioned: bool,  # whether the query has api-version
    bearer: str,
    body: bytes,
) -> Reply:
    """ARM's answer to a GET of the account resource or its generateAccessToken action."""
    if not versioned:
        return arm_error(
            400, "MissingApiVersionParameter", "The api-version query parameter is required."
        )
    if not bearer or (options.arm_token is not None and bearer != options.arm_token):
        reason = "has no bearer token" if not bearer else "has an invalid bearer token"
        return arm_error(401, "AuthenticationFailed", f"The request {reason}.")
    state = accounts.by_resource_id(resource_id)
    if state is None or state.behaviour == "missing":
        parts = resource_id.split("/")
        return arm_error(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.VideoIndexer/accounts/{parts[-1]}' under resource group "
            f"'{parts[4]}' was not found. For more details please go to "
            "https://aka.ms/ARMResourceNotFoundFix",
        )
    if method != ("POST" if token_action else "GET"):
        return arm_error(405, "MethodNotAllowed", f"{method} is not supported.")
    if not token_action:
        return Reply(200, arm_resource(state))
    if state.behaviour == "token-down":
        return arm_error(503, "ServiceUnavailable", "The service is unavailable.")
    if state.behaviour == "token-forbidden":
        return arm_error(
            403,
            "AuthorizationFailed",
            "The client does not have authorization to perform action "
            "'Microsoft.VideoIndexer/accounts/generateAccessToken/action'.",
        )
    permission = _token_permission(body)
    if permission is None:
        return arm_error(
            400,
            "InvalidRequestContent",
            'Want {"permissionType": "Reader"|"Contributor", "scope": "Account"|…}.',
        )
    token = accounts.issue_token(state, permission, options.token_lifetime_seconds)
    return Reply(200, {"accessToken": token})


def vi_reply(
    accounts: Accounts,
    options: Options,
    location: str,
    account_id: str,
    bearer: str,
    video: VideoRequest | None = None,
) -> Reply:
    """The VI API's answer to listing an account's videos, or to `video`: an upload or an index
    read (devhost/standin_videos.py)."""
    if not bearer:
        return vi_error(401, "USER_NOT_ALLOWED", "An access token is required.")
    state = accounts.by_data_plane_id(location, account_id)
    if state is None or state.behaviour == "missing":
        return vi_error(
            404, "ACCOUNT_NOT_FOUND", f"No account {account_id} in location {location}."
        )
    call = accounts.vi_call(state, bearer)
    behaviour = call.behaviour
    if call.token_for != state.account.name or behaviour == "unauthorized":
        return vi_error(401, "USER_NOT_ALLOWED", "The access token is not valid.")
    if behaviour == "forbidden":
        return vi_error(403, "USER_NOT_ALLOWED", "Not allowed to list videos.")
    if behaviour == "unhealthy":
        return vi_error(503, "GENERAL", "The service is temporarily unavailable.")
    if behaviour == "throttled" or (behaviour == "throttled-once" and call.calls % 2 == 1):
        retry_after = {"Retry-After": str(options.retry_after_seconds)}
        return vi_error(429, "TOO_MANY_REQUESTS", "Rate limit exceeded.", retry_after)
    if behaviour == "hang":
        return Reply(delay=options.hang_seconds, answer=False)  # the client sees a timeout
    delay = options.slow_seconds if behaviour == "slow" else 0.0
    if behaviour == "malformed":
        return Reply(200, b'{"results": [', content_type="application/json", delay=delay)
    if video is not None:
        return video_reply(accounts, state, call.permission, video)
    page = {"results": [], "nextPage": {"pageSize": 1, "skip": 0, "done": True}}
    return Reply(200, page, delay=delay)


def _token_permission(body: bytes) -> str | None:
    """The permission a valid generateAccessToken body asks for; None for an invalid body."""
    try:
        request = json.loads(body)
    except ValueError:
        return None
    if not isinstance(request, dict) or request.get("scope") not in ("Account", "Project", "Video"):
        return None
    permission = request.get("permissionType")
    return permission if permission in ("Reader", "Contributor") else None


def arm_resource(state: AccountState) -> dict[str, object]:
    """The account as ARM's GET of a `Microsoft.VideoIndexer/accounts` resource shows it."""
    account = state.account
    subscription, group = account.resource_id.split("/")[2], account.resource_id.split("/")[4]
    name = account.resource_id.rsplit("/", 1)[1]
    storage = re.sub(r"[^a-z0-9]", "", name.lower())[:22] + "sa"
    failed = state.behaviour == "provisioning-failed"
    return {
        "id": account.resource_id,
        "name": name,
        "type": "Microsoft.VideoIndexer/accounts",
        "location": _DISPLAY_NAMES.get(account.location, account.location),
        "properties": {
            "accountId": account.account_id,
            "accountName": name,
            "provisioningState": "Failed" if failed else "Succeeded",
            "tenantId": TENANT_ID,
            "storageServices": {
                "resourceId": f"/subscriptions/{subscription}/resourceGroups/{group}"
                f"/providers/Microsoft.Storage/storageAccounts/{storage}"
            },
            "publicNetworkAccess": "Enabled",
        },
    }
