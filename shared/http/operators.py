"""Who an operator is: the identity behind `POST /api/failover`, never what the body or a header
the caller sets says.

- `entra`: a Microsoft Entra ID bearer token for this app (OPERATOR_AAD_AUDIENCE, tenant
  OPERATOR_AAD_TENANT_ID) carrying the app role `Failover.Operator`; the actor is the signed-in
  user (or app) the token names.
- `app-service`: App Service Authentication is on in front of the app (the platform validates
  the token and sets `X-MS-CLIENT-PRINCIPAL`, stripping any the caller sent); the principal must
  carry the role.
- `local`: development only (`make run`): anyone is "developer (local, unauthenticated)".
  Refused at start when the app runs in Azure.
- unset: `POST /api/failover` answers 401 and names the settings; the master key still works on
  `POST /api/failover/break-glass`, audited as break-glass.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from shared.http.signing_keys import Clock, UnauthenticatedError
from shared.http.tokens import EntraTokenValidator, ForbiddenError, header, shown
from shared.settings import Settings

OPERATOR_ROLE = "Failover.Operator"
BREAK_GLASS_ACTOR = "break-glass (master key)"
LOCAL_ACTOR = "developer (local, unauthenticated)"
_ROLE_CLAIMS = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
_NAME_CLAIMS = ("preferred_username", "upn", "unique_name", "email", "name")


@dataclass(frozen=True)
class Operator:
    """Who asked, as the audit trail records it, and how that was established."""

    actor: str
    how: str  # "entra", "app-service", "local" or "master-key"


class OperatorAuthenticator:
    """Establishes the operator of a request in the configured mode."""

    def __init__(self, mode: str = "", validator: EntraTokenValidator | None = None) -> None:
        self.mode = mode
        self._validator = validator

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        clock: Clock = time.time,
    ) -> OperatorAuthenticator:
        """The mode OPERATOR_AUTH names; fetches no key until the first token."""
        mode = settings.operator_auth
        if mode != "entra":
            return cls(mode)
        tenant, audience = settings.operator_aad_tenant_id, settings.operator_aad_audience
        if not tenant or not audience:
            raise ValueError("operator sign-in with entra needs a tenant and an audience")
        validator = EntraTokenValidator.for_tenant(
            settings.alert_aad_authority,
            tenant,
            audience,
            role=OPERATOR_ROLE,
            session=session,
            clock=clock,
        )
        return cls(mode, validator)

    def identify(self, headers: Mapping[str, str]) -> Operator:
        """The operator, or UnauthenticatedError (401) / ForbiddenError (403)."""
        if self.mode == "entra" and self._validator is not None:
            claims = self._validator.validate(header(headers, "authorization"))
            return Operator(_actor(claims), "entra")
        if self.mode == "app-service":
            return _app_service_principal(headers)
        if self.mode == "local":
            return Operator(LOCAL_ACTOR, "local")
        raise UnauthenticatedError(
            "operator sign-in is not configured: set OPERATOR_AAD_TENANT_ID and "
            "OPERATOR_AAD_AUDIENCE (Microsoft Entra ID), or OPERATOR_AUTH=app-service; the "
            "master key works on POST /api/failover/break-glass"
        )

    def describe(self) -> str:
        """The mode, for the start-up log."""
        return {
            "entra": "identified by Microsoft Entra ID tokens with the Failover.Operator role",
            "app-service": "identified by App Service Authentication with the Failover.Operator "
            "role",
            "local": "not identified (OPERATOR_AUTH=local, development only: anyone may move "
            "groups, recorded as developer (local, unauthenticated))",
        }.get(self.mode, "not configured: POST /api/failover answers 401, break-glass only")


def _actor(claims: Mapping[str, Any]) -> str:
    """Who the token names: the signed-in user, else the calling app."""
    for name in _NAME_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    app = claims.get("azp") or claims.get("appid") or claims.get("oid")
    return f"app {app}" if isinstance(app, str) else "unnamed principal"


def _app_service_principal(headers: Mapping[str, str]) -> Operator:
    """The principal App Service Authentication put in front of the request."""
    encoded = header(headers, "x-ms-client-principal")
    if not encoded:
        raise UnauthenticatedError("no signed-in principal: sign in through App Service")
    try:
        principal = json.loads(base64.b64decode(encoded, validate=True))
        claims = [(c["typ"], c["val"]) for c in principal.get("claims", [])]
    except (ValueError, binascii.Error, KeyError, TypeError, AttributeError):
        raise UnauthenticatedError("the signed-in principal header is malformed") from None
    role_type = principal.get("role_typ")
    roles = {val for typ, val in claims if typ in (*_ROLE_CLAIMS, role_type)}
    if OPERATOR_ROLE not in roles:
        raise ForbiddenError(f"the signed-in principal does not carry the {OPERATOR_ROLE} role")
    name = header(headers, "x-ms-client-principal-name") or ""
    if not name.strip():
        name_type = principal.get("name_typ")
        name = next((str(v) for t, v in claims if t in (*_NAME_CLAIMS, name_type)), "")
    return Operator(name.strip()[:200] or shown(principal.get("auth_typ")), "app-service")
