"""Reading single app settings: numbers, URLs and the storage connection, each failing with
a message that names its key (and never echoes a secret)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})


class SettingsError(ValueError):
    """An app setting is missing or invalid; the message names it."""


@dataclass(frozen=True)
class StorageSettings:
    """How to reach the state table: a connection string, or an endpoint plus managed identity."""

    connection_string: str | None = field(default=None, repr=False)  # holds the account key
    table_service_uri: str | None = None
    queue_service_uri: str | None = None  # with table_service_uri: the fan-out queue's service
    client_id: str | None = None  # user-assigned managed identity; None: system-assigned/default

    def describe(self) -> str:
        """Where the state lives, with no secret in it (for logs and /api/health)."""
        if self.table_service_uri:
            return f"{self.table_service_uri} (Microsoft Entra ID)"
        text = self.connection_string or ""
        endpoint = re.search(r"TableEndpoint=([^;]+)", text)
        if endpoint:
            return endpoint.group(1)
        account = re.search(r"AccountName=([^;]+)", text)
        return f"account {account.group(1)}" if account else "development storage"


def is_secure_url(url: str) -> bool:
    """True for an https URL with a host, or an http one on the loopback interface (tests)."""
    parsed = urlsplit(url)
    if not parsed.hostname:
        return False
    return parsed.scheme == "https" or (
        parsed.scheme == "http" and parsed.hostname in _LOOPBACK_HOSTS
    )


def url_setting(env: Mapping[str, str], key: str, default: str) -> str:
    """An https URL (http only to 127.0.0.1 or localhost): each one carries a token or a key."""
    raw = env.get(key, "").strip()
    if not raw:
        return default
    parsed = urlsplit(raw)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        # The value is not echoed: webhook URLs carry their secret in the path or query.
        raise SettingsError(f"{key}: not an http(s) URL with a host name")
    if not is_secure_url(raw):
        raise SettingsError(
            f"{key}: http to {parsed.hostname} would send a token or key in clear; use https "
            "(plain http is allowed for 127.0.0.1 and localhost only)"
        )
    return raw.rstrip("/")


def storage_setting(env: Mapping[str, str]) -> StorageSettings:
    connection = env.get("FailoverStorage", "").strip()
    uri = env.get("FailoverStorage__tableServiceUri", "").strip()
    client_id = env.get("FailoverStorage__clientId", "").strip() or None
    if connection and uri:
        raise SettingsError(
            "FailoverStorage and FailoverStorage__tableServiceUri are both set: use one"
        )
    if env.get("FailoverStorage__queueServiceUri", "").strip() and not uri:
        raise SettingsError(
            "FailoverStorage__queueServiceUri is set without FailoverStorage__tableServiceUri: "
            "managed identity needs both; a connection string needs neither"
        )
    if uri:
        if not env.get("FailoverStorage__queueServiceUri", "").strip():
            raise SettingsError(
                "FailoverStorage__queueServiceUri: not set; with FailoverStorage__tableServiceUri "
                "the fan-out queue needs it too (https://<account>.queue.core.windows.net)"
            )
        return StorageSettings(
            table_service_uri=url_setting(env, "FailoverStorage__tableServiceUri", ""),
            queue_service_uri=url_setting(env, "FailoverStorage__queueServiceUri", ""),
            client_id=client_id,
        )
    connection = connection or env.get("AzureWebJobsStorage", "").strip()
    if not connection:
        raise SettingsError(
            "FailoverStorage is not set: give a connection string, or "
            "FailoverStorage__tableServiceUri for managed identity (AzureWebJobsStorage is "
            "used when neither is set, and it is not set either)"
        )
    if "=" not in connection:
        raise SettingsError("FailoverStorage: not a storage connection string (no key=value)")
    if "tableendpoint=" in connection.lower() and "queueendpoint=" not in connection.lower():
        raise SettingsError(
            "FailoverStorage: the connection string names a TableEndpoint but no "
            "QueueEndpoint; the fan-out queue needs one too"
        )
    return StorageSettings(connection_string=connection)


def integer_setting(env: Mapping[str, str], key: str, default: int, *, minimum: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{key}: {raw!r} is not a whole number") from None
    if value < minimum:
        raise SettingsError(f"{key}: {value} is below the minimum {minimum}")
    return value


def seconds_setting(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{key}: {raw!r} is not a number of seconds") from None
    if not 0 < value <= 60:
        raise SettingsError(f"{key}: {value} must be above 0 and at most 60 seconds")
    return value
