"""The composition root: settings at import, clients on first use.

Importing the function app parses and validates the settings (so a bad configuration stops
the app at start, naming the key) but connects to nothing: the Table client and the
controller are built by the first request that needs them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from azure.data.tables import TableClient, TableServiceClient

from shared.http_api import HttpApi
from shared.service import Controller
from shared.settings import Settings, StorageSettings, load_settings
from shared.table_store import TableStateStore

log = logging.getLogger(__name__)
T = TypeVar("T")


def build_api(env: Mapping[str, str] | None = None) -> HttpApi:
    """Validate the settings now; build the controller lazily."""
    settings = load_settings(os.environ if env is None else env)
    log.info(
        "vi-failover: %d group(s), state table %s at %s",
        len(settings.config.groups),
        settings.table_name,
        settings.storage.describe(),
    )
    return HttpApi(settings, _once(lambda: build_controller(settings)))


def build_controller(settings: Settings) -> Controller:
    """The controller on the Table store the settings name."""
    store = TableStateStore(table_client(settings), settings.config)
    return Controller(settings.config, store)


def table_client(settings: Settings) -> TableClient:
    """A TableClient with timeouts short enough to answer the action group within 10 s."""
    service = _service_client(settings.storage, settings.storage_timeout_seconds)
    return service.get_table_client(settings.table_name)


def _service_client(storage: StorageSettings, timeout: float) -> TableServiceClient:
    # One quick retry at most: the action group's own retries cover longer outages.
    options: dict[str, Any] = {
        "connection_timeout": timeout,
        "read_timeout": timeout,
        "retry_total": 1,
        "retry_backoff_factor": 0.2,
        "retry_backoff_max": 1,
    }
    if storage.table_service_uri:
        # Imported here: azure-identity is heavy and only managed-identity deployments need it.
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415

        credential = DefaultAzureCredential(managed_identity_client_id=storage.client_id)
        return TableServiceClient(
            endpoint=storage.table_service_uri, credential=credential, **options
        )
    assert storage.connection_string is not None  # noqa: S101  settings guarantee one of the two
    return TableServiceClient.from_connection_string(storage.connection_string, **options)


def _once(build: Callable[[], T]) -> Callable[[], T]:
    """A thread-safe memo: `build` runs on the first call only (or again after it raised)."""
    lock = threading.Lock()
    built: list[T] = []

    def get() -> T:
        if not built:
            with lock:
                if not built:
                    built.append(build())
        return built[0]

    return get
