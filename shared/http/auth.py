"""Who may deliver alerts: a shared secret in `?token=`, a secure-webhook bearer token, or both.

The Functions platform checks the function key before any of this runs. Messages name what is
wrong and never the secret or the token, because they reach logs and 401 bodies.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Mapping

import requests

from shared.http.signing_keys import Clock, UnauthenticatedError
from shared.http.tokens import EntraTokenValidator, ForbiddenError, header
from shared.settings import Settings

__all__ = ["ACTION_GROUP_APP_ID", "AlertAuthenticator", "ForbiddenError", "UnauthenticatedError"]

log = logging.getLogger(__name__)

# "AzNS AAD Webhook": the first-party app Azure Monitor action groups get their tokens as.
ACTION_GROUP_APP_ID = "461e8683-5575-4561-ac7f-899cc907d62a"
SECURE_WEBHOOK_ROLE = "ActionGroupsSecureWebhook"


class AlertAuthenticator:
    """Checks an alert delivery's credentials; with nothing configured, every delivery passes."""

    def __init__(
        self,
        *,
        shared_secret: str | None = None,
        secure_webhook: EntraTokenValidator | None = None,
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
            webhook = EntraTokenValidator.for_tenant(
                settings.alert_aad_authority,
                tenant,
                audience,
                role=SECURE_WEBHOOK_ROLE,
                issued_to=ACTION_GROUP_APP_ID,
                session=session,
                clock=clock,
            )
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
            self._webhook.validate(header(headers, "authorization"))
