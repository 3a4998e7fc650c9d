"""Video Indexer helpers for the active account: its data-plane URL and an access token."""

from __future__ import annotations

from typing import Literal

import requests
from azure.core.credentials import TokenCredential

from vi_failover_client.account import ActiveAccount
from vi_failover_client.sources import network_reason

VI_BASE_URL = "https://api.videoindexer.ai"
ARM_BASE_URL = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
VI_API_VERSION = "2025-04-01"

Permission = Literal["Reader", "Contributor"]
Scope = Literal["Account", "Project", "Video"]


class AccessTokenError(Exception):
    """ARM would not issue a VI access token; the message never holds a token."""


def data_plane_url(account: ActiveAccount, vi_base_url: str = VI_BASE_URL) -> str:
    """`{vi}/{location}/Accounts/{accountId}`, the root of the account's VI API calls."""
    if not account.location or not account.account_id:
        raise ValueError(
            f"{account.name}: the flag has no location or accountId; give both in FAILOVER_CONFIG"
        )
    # ARM may report "East US"; the VI API wants "eastus".
    location = "".join(account.location.split()).lower()
    return f"{vi_base_url.rstrip('/')}/{location}/Accounts/{account.account_id}"


def access_token(
    account: ActiveAccount,
    credential: TokenCredential,
    *,
    permission: Permission = "Contributor",
    scope: Scope = "Account",
    video_id: str | None = None,
    project_id: str | None = None,
    arm_base_url: str = ARM_BASE_URL,
    arm_scope: str = ARM_SCOPE,
    session: requests.Session | None = None,
    timeout: float = 10.0,
) -> str:
    """A VI access token for the account, from ARM's `generateAccessToken`.

    `credential` is any azure-identity credential; its identity needs Contributor on the VI
    account, whichever permission the token is for.
    """
    if not account.resource_id:
        raise ValueError(f"{account.name}: the flag has no resourceId")
    url = (
        f"{arm_base_url.rstrip('/')}{account.resource_id}/generateAccessToken"
        f"?api-version={VI_API_VERSION}"
    )
    body: dict[str, str] = {"permissionType": permission, "scope": scope}
    if video_id is not None:
        body["videoId"] = video_id
    if project_id is not None:
        body["projectId"] = project_id
    bearer = credential.get_token(arm_scope).token
    http = session if session is not None else requests.Session()
    try:
        response = http.post(
            url, json=body, headers={"Authorization": f"Bearer {bearer}"}, timeout=timeout
        )
    except requests.Timeout:
        raise AccessTokenError(
            f"generateAccessToken for {account.name}: timed out after {timeout:g} s"
        ) from None
    except requests.RequestException as exc:
        raise AccessTokenError(
            f"generateAccessToken for {account.name}: unreachable ({network_reason(exc)})"
        ) from None
    finally:
        if session is None:
            http.close()
    if not 200 <= response.status_code < 300:
        raise AccessTokenError(
            f"generateAccessToken for {account.name} answered {response.status_code}"
            f"{_arm_error(response)}"
        )
    try:
        token = response.json().get("accessToken")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        raise AccessTokenError(
            f"generateAccessToken for {account.name} answered {response.status_code} "
            "without an accessToken"
        )
    return token


def _arm_error(response: requests.Response) -> str:
    """`: Code: message` from ARM's error body; ARM's own words, never our request."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return ""
    code = error.get("code") if isinstance(error.get("code"), str) else ""
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    text = ": ".join(part for part in (code, message) if part)
    return f": {text[:300]}" if text else ""
