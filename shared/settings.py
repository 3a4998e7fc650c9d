"""App settings, read in one place into a frozen `Settings`; a bad value names its key.

Every setting is listed in the README's settings table; `SETTING_NAMES` is that list, and
the infrastructure tests compare it with the app settings the templates deploy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from shared.core.config import load_config
from shared.core.model import Config, Timekeeping
from shared.setting_values import (
    SettingsError,
    StorageSettings,
    integer_setting,
    is_secure_url,
    seconds_setting,
    storage_setting,
    url_setting,
)

__all__ = ["Settings", "SettingsError", "StorageSettings", "is_secure_url", "load_settings"]

SETTING_NAMES = (
    "FAILOVER_CONFIG",
    "FailoverStorage",
    "FailoverStorage__tableServiceUri",
    "FailoverStorage__queueServiceUri",
    "FailoverStorage__clientId",
    "AzureWebJobsStorage",
    "FAILOVER_TABLE",
    "ACTIVE_ACCOUNT_MAX_AGE",
    "STORAGE_TIMEOUT_SECONDS",
    "RETRY_AFTER_SECONDS",
    "READINESS_SCHEDULE",
    "FANOUT_QUEUE",
    "FANOUT_INLINE_GROUPS",
    "ARM_BASE_URL",
    "VI_BASE_URL",
    "ARM_STATIC_TOKEN",
    "AZURE_CLIENT_ID",
    "PROBE_TIMEOUT_SECONDS",
    "PROBE_SLOW_MS",
    "NOTIFY_WEBHOOK_URL",
    "NOTIFY_TIMEOUT_SECONDS",
    "ALERT_SHARED_SECRET",
    "ALERT_AAD_TENANT_ID",
    "ALERT_AAD_AUDIENCE",
    "ALERT_AAD_AUTHORITY",
    "CLOCK_SKEW_MINUTES",
    "INCIDENT_RETENTION_DAYS",
)
# The Functions host resolves %READINESS_SCHEDULE% itself; this is the value the infrastructure
# deploys and the local host falls back to (NCRONTAB: every 5 minutes).
READINESS_SCHEDULE_DEFAULT = "0 */5 * * * *"
# Resolved by the Functions host too (%FANOUT_QUEUE% in the queue trigger); the app sends to it.
FANOUT_QUEUE_DEFAULT = "failover-fanout"
FANOUT_INLINE_GROUPS_DEFAULT = 100
# Storage queue names: 3-63 lower-case letters, digits and single hyphens; the host's poison
# queue appends "-poison", so 56 is the longest name that leaves it room.
_QUEUE_NAME = re.compile(r"^(?=.{3,56}$)[a-z0-9]+(-[a-z0-9]+)*$")
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
AAD_AUTHORITY_DEFAULT = "https://login.microsoftonline.com"
# Shorter secrets in a URL are guessable; a function key is 56 characters.
MIN_SHARED_SECRET_LENGTH = 16
CLOCK_SKEW_MINUTES_DEFAULT = 15
INCIDENT_RETENTION_DAYS_DEFAULT = 60
# A closed incident must outlive the RCA that follows it (Microsoft publishes one within 14
# days) and any re-delivery; a year bounds a partition that sees an incident a day.
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 30, 366


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment."""

    config: Config
    storage: StorageSettings
    table_name: str = "FailoverState"
    fanout_queue: str = FANOUT_QUEUE_DEFAULT
    fanout_inline_groups: int = FANOUT_INLINE_GROUPS_DEFAULT
    active_account_max_age: int = 10
    storage_timeout_seconds: float = 3.0
    retry_after_seconds: int = 10
    arm_base_url: str = "https://management.azure.com"
    vi_base_url: str = "https://api.videoindexer.ai"
    arm_static_token: str | None = None  # development only: the local ARM stand-in
    azure_client_id: str | None = None  # user-assigned identity for ARM (DefaultAzureCredential)
    probe_timeout_seconds: float = 5.0
    probe_slow_ms: int = 3000
    notify_webhook_url: str | None = None
    notify_timeout_seconds: float = 2.0
    # Who may call POST /api/alerts besides holders of the function key; see shared.auth.
    alert_shared_secret: str | None = field(default=None, repr=False)
    alert_aad_tenant_id: str | None = None  # lower-case GUID
    alert_aad_audience: str | None = None
    alert_aad_authority: str = AAD_AUTHORITY_DEFAULT
    timekeeping: Timekeeping = field(default_factory=Timekeeping)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Parse and validate the settings; raises SettingsError or ConfigError naming the key."""
    raw_config = env.get("FAILOVER_CONFIG", "")
    if not raw_config.strip():
        raise SettingsError("FAILOVER_CONFIG is not set: give the groups and accounts as JSON")
    table_name = env.get("FAILOVER_TABLE", "FailoverState")
    if not _TABLE_NAME.match(table_name):
        raise SettingsError(
            f"FAILOVER_TABLE: {table_name!r} is not a table name "
            "(3-63 letters and digits, starting with a letter)"
        )
    tenant, audience = _aad(env)
    return Settings(
        config=load_config(raw_config),
        storage=storage_setting(env),
        table_name=table_name,
        fanout_queue=_queue_name(env),
        fanout_inline_groups=integer_setting(
            env, "FANOUT_INLINE_GROUPS", FANOUT_INLINE_GROUPS_DEFAULT, minimum=0
        ),
        active_account_max_age=integer_setting(env, "ACTIVE_ACCOUNT_MAX_AGE", 10, minimum=0),
        storage_timeout_seconds=seconds_setting(env, "STORAGE_TIMEOUT_SECONDS", 3.0),
        retry_after_seconds=integer_setting(env, "RETRY_AFTER_SECONDS", 10, minimum=1),
        arm_base_url=url_setting(env, "ARM_BASE_URL", "https://management.azure.com"),
        vi_base_url=url_setting(env, "VI_BASE_URL", "https://api.videoindexer.ai"),
        arm_static_token=env.get("ARM_STATIC_TOKEN", "").strip() or None,
        azure_client_id=env.get("AZURE_CLIENT_ID", "").strip() or None,
        probe_timeout_seconds=seconds_setting(env, "PROBE_TIMEOUT_SECONDS", 5.0),
        probe_slow_ms=integer_setting(env, "PROBE_SLOW_MS", 3000, minimum=1),
        notify_webhook_url=url_setting(env, "NOTIFY_WEBHOOK_URL", "") or None,
        notify_timeout_seconds=seconds_setting(env, "NOTIFY_TIMEOUT_SECONDS", 2.0),
        alert_shared_secret=_shared_secret(env),
        alert_aad_tenant_id=tenant,
        alert_aad_audience=audience,
        alert_aad_authority=_authority(env),
        timekeeping=_timekeeping(env),
    )


def _timekeeping(env: Mapping[str, str]) -> Timekeeping:
    skew = integer_setting(env, "CLOCK_SKEW_MINUTES", CLOCK_SKEW_MINUTES_DEFAULT, minimum=1)
    if skew > 24 * 60:
        raise SettingsError(f"CLOCK_SKEW_MINUTES: {skew} is above the maximum {24 * 60} (a day)")
    days = integer_setting(
        env, "INCIDENT_RETENTION_DAYS", INCIDENT_RETENTION_DAYS_DEFAULT, minimum=MIN_RETENTION_DAYS
    )
    if days > MAX_RETENTION_DAYS:
        raise SettingsError(
            f"INCIDENT_RETENTION_DAYS: {days} is above the maximum {MAX_RETENTION_DAYS}"
        )
    return Timekeeping(max_skew=timedelta(minutes=skew), retention=timedelta(days=days))


def _queue_name(env: Mapping[str, str]) -> str:
    name = env.get("FANOUT_QUEUE", "").strip() or FANOUT_QUEUE_DEFAULT
    if not _QUEUE_NAME.match(name):
        raise SettingsError(
            f"FANOUT_QUEUE: {name!r} is not a queue name (3-56 lower-case letters, digits "
            "and single hyphens, starting and ending with a letter or digit)"
        )
    return name


def _shared_secret(env: Mapping[str, str]) -> str | None:
    secret = env.get("ALERT_SHARED_SECRET", "").strip()
    if not secret:
        return None
    # Only lengths are reported: the value must never reach a log.
    if len(secret) < MIN_SHARED_SECRET_LENGTH:
        raise SettingsError(
            f"ALERT_SHARED_SECRET: {len(secret)} characters is too short; use a random value "
            f"of at least {MIN_SHARED_SECRET_LENGTH} (e.g. python -c "
            "'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return secret


def _aad(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    tenant = env.get("ALERT_AAD_TENANT_ID", "").strip()
    audience = env.get("ALERT_AAD_AUDIENCE", "").strip()
    if bool(tenant) != bool(audience):
        missing = "ALERT_AAD_AUDIENCE" if tenant else "ALERT_AAD_TENANT_ID"
        raise SettingsError(
            "ALERT_AAD_TENANT_ID and ALERT_AAD_AUDIENCE: the secure webhook needs both, "
            f"and {missing} is not set"
        )
    if not tenant:
        return None, None
    if not _GUID.match(tenant):
        raise SettingsError(f"ALERT_AAD_TENANT_ID: {tenant!r} is not a tenant id (a GUID)")
    return tenant.lower(), audience


def _authority(env: Mapping[str, str]) -> str:
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
