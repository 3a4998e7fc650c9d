"""Azure credentials without a hard dependency: azure-identity is the optional `azure` extra.

`pip install "vi-failover-client[azure]"` installs it; nothing imports it until a credential is
needed, so reading the flag through the endpoint or with a key needs none of it.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential

EXTRA = 'pip install "vi-failover-client[azure]"'


class MissingExtraError(RuntimeError):
    """An optional dependency is not installed; the message says which extra installs it."""


def default_credential() -> TokenCredential:
    """`DefaultAzureCredential`: managed identity in Azure, `az login` on a workstation."""
    try:
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415 - optional extra
    except ImportError:
        raise MissingExtraError(f"Azure sign-in needs azure-identity: {EXTRA}") from None
    return DefaultAzureCredential()


class StaticTokenCredential:
    """One fixed bearer token, for the local ARM stand-in only (`VI_FAILOVER_ARM_TOKEN`)."""

    def __init__(self, token: str, lifetime: float = 3600.0) -> None:
        self._token = token
        self._lifetime = lifetime

    def __repr__(self) -> str:
        return "StaticTokenCredential(<hidden>)"

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """The fixed token, valid for `lifetime` seconds from now."""
        return AccessToken(self._token, int(time.time() + self._lifetime))
