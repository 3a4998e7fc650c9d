"""Reading the `active` entity straight from Table Storage, primary then RA-GZRS secondary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential, TokenCredential
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestTimeoutError,
    ServiceResponseTimeoutError,
)
from azure.data.tables import TableClient

from vi_failover_client.account import ActiveAccount, account_from_entity
from vi_failover_client.sources import Read, SourceError, network_reason
from vi_failover_client.urls import require_secure, safe_url

ACTIVE_ROW = "active"
DEFAULT_TABLE = "FailoverState"
TableCredential = AzureNamedKeyCredential | AzureSasCredential | TokenCredential


@dataclass(frozen=True, kw_only=True)
class TableSource:
    """Where the app keeps its state table, and how to read it (Storage Table Data Reader)."""

    primary_endpoint: str
    secondary_endpoint: str | None = None
    credential: TableCredential = field(repr=False)
    table_name: str = DEFAULT_TABLE

    def __post_init__(self) -> None:
        # Every table request carries the key, a SAS or a token.
        for name in ("primary_endpoint", "secondary_endpoint"):
            value = getattr(self, name)
            if value is not None:
                require_secure(value, setting=f"table {name}")

    @classmethod
    def for_account(
        cls,
        name: str,
        credential: TableCredential,
        *,
        table_name: str = DEFAULT_TABLE,
        endpoint_suffix: str = "core.windows.net",
        secondary: bool = True,
    ) -> Self:
        """A storage account's endpoints; `secondary` adds the RA-GZRS read-only secondary."""
        return cls(
            primary_endpoint=f"https://{name}.table.{endpoint_suffix}",
            secondary_endpoint=f"https://{name}-secondary.table.{endpoint_suffix}"
            if secondary
            else None,
            credential=credential,
            table_name=table_name,
        )

    @classmethod
    def from_connection_string(
        cls,
        connection_string: str,
        *,
        table_name: str = DEFAULT_TABLE,
        secondary_endpoint: str | None = None,
    ) -> Self:
        """Endpoints and key (or SAS) from a storage connection string, as the app's settings take.

        The secondary is `secondary_endpoint`, else the string's `TableSecondaryEndpoint`; it is
        never guessed, since only RA-GRS and RA-GZRS accounts have one.
        """
        # Messages name the missing key, never echo the string: it holds the account key.
        settings = _parse_connection_string(connection_string)
        account = settings.get("accountname")
        key = settings.get("accountkey")
        sas = settings.get("sharedaccesssignature")
        credential: TableCredential
        if account and key:
            credential = AzureNamedKeyCredential(account, key)
        elif sas:
            credential = AzureSasCredential(sas)
        else:
            raise ValueError("connection string: give AccountName and AccountKey, or a SAS")
        primary = settings.get("tableendpoint")
        if not primary:
            if not account:
                raise ValueError("connection string: give TableEndpoint or AccountName")
            protocol = settings.get("defaultendpointsprotocol", "https")
            suffix = settings.get("endpointsuffix", "core.windows.net")
            primary = f"{protocol}://{account}.table.{suffix}"
        return cls(
            primary_endpoint=primary,
            secondary_endpoint=secondary_endpoint or settings.get("tablesecondaryendpoint"),
            credential=credential,
            table_name=table_name,
        )


def _parse_connection_string(text: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for part in text.split(";"):
        name, equals, value = part.strip().partition("=")
        if equals:
            settings[name.strip().lower()] = value.strip()
    return settings


class TableReader:
    """One endpoint of the table: `get_entity(group, "active")`, quickly and without SDK retries.

    The client's own fallback chain is the retry: a slow primary must hand over to the
    secondary within the client's timeout, not after the SDK's default back-off.
    """

    def __init__(
        self, label: str, endpoint: str, source: TableSource, *, group: str, timeout: float
    ) -> None:
        self.label = label
        self.identity = f"table:{safe_url(endpoint)}/{source.table_name}"
        self._where = f"{safe_url(endpoint)}, table {source.table_name}"
        self._group = group
        self._client = TableClient(
            endpoint=endpoint,
            table_name=source.table_name,
            credential=source.credential,
            retry_total=0,
            connection_timeout=timeout,
            read_timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"TableReader({self.label!r}, {self._where!r})"

    def read(self, cached: ActiveAccount | None, now: datetime, timeout: float) -> Read:
        """The entity as an ActiveAccount; `now` decides whether a pin with an expiry holds."""
        try:
            entity = self._client.get_entity(
                partition_key=self._group,
                row_key=ACTIVE_ROW,
                connection_timeout=timeout,
                read_timeout=timeout,
            )
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "TableNotFound":
                raise SourceError(
                    f"no such table ({self._where}): check the table name", "misconfigured"
                ) from None
            # The app writes a group's entity at its first change or readiness check.
            raise SourceError(
                f"no active entity for group {self._group!r} yet ({self._where})"
            ) from None
        except (ServiceRequestTimeoutError, ServiceResponseTimeoutError):
            raise SourceError(f"timed out after {round(timeout, 1):g} s ({self._where})") from None
        except HttpResponseError as exc:
            error_code = getattr(exc, "error_code", None)
            code = f" {error_code}" if error_code else ""
            if exc.status_code in (401, 403):
                raise SourceError(
                    f"answered {exc.status_code}{code}: the reader needs Storage Table Data "
                    f"Reader, a valid key or a read SAS ({self._where})",
                    "misconfigured",
                ) from None
            raise SourceError(f"answered {exc.status_code}{code} ({self._where})") from None
        except AzureError as exc:
            raise SourceError(f"unreachable ({network_reason(exc)}; {self._where})") from None
        try:
            account = account_from_entity(
                entity, source=self.label, fetched_at=now, etag=entity.metadata.get("etag")
            )
        except ValueError as exc:
            raise SourceError(f"malformed entity: {exc} ({self._where})") from None
        return Read(account)

    def close(self) -> None:
        """Release the SDK client's connections."""
        self._client.close()


def table_readers(
    table: TableSource | None, group: str | None, timeout: float
) -> list[TableReader]:
    """A reader of the group's row on each of the table's endpoints, the primary first; none
    without a table or a group."""
    if table is None or group is None:
        return []
    endpoints = [("table:primary", table.primary_endpoint)]
    if table.secondary_endpoint:
        endpoints.append(("table:secondary", table.secondary_endpoint))
    return [
        TableReader(label, endpoint, table, group=group, timeout=timeout)
        for label, endpoint in endpoints
    ]
