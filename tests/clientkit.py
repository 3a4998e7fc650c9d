"""What the client's tests share: a clock the test moves, a fixed credential, dead sources."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from azure.core.credentials import AccessToken, AzureNamedKeyCredential
from vi_failover_client import ActiveAccount, TableSource
from vi_failover_client.account import account_view
from vi_failover_client.credentials import StaticTokenCredential

from devhost.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite, free_port
from tests.activeaccount_server import view
from tests.core import T0


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        with self._lock:
            self.now += seconds


class StaticCredential(StaticTokenCredential):
    """The client's fixed-token credential (valid for an hour), noting the scopes asked for."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """The fixed token; the scopes are noted."""
        self.scopes.append(scopes)
        return super().get_token(*scopes, **kwargs)


def as_view(account: ActiveAccount) -> dict[str, object]:
    """The account as the endpoint's JSON body, to compare with what the app serves."""
    return account_view(account)


def dead_url() -> str:
    """A base URL on a port nothing listens on: a source that is down."""
    return f"http://127.0.0.1:{free_port()}/api"


def dead_table(**credential: Any) -> TableSource:
    """A table whose primary and secondary are both down."""
    return TableSource(
        primary_endpoint=f"http://127.0.0.1:{free_port()}/{ACCOUNT_NAME}",
        secondary_endpoint=f"http://127.0.0.1:{free_port()}/{ACCOUNT_NAME}",
        credential=credential.get("credential", AzureNamedKeyCredential(ACCOUNT_NAME, ACCOUNT_KEY)),
    )


def table_endpoint(azurite: Azurite) -> str:
    """The Azurite table service's endpoint, as a TableSource takes it."""
    return f"http://127.0.0.1:{azurite.port}/{ACCOUNT_NAME}"


def westus(**changes: Any) -> ActiveAccount:
    """contoso-westus as the flag names it."""
    body = view("contoso-westus", 2)
    account = body["account"]
    assert isinstance(account, dict)
    values: dict[str, Any] = {
        "group": "default",
        "name": account["name"],
        "account_id": account["accountId"],
        "location": account["location"],
        "resource_id": account["resourceId"],
        "role": "secondary",
        "version": 2,
        "since": T0,
        "reason": "test",
        "pinned": False,
        "source": "table:primary",
        "fetched_at": datetime.now(UTC),
        "stale": False,
        "etag": None,
    }
    return ActiveAccount(**{**values, **changes})
