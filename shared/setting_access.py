"""Settings of who may call the app: the alert credentials (shared secret, secure webhook), the
operator sign-in, and the posture the app refuses to run without in Azure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from shared.setting_values import SettingsError, is_secure_url

AAD_AUTHORITY_DEFAULT = "https://login.microsoftonline.com"
# Shorter secrets in a URL are guessable; a function key is 56 characters.
MIN_SHARED_SECRET_LENGTH = 16
OPERATOR_MODES = ("entra", "app-service", "local")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
# App Service (and so Azure Functions) sets these in every app it runs.
_AZURE_MARKERS = ("WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID")


def in_azure(env: Mapping[str, str]) -> bool:
    """Whether the app runs in Azure App Service / Functions, not on a developer's machine."""
    return any(env.get(name, "").strip() for name in _AZURE_MARKERS)


def shared_secret(env: Mapping[str, str]) -> str | None:
    """ALERT_SHARED_SECRET, or None; only its length is ever reported."""
    secret = env.get("ALERT_SHARED_SECRET", "").strip()
    if not secret:
        return None
    if len(secret) < MIN_SHARED_SECRET_LENGTH:
        raise SettingsError(
            f"ALERT_SHARED_SECRET: {len(secret)} characters is too short; use a random value "
            f"of at least {MIN_SHARED_SECRET_LENGTH} (e.g. python -c "
            "'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return secret


def tenant_and_audience(
    env: Mapping[str, str], prefix: str, what: str
) -> tuple[str | None, str | None]:
    """`<prefix>_TENANT_ID` and `<prefix>_AUDIENCE`: both or neither; the tenant a GUID."""
    tenant = env.get(f"{prefix}_TENANT_ID", "").strip()
    audience = env.get(f"{prefix}_AUDIENCE", "").strip()
    if bool(tenant) != bool(audience):
        missing = f"{prefix}_AUDIENCE" if tenant else f"{prefix}_TENANT_ID"
        raise SettingsError(
            f"{prefix}_TENANT_ID and {prefix}_AUDIENCE: {what} needs both, and {missing} is not set"
        )
    if not tenant:
        return None, None
    if not _GUID.match(tenant):
        raise SettingsError(f"{prefix}_TENANT_ID: {tenant!r} is not a tenant id (a GUID)")
    return tenant.lower(), audience


def authority(env: Mapping[str, str]) -> str:
    """ALERT_AAD_AUTHORITY: where both token kinds' signing keys are fetched."""
    raw = env.get("ALERT_AAD_AUTHORITY", "").strip()
    if not raw:
        return AAD_AUTHORITY_DEFAULT
    parsed = urlsplit(raw)
    if not is_secure_url(raw) or parsed.query or parsed.fragment:
        raise SettingsError(
            f"ALERT_AAD_AUTHORITY: {raw!r} is not an https URL without query "
            "(http only for 127.0.0.1 or localhost)"
        )
    return raw.rstrip("/")


def operator_mode(env: Mapping[str, str], entra_configured: bool) -> str:
    """OPERATOR_AUTH: `entra` (the default once OPERATOR_AAD_* are set), `app-service`, `local`
    (development only), or "" (not configured: only break-glass works)."""
    mode = env.get("OPERATOR_AUTH", "").strip().lower() or ("entra" if entra_configured else "")
    if mode and mode not in OPERATOR_MODES:
        raise SettingsError(f"OPERATOR_AUTH: {mode!r} is not one of {', '.join(OPERATOR_MODES)}")
    if mode == "entra" and not entra_configured:
        raise SettingsError(
            "OPERATOR_AUTH=entra needs OPERATOR_AAD_TENANT_ID and OPERATOR_AAD_AUDIENCE"
        )
    if mode == "local" and in_azure(env):
        raise SettingsError(
            "OPERATOR_AUTH=local lets anyone move groups: it is for local development and "
            "refused in Azure; use entra (OPERATOR_AAD_TENANT_ID, OPERATOR_AAD_AUDIENCE)"
        )
    return mode


def check_alert_posture(env: Mapping[str, str], secret: str | None, webhook: bool) -> None:
    """In Azure, POST /api/alerts must need more than a function key: readers hold one."""
    if in_azure(env) and secret is None and not webhook:
        raise SettingsError(
            "ALERT_SHARED_SECRET or ALERT_AAD_TENANT_ID/ALERT_AAD_AUDIENCE: neither is set, so "
            "any holder of a function key could raise alerts; set the shared secret (the "
            "infrastructure generates one) or the secure webhook"
        )
