"""The ARM adapter: read a Video Indexer account and mint a data-plane access token for it.

SDK and HTTP errors are translated here, once, into `ArmError` subclasses a caller can act on.
Their messages carry the evidence (method, path, status, a short body excerpt, elapsed time)
and never a token or a query string.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceResponseError,
)
from azure.mgmt.resource.resources import ResourceManagementClient

from shared.app.errors import ArmUnavailableError
from shared.core.model import ArmAccount, normalize_region
from shared.setting_values import is_secure_url

API_VERSION = "2025-04-01"
PUBLIC_ARM = "https://management.azure.com"
_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)/", re.IGNORECASE)
_EXCERPT_CHARS = 160


class ArmError(ArmUnavailableError):
    """ARM could not answer as needed; the message says what was seen."""


class ArmNotFoundError(ArmError):
    """The resource does not exist (404): the configuration names a missing account."""


class ArmAuthError(ArmError):
    """The credential failed, or ARM refused it (401/403): fix the identity or its role."""


class ArmNoAnswerError(ArmError):
    """No usable answer: connection error, timeout, 429, 5xx, or a malformed body."""


class ArmRequestError(ArmError):
    """ARM rejected the request itself (another 4xx): a bad resource id or API version."""


class StaticTokenCredential:
    """A TokenCredential that returns one fixed token: for the local stand-in only."""

    def __init__(self, token: str, *, lifetime_seconds: int = 3600) -> None:
        self._token = token
        self._lifetime = lifetime_seconds

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """The fixed token, valid for another `lifetime_seconds`, whatever the scope."""
        return AccessToken(self._token, int(time.time()) + self._lifetime)

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"  # the token must not reach a log


def credential_scope(base_url: str) -> str:
    """The token scope for an ARM endpoint: `https://<host>/.default`, sovereign clouds included."""
    return f"https://{urlsplit(base_url).hostname or 'management.azure.com'}/.default"


class ArmClient:
    """Reads VI accounts through ARM; builds its SDK clients on first use (no I/O at start)."""

    def __init__(
        self, credential: TokenCredential, *, base_url: str = PUBLIC_ARM, timeout: float = 5.0
    ) -> None:
        self._credential = credential
        self._base_url = base_url.rstrip("/")
        self._scope = credential_scope(base_url)
        self._timeout = timeout
        # azure-core refuses bearer tokens over plain http; only a local stand-in on the
        # loopback interface may speak it.
        plain = urlsplit(self._base_url)
        if not is_secure_url(self._base_url):
            raise ValueError(f"ARM base URL {self._base_url}: https is required off loopback")
        self._operation_options = {"enforce_https": False} if plain.scheme == "http" else {}
        self._clients: dict[str, ResourceManagementClient] = {}
        self._lock = threading.Lock()

    def get_account(self, resource_id: str) -> ArmAccount:
        """GET the account resource; raises an ArmError subclass."""
        where = f"ARM GET {resource_id}"
        client = self._client_for(resource_id)
        started = time.perf_counter()
        try:
            resource = client.resources.get_by_id(
                resource_id, api_version=API_VERSION, **self._operation_options
            )
        except ClientAuthenticationError as exc:  # a 401, or the credential itself failed
            raise ArmAuthError(_describe_azure(where, exc, started)) from exc
        except ResourceNotFoundError as exc:
            raise ArmNotFoundError(_describe_azure(where, exc, started)) from exc
        except HttpResponseError as exc:
            kind = _error_for_status(exc.status_code or 0)
            raise kind(_describe_azure(where, exc, started)) from exc
        except (AzureError, ValueError) as exc:
            # Connection failures, timeouts and bodies that do not decode all mean "no answer".
            raise ArmNoAnswerError(_describe_azure(where, exc, started)) from exc
        properties = resource.properties if isinstance(resource.properties, dict) else {}
        fields = {
            "location": resource.location,
            "properties.accountId": properties.get("accountId"),
            "properties.provisioningState": properties.get("provisioningState"),
        }
        # An empty string is as missing as an absent field: "" is no location and no account.
        if missing := [
            name for name, value in fields.items() if not isinstance(value, str) or not value
        ]:
            raise ArmNoAnswerError(
                f"{where} → 200 in {_ms(started)} ms without {', '.join(missing)}"
            )
        return ArmAccount(
            resource_id=resource.id or resource_id,
            location=normalize_region(str(fields["location"])),
            account_id=str(fields["properties.accountId"]),
            provisioning_state=str(fields["properties.provisioningState"]),
        )

    def generate_access_token(
        self, resource_id: str, *, permission: str = "Reader", scope: str = "Account"
    ) -> str:
        """POST generateAccessToken and return the VI access token; raises an ArmError subclass."""
        path = f"{resource_id}/generateAccessToken"
        where = f"ARM POST {path}"
        bearer = self._bearer(where)
        started = time.perf_counter()
        try:
            # A throwaway session per call: requests.Session is not documented as thread-safe,
            # and one call per probe gains nothing from a pool.
            response = requests.post(
                f"{self._base_url}{path}",
                params={"api-version": API_VERSION},
                json={"permissionType": permission, "scope": scope},
                headers={"Authorization": f"Bearer {bearer}"},
                timeout=(self._timeout, self._timeout),
                allow_redirects=False,  # a redirect would carry the bearer token elsewhere
            )
        except requests.Timeout as exc:
            raise ArmNoAnswerError(f"{where} timed out after {_ms(started)} ms") from exc
        except requests.RequestException as exc:
            raise ArmNoAnswerError(f"{where} failed: {transport_reason(exc)}") from exc
        seen = f"{where} → {response.status_code} in {_ms(started)} ms"
        if response.status_code != 200:
            kind = _error_for_status(response.status_code)
            raise kind(f"{seen}: {excerpt(response.text)}")
        # Never quote a 200 body: it is, or holds, the token.
        try:
            answer = response.json()
        except ValueError as exc:
            raise ArmNoAnswerError(f"{seen}, but the body is not JSON") from exc
        token = answer.get("accessToken") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise ArmNoAnswerError(f"{seen}, but the answer has no accessToken")
        return token

    def close(self) -> None:
        """Close the SDK clients' connection pools."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def _bearer(self, where: str) -> str:
        try:
            return self._credential.get_token(self._scope).token
        except ClientAuthenticationError as exc:
            raise ArmAuthError(f"{where}: the credential failed: {excerpt(exc.message)}") from exc

    def _client_for(self, resource_id: str) -> ResourceManagementClient:
        found = _SUBSCRIPTION.match(resource_id)
        if found is None:
            raise ArmRequestError(f"{resource_id!r} is not an ARM resource id")
        subscription = found.group(1)
        with self._lock:
            if subscription not in self._clients:
                self._clients[subscription] = ResourceManagementClient(
                    self._credential,
                    subscription,
                    base_url=self._base_url,
                    credential_scopes=[self._scope],
                    connection_timeout=self._timeout,
                    read_timeout=self._timeout,
                    # One quick retry of a refused connection, nothing more: a read retry doubles
                    # the wait, and a status retry sleeps for ARM's Retry-After, unbounded. The
                    # next probe is the retry.
                    retry_total=1,
                    retry_read=0,
                    retry_status=0,
                    retry_backoff_factor=0.2,
                    retry_backoff_max=1,
                )
            return self._clients[subscription]


