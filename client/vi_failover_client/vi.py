"""Video Indexer helpers for any account of a group: its data-plane URL and access tokens.

Both take an `AccountRef` or an `ActiveAccount`, check its ids as Azure issues them, and check
that the URL they build goes to exactly the configured ARM or VI host before a token is sent.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Literal
from urllib.parse import urlsplit

import requests
from azure.core.credentials import TokenCredential

from vi_failover_client.account import ActiveAccount
from vi_failover_client.refs import AccountRef
from vi_failover_client.sources import network_reason
from vi_failover_client.urls import InsecureURLError, is_loopback, same_origin, service_base

VI_BASE_URL = "https://api.videoindexer.ai"
ARM_BASE_URL = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"
VI_API_VERSION = "2025-04-01"
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")

Permission = Literal["Reader", "Contributor"]
Scope = Literal["Account", "Project", "Video"]
Account = AccountRef | ActiveAccount


class AccessTokenError(Exception):
    """ARM would not issue a VI access token; the message never holds a token."""


def as_ref(account: Account) -> AccountRef:
    """The account's checked reference; InvalidAccountError when an id is missing or malformed."""
    return account if isinstance(account, AccountRef) else account.ref


def data_plane_url(account: Account, vi_base_url: str = VI_BASE_URL) -> str:
    """`{vi}/{location}/Accounts/{accountId}`, the root of the account's VI API calls."""
    ref = as_ref(account)
    base = service_base(vi_base_url, setting="vi_base_url")
    url = f"{base}/{ref.location}/Accounts/{ref.account_id}"
    if not same_origin(url, base):  # cannot happen with checked ids; a token follows this URL
        raise InsecureURLError(f"{ref.name}: the data-plane URL leaves {base}")
    return url


def access_token(
    account: Account,
    credential: TokenCredential,
    *,
    permission: Permission = "Contributor",
    scope: Scope = "Account",
    video_id: str | None = None,
    project_id: str | None = None,
    arm_base_url: str = ARM_BASE_URL,
    arm_scope: str | None = None,
    api_version: str = VI_API_VERSION,
    session: requests.Session | None = None,
    timeout: float = 10.0,
) -> str:
    """A new VI access token for the account, from ARM's `generateAccessToken`.

    `credential` is any azure-identity credential; its identity needs Contributor on the VI
    account, whichever permission the token is for. `AccessTokens` caches these.
    """
    ref = as_ref(account)
    base = service_base(arm_base_url, setting="arm_base_url")
    if not _API_VERSION.fullmatch(api_version):
        raise ValueError(f"api_version: a date such as {VI_API_VERSION}, got {api_version!r}")
    url = f"{base}{ref.resource_id}/generateAccessToken?api-version={api_version}"
    if not same_origin(url, base):  # belt and braces: the bearer goes to this URL
        raise InsecureURLError(f"{ref.name}: generateAccessToken would leave {base}")
    body: dict[str, str] = {"permissionType": permission, "scope": scope}
    if video_id is not None:
        body["videoId"] = video_id
    if project_id is not None:
        body["projectId"] = project_id
    bearer = credential.get_token(arm_scope or _scope_of(base)).token
    http = session if session is not None else requests.Session()
    what = f"generateAccessToken for {ref.name}"
    try:
        response = http.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=timeout,
            allow_redirects=False,  # a redirect would carry the bearer elsewhere
        )
    except requests.Timeout:
        raise AccessTokenError(f"{what}: timed out after {timeout:g} s") from None
    except requests.RequestException as exc:
        raise AccessTokenError(f"{what}: unreachable ({network_reason(exc)})") from None
    finally:
        if session is None:
            http.close()
    if not 200 <= response.status_code < 300:
        raise AccessTokenError(f"{what} answered {response.status_code}{_arm_error(response)}")
    try:
        token = response.json().get("accessToken")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        raise AccessTokenError(f"{what} answered {response.status_code} without an accessToken")
    return token


class AccessTokens:
    """VI access tokens cached per account (and permission, scope, video, project) until
    `refresh_margin` seconds before they expire; one fetch at a time per account."""

    def __init__(
        self,
        credential: TokenCredential,
        *,
        arm_base_url: str = ARM_BASE_URL,
        arm_scope: str | None = None,
        api_version: str = VI_API_VERSION,
        refresh_margin: float = 300.0,
        default_lifetime: float = 3600.0,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        session: requests.Session | None = None,
    ) -> None:
        self._credential = credential
        self._arm = service_base(arm_base_url, setting="arm_base_url")
        self._arm_scope = arm_scope
        if not _API_VERSION.fullmatch(api_version):
            raise ValueError(f"api_version: a date such as {VI_API_VERSION}, got {api_version!r}")
        self._api_version = api_version
        self._margin = refresh_margin
        self._default_lifetime = default_lifetime
        self._timeout = timeout
        self._clock = clock
        self._session = session
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}  # key -> (token, refresh at)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.fetches = 0  # tokens fetched from ARM so far

    def __repr__(self) -> str:
        return f"AccessTokens(arm={self._arm!r}, cached={len(self._tokens)})"

    def get(
        self,
        account: Account,
        *,
        permission: Permission = "Contributor",
        scope: Scope = "Account",
        video_id: str | None = None,
        project_id: str | None = None,
    ) -> str:
        """A token for the account: the cached one while it is good, else a new one."""
        ref = as_ref(account)
        key = (ref.resource_id.lower(), permission, scope, video_id or "", project_id or "")
        cached = self._tokens.get(key)
        if cached is not None and self._clock() < cached[1]:
            return cached[0]
        with self._guard:
            lock = self._locks.setdefault(key[0], threading.Lock())
        with lock:  # one fetch at a time per account; the others then find it cached
            cached = self._tokens.get(key)
            if cached is not None and self._clock() < cached[1]:
                return cached[0]
            token = access_token(
                ref,
                self._credential,
                permission=permission,
                scope=scope,
                video_id=video_id,
                project_id=project_id,
                arm_base_url=self._arm,
                arm_scope=self._arm_scope,
                api_version=self._api_version,
                session=self._session,
                timeout=self._timeout,
            )
            self.fetches += 1
            now = self._clock()
            expires = token_expiry(token) or now + self._default_lifetime
            lifetime = max(0.0, expires - now)
            self._tokens[key] = (token, now + max(lifetime - self._margin, lifetime / 2))
            return token


def token_expiry(token: str) -> float | None:
    """The `exp` (seconds since the epoch) of a JWT-shaped token, unverified; None otherwise.

    Only to know when to fetch a new one: VI checks the signature, not us.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _scope_of(arm_base: str) -> str:
    # Sovereign clouds' ARM is its own audience; a local stand-in takes any token.
    return ARM_SCOPE if is_loopback(urlsplit(arm_base).hostname) else f"{arm_base}/.default"


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
