"""The VI_FAILOVER_* environment variables, read in one place for the library and the CLI.

Every variable is listed in client/README.md ("Settings"). A bad value fails at once, naming the
variable; secrets are kept in `Secret`, which never shows its value in a repr or a log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential

from vi_failover_client.credentials import StaticTokenCredential, default_credential
from vi_failover_client.table import DEFAULT_TABLE, TableSource
from vi_failover_client.urls import api_base, is_loopback, service_base
from vi_failover_client.vi import ARM_BASE_URL, VI_API_VERSION, VI_BASE_URL

PREFIX = "VI_FAILOVER_"


class Secret:
    """A key, SAS, connection string or token: `reveal()` gives it, nothing else shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one header or credential that carries it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The parsed variables; None where unset."""

    urls: tuple[str, ...] = ()
    key: Secret | None = None
    group: str | None = None
    storage: Secret | None = None
    table_name: str = DEFAULT_TABLE
    table_secondary: str | None = None
    last_known_good: str | None = None
    config: str | None = None
    ttl: float | None = None
    timeout: float | None = None
    ready_timeout: float | None = None
    arm_url: str = ARM_BASE_URL
    vi_url: str = VI_BASE_URL
    api_version: str = VI_API_VERSION
    arm_token: Secret | None = None
    audience: str | None = None
    master_key: Secret | None = None
    alert_key: Secret | None = None
    alert_token: Secret | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every VI_FAILOVER_* variable of `environ` (default: the process's)."""
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get(PREFIX + name, "").strip()
            return value or None

        def secret(name: str) -> Secret | None:
            value = text(name)
            return Secret(value) if value else None

        def seconds(name: str) -> float | None:
            value = text(name)
            if value is None:
                return None
            try:
                number = float(value)
            except ValueError:
                number = -1.0
            if not 0 < number <= 86_400:
                raise ValueError(f"{PREFIX}{name}: seconds above 0, at most 86400, got {value!r}")
            return number

        urls = tuple(
            api_base(u, setting=f"{PREFIX}URL") for u in re.split(r"[,\s]+", text("URL") or "") if u
        )
        version = text("API_VERSION") or VI_API_VERSION
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", version):
            raise ValueError(f"{PREFIX}API_VERSION: a date such as 2025-04-01, got {version!r}")
        settings = cls(
            urls=urls,
            key=secret("KEY"),
            group=text("GROUP"),
            storage=secret("STORAGE"),
            table_name=text("TABLE") or DEFAULT_TABLE,
            table_secondary=text("TABLE_SECONDARY"),
            last_known_good=text("LAST_KNOWN_GOOD"),
            config=text("CONFIG"),
            ttl=seconds("TTL"),
            timeout=seconds("TIMEOUT"),
            ready_timeout=seconds("READY_TIMEOUT"),
            arm_url=service_base(text("ARM_URL") or ARM_BASE_URL, setting=f"{PREFIX}ARM_URL"),
            vi_url=service_base(text("VI_URL") or VI_BASE_URL, setting=f"{PREFIX}VI_URL"),
            api_version=version,
            arm_token=secret("ARM_TOKEN"),
            audience=text("AUDIENCE"),
            master_key=secret("MASTER_KEY"),
            alert_key=secret("ALERT_KEY"),
            alert_token=secret("ALERT_TOKEN"),
        )
        if settings.arm_token is not None and not is_loopback(_host(settings.arm_url)):
            raise ValueError(
                f"{PREFIX}ARM_TOKEN is for a local ARM stand-in only: {PREFIX}ARM_URL must be "
                "a loopback URL (127.0.0.1, ::1, localhost); in Azure, sign in instead"
            )
        return settings

    def table(self) -> TableSource | None:
        """The state table from VI_FAILOVER_STORAGE: a connection string, a table service URL
        (signed in with DefaultAzureCredential), or a storage account name (the same)."""
        if self.storage is None:
            return None
        value = self.storage.reveal()
        secondary = self.table_secondary
        if "=" in value:
            if secondary == "auto":
                raise ValueError(f"{PREFIX}TABLE_SECONDARY: give the URL with a connection string")
            return TableSource.from_connection_string(
                value, table_name=self.table_name, secondary_endpoint=secondary
            )
        if value.lower().startswith(("http://", "https://")):
            if secondary == "auto":
                raise ValueError(f"{PREFIX}TABLE_SECONDARY: give the URL with a table URL")
            return TableSource(
                primary_endpoint=value.rstrip("/"),
                secondary_endpoint=secondary,
                credential=default_credential(),
                table_name=self.table_name,
            )
        if not re.fullmatch(r"[a-z0-9]{3,24}", value):
            raise ValueError(
                f"{PREFIX}STORAGE: a connection string, a table service URL or a storage "
                "account name (3-24 lower-case letters and digits)"
            )
        source = TableSource.for_account(
            value, default_credential(), table_name=self.table_name, secondary=secondary == "auto"
        )
        if secondary not in (None, "auto"):
            return TableSource(
                primary_endpoint=source.primary_endpoint,
                secondary_endpoint=secondary,
                credential=source.credential,
                table_name=self.table_name,
            )
        return source

    def client_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ActiveAccountClient for what is set."""
        arguments: dict[str, Any] = {
            "group": self.group,
            "endpoints": list(self.urls),
            "function_key": self.key.reveal() if self.key else None,
            "table": self.table(),
            "last_known_good": self.last_known_good,
        }
        if self.config:
            arguments["accounts"] = self.config
        for name in ("ttl", "timeout", "ready_timeout"):
            if (value := getattr(self, name)) is not None:
                arguments[name] = value
        return arguments

    def arm_credential(self) -> TokenCredential:
        """VI_FAILOVER_ARM_TOKEN for a local stand-in, else DefaultAzureCredential."""
        if self.arm_token is not None:
            return StaticTokenCredential(self.arm_token.reveal())
        return default_credential()


def _host(url: str) -> str | None:
    return urlsplit(url).hostname
