"""Who may deliver alerts: a shared secret in `?token=`, a secure-webhook bearer token, or both.

The Functions platform checks the function key before any of this runs. Messages name what is
wrong and never the secret or the token, because they reach logs and 401 bodies.
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from collections.abc import Mapping
from typing import Any, TypeGuard

import jwt
import requests

from shared.http.signing_keys import ALGORITHM, Clock, SigningKeys, UnauthenticatedError
from shared.settings import Settings

__all__ = ["ACTION_GROUP_APP_ID", "AlertAuthenticator", "ForbiddenError", "UnauthenticatedError"]

log = logging.getLogger(__name__)

# "AzNS AAD Webhook": the first-party app Azure Monitor action groups get their tokens as.
ACTION_GROUP_APP_ID = "461e8683-5575-4561-ac7f-899cc907d62a"
SECURE_WEBHOOK_ROLE = "ActionGroupsSecureWebhook"
LEEWAY_SECONDS = 60.0
MAX_TOKEN_CHARS = 16 * 1024


class ForbiddenError(Exception):
    """The caller proved who it is but is not an action group's secure webhook (403)."""


def accepted_issuers(tenant_id: str) -> frozenset[str]:
    """The `iss` values of the tenant's v1.0 and v2.0 access tokens."""
    return frozenset(
        {
            f"https://sts.windows.net/{tenant_id}/",
            f"https://login.microsoftonline.com/{tenant_id}/v2.0",
        }
    )


def check_claims(
    claims: Mapping[str, Any], *, tenant_id: str, audience: str, now: float, leeway: float
) -> None:
    """Check a signature-verified token's claims; 401 for who-it-is, 403 for what-it-may-do."""
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not _is_number(exp):
        raise UnauthenticatedError("the token has no numeric exp claim")
    if now >= exp + leeway:
        raise UnauthenticatedError("the token has expired")
    if nbf is not None and not _is_number(nbf):
        raise UnauthenticatedError("the token's nbf claim is not a number")
    if nbf is not None and now < nbf - leeway:
        raise UnauthenticatedError("the token is not valid yet (nbf)")
    tid = claims.get("tid")
    if not isinstance(tid, str) or tid.lower() != tenant_id:
        raise UnauthenticatedError(f"the token's tenant {_shown(tid)} is not the configured one")
    iss = claims.get("iss")
    if iss not in accepted_issuers(tenant_id):
        raise UnauthenticatedError(f"the token's issuer {_shown(iss)} is not the tenant's")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if audience not in audiences:
        raise UnauthenticatedError(f"the token's audience {_shown(aud)} is not this app")
    callers = [claims[name] for name in ("azp", "appid") if name in claims]
    if not callers or any(caller != ACTION_GROUP_APP_ID for caller in callers):
        raise ForbiddenError(
            f"the token was issued to {_shown(callers)}, not to Azure Monitor action groups "
            f"({ACTION_GROUP_APP_ID})"
        )
    roles = claims.get("roles")
    if not isinstance(roles, list) or SECURE_WEBHOOK_ROLE not in roles:
        raise ForbiddenError(f"the token does not carry the {SECURE_WEBHOOK_ROLE} role")


def _is_number(value: object) -> TypeGuard[int | float]:
    # JSON parsing lets NaN and Infinity through, and NaN compares false with every time.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _shown(value: object) -> str:
    # Claims are not secrets, but they are the caller's text: quote them and cap their length.
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class SecureWebhookValidator:
    """Validates the Microsoft Entra ID bearer token of an action group's secure webhook."""

    def __init__(
        self,
        tenant_id: str,
        audience: str,
        keys: SigningKeys,
        *,
        clock: Clock = time.time,
        leeway: float = LEEWAY_SECONDS,
    ) -> None:
        self.tenant_id = tenant_id.lower()
        self.audience = audience
        self._keys = keys
        self._clock = clock
        self._leeway = leeway

    def validate(self, authorization: str | None) -> None:
        """Raise UnauthenticatedError, ForbiddenError or SigningKeysUnavailableError, or pass."""
        token = _bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise UnauthenticatedError("the bearer token is not a well-formed JWT") from None
        # Checked before any key is touched: with `none` or HS256 a forger picks the "key".
        if header.get("alg") != ALGORITHM:
            raise UnauthenticatedError(f"the token is not signed with {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise UnauthenticatedError("the token header names no signing key (kid)")
        key = self._keys.key_for(kid)
        try:
            # PyJWT checks the signature only: the claims are checked below, on our own clock.
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_sub": False,
                    "verify_jti": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise UnauthenticatedError("the token's signature does not verify") from None
        except jwt.PyJWTError:
            raise UnauthenticatedError("the bearer token is not a well-formed JWT") from None
        check_claims(
            claims,
            tenant_id=self.tenant_id,
            audience=self.audience,
            now=self._clock(),
            leeway=self._leeway,
        )


def _bearer_token(authorization: str | None) -> str:
    if authorization is None or not authorization.strip():
        raise UnauthenticatedError("no Authorization header: a bearer token is required")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise UnauthenticatedError("the Authorization header is not 'Bearer <token>'")
    if len(token) > MAX_TOKEN_CHARS:
        raise UnauthenticatedError(f"the bearer token is longer than {MAX_TOKEN_CHARS} characters")
    return token


class AlertAuthenticator:
    """Checks an alert delivery's credentials; with nothing configured, every delivery passes."""

    def __init__(
        self,
        *,
        shared_secret: str | None = None,
        secure_webhook: SecureWebhookValidator | None = None,
    ) -> None:
        self._secret = shared_secret.encode() if shared_secret else None
        self._webhook = secure_webhook

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        clock: Clock = time.time,
    ) -> AlertAuthenticator:
        """The checks the ALERT_* settings ask for; fetches nothing until the first token."""
        webhook = None
        tenant, audience = settings.alert_aad_tenant_id, settings.alert_aad_audience
        if tenant and audience:
            url = f"{settings.alert_aad_authority}/{tenant}/v2.0/.well-known/openid-configuration"
            keys = SigningKeys(url, session=session or requests.Session(), clock=clock)
            webhook = SecureWebhookValidator(tenant, audience, keys, clock=clock)
        return cls(shared_secret=settings.alert_shared_secret, secure_webhook=webhook)

    @property
    def configured(self) -> bool:
        """Whether any check beyond the platform's function key is on."""
        return self._secret is not None or self._webhook is not None

    @property
    def wants_bearer(self) -> bool:
        """Whether a bearer token is required, so a 401 carries `WWW-Authenticate: Bearer`."""
        return self._webhook is not None

    def describe(self) -> str:
        """The checks that are on, with no secret in it (for the start-up log)."""
        checks = []
        if self._secret is not None:
            checks.append("shared secret (?token=)")
        if self._webhook is not None:
            checks.append(
                f"secure webhook (tenant {self._webhook.tenant_id}, "
                f"audience {self._webhook.audience})"
            )
        return " and ".join(checks) or "function key only"

    def check(self, req_params: Mapping[str, str], headers: Mapping[str, str]) -> None:
        """Pass, or raise UnauthenticatedError, ForbiddenError or SigningKeysUnavailableError."""
        if self._secret is not None:
            given = req_params.get("token")
            if not given:
                raise UnauthenticatedError("the token query parameter is missing")
            if not hmac.compare_digest(given.encode(errors="replace"), self._secret):
                raise UnauthenticatedError("the token query parameter is wrong")
        if self._webhook is not None:
            self._webhook.validate(_header(headers, "authorization"))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    # Header names are case-insensitive; a plain dict of them is not.
    return next((v for k, v in headers.items() if k.lower() == name), None)
