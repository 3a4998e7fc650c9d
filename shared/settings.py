"""App settings, read in one place into a frozen `Settings`; a bad value names its key.

Every setting is listed in the README's settings table; `SETTING_NAMES` is that list, and
the infrastructure tests compare it with the app settings the templates deploy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from shared.core.config import load_config
from shared.core.model import Config, Timekeeping
from shared.setting_access import (
    AAD_AUTHORITY_DEFAULT,
    authority,
    check_alert_posture,
    operator_mode,
    shared_secret,
    tenant_and_audience,
)
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
    "OPERATOR_AUTH",
    "OPERATOR_AAD_TENANT_ID",
    "OPERATOR_AAD_AUDIENCE",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
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
    arm_static_token: str | None = field(default=None, repr=False)  # development only
    azure_client_id: str | None = None  # user-assigned identity for ARM (DefaultAzureCredential)
    probe_timeout_seconds: float = 5.0
    probe_slow_ms: int = 3000
    notify_webhook_url: str | None = field(default=None, repr=False)  # its secret is in the URL
    notify_timeout_seconds: float = 2.0
    # Who may call POST /api/alerts besides holders of the function key; see shared.auth.
    alert_shared_secret: str | None = field(default=None, repr=False)
    alert_aad_tenant_id: str | None = None  # lower-case GUID
    alert_aad_audience: str | None = None
    alert_aad_authority: str = AAD_AUTHORITY_DEFAULT
    # Who may call POST /api/failover; see shared.http.operators.
    operator_auth: str = ""
    operator_aad_tenant_id: str | None = None
    operator_aad_audience: str | None = None
    timekeeping: Timekeeping = field(default_factory=Timekeeping)
    # Telemetry to Application Insights through OpenTelemetry; None leaves it off (and unloaded).
    applicationinsights_connection_string: str | None = field(default=None, repr=False)


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
    tenant, audience = tenant_and_audience(env, "ALERT_AAD", "the secure webhook")
    secret = shared_secret(env)
    check_alert_posture(env, secret, webhook=tenant is not None)
    operator_tenant, operator_audience = tenant_and_audience(
        env, "OPERATOR_AAD", "operator sign-in"
    )
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
        alert_shared_secret=secret,
        alert_aad_tenant_id=tenant,
        alert_aad_audience=audience,
        alert_aad_authority=authority(env),
        operator_auth=operator_mode(env, entra_configured=operator_tenant is not None),
        operator_aad_tenant_id=operator_tenant,
        operator_aad_audience=operator_audience,
        timekeeping=_timekeeping(env),
        applicationinsights_connection_string=(
            env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip() or None
        ),
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
