"""A tenant's token-signing keys, fetched from its OpenID configuration and cached: the keys
that validate the secure webhook's bearer tokens (`shared.http.auth`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from shared.app.errors import AuthUnavailableError
from shared.settings import is_secure_url

log = logging.getLogger(__name__)

# Entra ID signs access tokens with RS256 only; anything else is a forgery or alg confusion.
ALGORITHM = "RS256"
KEYS_MAX_AGE_SECONDS = 24 * 60 * 60.0
KEYS_REFRESH_INTERVAL_SECONDS = 60.0
# Two fetches fit in the action group's ~10 s, with the answer still to send.
FETCH_TIMEOUT_SECONDS = 3.0

Clock = Callable[[], float]  # seconds since the epoch, as JWT `exp` and `nbf` are


class UnauthenticatedError(Exception):
    """The delivery's credentials are missing or invalid (401)."""


class SigningKeysUnavailableError(AuthUnavailableError):
    """The tenant's token-signing keys cannot be fetched; 503, so the action group retries."""


class _FetchError(Exception):
    """One attempt to fetch the signing keys failed."""


class SigningKeys:
    """A tenant's RS256 signing keys, from its OpenID configuration, cached in memory.

    Keys are fetched again after `max_age`, and early when a token names an unknown `kid`
    (Entra ID rotates keys), but at most once per `refresh_interval`, so tokens with made-up
    kids cannot hammer the endpoint. When a fetch fails the keys already held keep serving:
    this app matters most during outages, and the keys it holds are still the tenant's.
    """

    def __init__(
        self,
        openid_configuration_url: str,
        *,
        session: requests.Session,
        clock: Clock = time.time,
        max_age: float = KEYS_MAX_AGE_SECONDS,
        refresh_interval: float = KEYS_REFRESH_INTERVAL_SECONDS,
        timeout: float = FETCH_TIMEOUT_SECONDS,
    ) -> None:
        self._url = openid_configuration_url
        self._session = session
        self._clock = clock
        self._max_age = max_age
        self._refresh_interval = refresh_interval
        self._timeout = timeout
        # Held across a fetch: concurrent deliveries wait for one fetch instead of each making
        # their own, and the session is never used by two threads at once.
        self._lock = threading.Lock()
        self._keys: dict[str, RSAPublicKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._last_error: str | None = None

    def key_for(self, kid: str) -> RSAPublicKey:
        """The key named `kid`; else UnauthenticatedError or SigningKeysUnavailableError."""
        with self._lock:
            now = self._clock()
            key = self._keys.get(kid)
            expired = self._fetched_at is None or now - self._fetched_at >= self._max_age
            if (key is None or expired) and self._may_fetch(now):
                self._refresh(now)
                key = self._keys.get(kid)
            if key is not None:
                return key
            if self._last_error is not None:
                raise SigningKeysUnavailableError(self._last_error)
        raise UnauthenticatedError("the token is signed with a key (kid) the tenant does not list")

    def _may_fetch(self, now: float) -> bool:
        if self._attempted_at is None:
            return True
        # A clock that stepped back must not block fetching until it catches up.
        return not 0 <= now - self._attempted_at < self._refresh_interval

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            keys = self._fetch()
        except _FetchError as exc:
            self._last_error = f"token-signing keys unavailable: {exc}"
            held = f"; still using the {len(self._keys)} held" if self._keys else ""
            log.warning("%s%s", self._last_error, held)
            return
        self._keys, self._fetched_at, self._last_error = keys, now, None
        log.info("fetched %d token-signing key(s): %s", len(keys), ", ".join(sorted(keys)))

    def _fetch(self) -> dict[str, RSAPublicKey]:
        config = self._get_json(self._url, "OpenID configuration")
        jwks_uri = config.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not is_secure_url(jwks_uri):
            raise _FetchError(f"{self._url}: no https jwks_uri")
        keys = _rsa_keys(self._get_json(jwks_uri, "JWKS"))
        if not keys:
            raise _FetchError(f"{jwks_uri}: no usable RS256 signing key")
        return keys

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            # No redirects: a discovery document that moves elsewhere is not to be trusted.
            response = self._session.get(url, timeout=self._timeout, allow_redirects=False)
        except requests.RequestException as exc:
            raise _FetchError(f"{what} {url}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise _FetchError(f"{what} {url}: HTTP {response.status_code}")
        try:
            value = response.json()
        except ValueError:
            raise _FetchError(f"{what} {url}: not JSON") from None
        if not isinstance(value, dict):
            raise _FetchError(f"{what} {url}: not a JSON object")
        return value


def _rsa_keys(jwks: Mapping[str, Any]) -> dict[str, RSAPublicKey]:
    keys: dict[str, RSAPublicKey] = {}
    entries = jwks.get("keys")
    for jwk in entries if isinstance(entries, list) else []:
        if not (
            isinstance(jwk, dict)
            and jwk.get("kty") == "RSA"
            and jwk.get("use", "sig") == "sig"
            and jwk.get("alg", ALGORITHM) == ALGORITHM
            and isinstance(jwk.get("kid"), str)
            and jwk["kid"]
        ):
            continue
        try:
            key = RSAAlgorithm.from_jwk(jwk)
        except (jwt.PyJWTError, ValueError, TypeError):
            continue  # one bad entry must not cost the tenant its other keys
        if isinstance(key, RSAPublicKey):  # a published private key is a mistake; skip it
            keys[jwk["kid"]] = key
    return keys
