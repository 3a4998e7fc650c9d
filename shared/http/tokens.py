"""Microsoft Entra ID bearer tokens: signature, issuer, audience, time and role, for the secure
webhook (who may raise an alert) and for operators (who may move a group).

PyJWT checks the signature, the audience, the issuer and that the claims are present; the time
claims are checked on the validator's own clock (an injected one in tests, like every clock
here), with a leeway. 401 means the token does not prove who the caller is; 403 means it does,
and the caller may not do this. Messages never carry the token.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any, TypeGuard

import jwt
import requests

from shared.http.signing_keys import ALGORITHM, Clock, SigningKeys, UnauthenticatedError

LEEWAY_SECONDS = 60.0
MAX_TOKEN_CHARS = 16 * 1024


class ForbiddenError(Exception):
    """The caller proved who it is but may not do this (403)."""


def accepted_issuers(tenant_id: str) -> list[str]:
    """The `iss` values of the tenant's v1.0 and v2.0 access tokens."""
    return [
        f"https://sts.windows.net/{tenant_id}/",
        f"https://login.microsoftonline.com/{tenant_id}/v2.0",
    ]


class EntraTokenValidator:
    """Validates bearer tokens of one tenant for one audience, and requires an app role."""

    def __init__(
        self,
        tenant_id: str,
        audience: str,
        keys: SigningKeys,
        *,
        role: str,
        issued_to: str | None = None,
        clock: Clock = time.time,
        leeway: float = LEEWAY_SECONDS,
    ) -> None:
        self.tenant_id = tenant_id.lower()
        self.audience = audience
        self._keys = keys
        self._role = role
        self._issued_to = issued_to
        self._clock = clock
        self._leeway = leeway

    @classmethod
    def for_tenant(
        cls,
        authority: str,
        tenant_id: str,
        audience: str,
        *,
        role: str,
        issued_to: str | None = None,
        session: requests.Session | None = None,
        clock: Clock = time.time,
    ) -> EntraTokenValidator:
        """A validator whose keys come from the tenant's OpenID configuration under `authority`;
        nothing is fetched until the first token."""
        url = f"{authority}/{tenant_id}/v2.0/.well-known/openid-configuration"
        keys = SigningKeys(url, session=session or requests.Session(), clock=clock)
        return cls(tenant_id, audience, keys, role=role, issued_to=issued_to, clock=clock)

    def validate(self, authorization: str | None) -> Mapping[str, Any]:
        """The token's claims; UnauthenticatedError, ForbiddenError or
        SigningKeysUnavailableError otherwise."""
        token = bearer_token(authorization)
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
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=accepted_issuers(self.tenant_id),
                options={
                    "require": ["exp", "iss", "aud", "tid"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise UnauthenticatedError("the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as exc:
            raise UnauthenticatedError(f"the token has no {exc.claim} claim") from None
        except jwt.InvalidAudienceError:
            raise UnauthenticatedError("the token's audience is not this app") from None
        except jwt.InvalidIssuerError:
            raise UnauthenticatedError("the token's issuer is not the tenant's") from None
        except jwt.PyJWTError:
            raise UnauthenticatedError("the bearer token is not a well-formed JWT") from None
        self._check_time(claims)
        self._check_grant(claims)
        return claims

    def _check_time(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not _is_number(exp):
            raise UnauthenticatedError("the token has no numeric exp claim")
        if now >= exp + self._leeway:
            raise UnauthenticatedError("the token has expired")
        if nbf is not None and not _is_number(nbf):
            raise UnauthenticatedError("the token's nbf claim is not a number")
        if nbf is not None and now < nbf - self._leeway:
            raise UnauthenticatedError("the token is not valid yet (nbf)")
        tid = claims.get("tid")
        if not isinstance(tid, str) or tid.lower() != self.tenant_id:
            raise UnauthenticatedError(f"the token's tenant {shown(tid)} is not the configured one")

    def _check_grant(self, claims: Mapping[str, Any]) -> None:
        if self._issued_to is not None:
            callers = [claims[name] for name in ("azp", "appid") if name in claims]
            if not callers or any(caller != self._issued_to for caller in callers):
                raise ForbiddenError(
                    f"the token was issued to {shown(callers)}, not to {self._issued_to}"
                )
        roles = claims.get("roles")
        if not isinstance(roles, list) or self._role not in roles:
            raise ForbiddenError(f"the token does not carry the {self._role} role")


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header, or UnauthenticatedError."""
    if authorization is None or not authorization.strip():
        raise UnauthenticatedError("no Authorization header: a bearer token is required")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise UnauthenticatedError("the Authorization header is not 'Bearer <token>'")
    if len(token) > MAX_TOKEN_CHARS:
        raise UnauthenticatedError(f"the bearer token is longer than {MAX_TOKEN_CHARS} characters")
    return token


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (a plain dict of headers is not)."""
    value = headers.get(name)
    if value is not None:
        return value
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def shown(value: object) -> str:
    """A claim for a message: quoted, and capped (claims are the caller's text)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_number(value: object) -> TypeGuard[int | float]:
    # JSON parsing lets NaN and Infinity through, and NaN compares false with every time.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