def _error_for_status(status: int) -> type[ArmError]:
    if status in (401, 403):
        return ArmAuthError
    if status == 404:
        return ArmNotFoundError
    if 400 <= status < 500 and status not in (408, 429):
        return ArmRequestError
    return ArmNoAnswerError  # 408, 429, 5xx, and a 200 whose body did not decode


def _describe_azure(where: str, exc: BaseException, started: float) -> str:
    elapsed = f"{_ms(started)} ms"
    if isinstance(exc, HttpResponseError) and exc.response is not None:
        status = exc.status_code
        body = excerpt(exc.response.text()) if status != 200 else "the body does not decode"
        return f"{where} → {status} in {elapsed}: {body}"
    if isinstance(exc, ServiceResponseError) and "timed out" in str(exc).lower():
        return f"{where} timed out after {elapsed}"
    if isinstance(exc, ClientAuthenticationError):
        return f"{where}: the credential failed: {excerpt(exc.message)}"
    return f"{where} failed after {elapsed}: {transport_reason(exc)}"


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def excerpt(text: str) -> str:
    """A short, one-line rendering of an error body: ARM's `code: message`, else the text."""
    try:
        error = json.loads(text)
    except ValueError:
        error = None
    if isinstance(error, dict):
        inner = error.get("error", error)
        if isinstance(inner, dict):  # ARM's {"error": {code, message}}; VI's {ErrorType, Message}
            code = inner.get("code") or inner.get("ErrorType")
            message = inner.get("message") or inner.get("Message")
            if code or message:
                text = f"{code}: {message}" if code and message else str(code or message)
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else flat[: _EXCERPT_CHARS - 1] + "…"


def transport_reason(exc: BaseException) -> str:
    """The root cause of a connection failure, e.g. `[Errno 111] Connection refused`."""
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    return found.group(0).strip() if found else f"{type(exc).__name__}: {excerpt(str(exc))}"
