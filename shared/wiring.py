"""The composition root: settings at import, clients on first use.

Importing the function app parses and validates the settings (so a bad configuration stops
the app at start, naming the key) but connects to nothing: the Table client and the
controller are built by the first request that needs them.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient, TableServiceClient
from requests.adapters import HTTPAdapter

from shared.adapters.arm import ArmClient, StaticTokenCredential
from shared.adapters.notify import WebhookNotifier
from shared.adapters.probe import AccountProber
from shared.adapters.storage_queue import StorageWorkQueue
from shared.adapters.table_store import TableStateStore
from shared.app.controller import Controller
from shared.app.ports import Notifier
from shared.app.telemetry import NullTelemetry, Telemetry
from shared.core.notification import NullNotifier
from shared.http.auth import AlertAuthenticator
from shared.http.handlers import HttpApi
from shared.http.operators import OperatorAuthenticator
from shared.settings import Settings, StorageSettings, load_settings

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient

log = logging.getLogger(__name__)
T = TypeVar("T")
STORAGE_POOL_SIZE = 64


def build_api(env: Mapping[str, str] | None = None) -> HttpApi:
    """Validate the settings now; build the controller lazily."""
    settings = load_settings(os.environ if env is None else env)
    log.info(
        "vi-failover: %d group(s), state table %s at %s",
        len(settings.config.groups),
        settings.table_name,
        settings.storage.describe(),
    )
    operators = OperatorAuthenticator.from_settings(settings)
    log.info("operators: %s", operators.describe())
    observed = telemetry(settings)
    return HttpApi(
        settings,
        _once(lambda: build_controller(settings, observed)),
        alert_authenticator(settings),
        operators,
    )


def alert_authenticator(settings: Settings) -> AlertAuthenticator:
    """The ALERT_* checks on POST /api/alerts; built now, as it fetches no key until a token."""
    authenticator = AlertAuthenticator.from_settings(settings)
    if authenticator.configured:
        log.info("alerts are authenticated by the function key and %s", authenticator.describe())
    else:
        log.warning(
            "neither ALERT_SHARED_SECRET nor ALERT_AAD_TENANT_ID/ALERT_AAD_AUDIENCE is set: "
            "the function key is the only guard on POST /api/alerts"
        )
    return authenticator


def telemetry(settings: Settings) -> Telemetry:
    """OpenTelemetry to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set,
    configured once, here at start-up; otherwise nothing, and nothing of it is imported."""
    connection_string = settings.applicationinsights_connection_string
    if connection_string is None:
        return NullTelemetry()
    # Imported here: OpenTelemetry and the distro would add to every cold start with it off.
    from shared.adapters.telemetry import start_azure_monitor  # noqa: PLC0415

    log.info("telemetry: OpenTelemetry traces, metrics and logs to Application Insights")
    return start_azure_monitor(connection_string)


def build_controller(settings: Settings, observed: Telemetry | None = None) -> Controller:
    """The controller on the Table store, ARM and the VI API the settings name."""
    arm = ArmClient(
        arm_credential(settings),
        base_url=settings.arm_base_url,
        timeout=settings.probe_timeout_seconds,
    )
    store = TableStateStore(table_client(settings))
    prober = AccountProber(
        arm,
        vi_base_url=settings.vi_base_url,
        timeout=settings.probe_timeout_seconds,
        slow_ms=settings.probe_slow_ms,
    )
    return Controller(
        settings.config,
        store,
        arm=arm,
        prober=prober,
        notifier=notifier(settings),
        queue=StorageWorkQueue(queue_client(settings)),
        inline_groups=settings.fanout_inline_groups,
        timekeeping=settings.timekeeping,
        telemetry=observed,
    )


def notifier(settings: Settings) -> Notifier:
    """Webhook notifications when NOTIFY_WEBHOOK_URL is set."""
    if settings.notify_webhook_url is None:
        return NullNotifier()
    return WebhookNotifier(settings.notify_webhook_url, timeout=settings.notify_timeout_seconds)


def arm_credential(settings: Settings) -> TokenCredential:
    """DefaultAzureCredential (managed identity in Azure), or the local stand-in's fixed token."""
    if settings.arm_static_token:
        log.warning("ARM_STATIC_TOKEN is set: using a fixed token (local development only)")
        return StaticTokenCredential(settings.arm_static_token)
    return _default_credential(settings.azure_client_id)


def _pooled_transport(timeout: float) -> RequestsTransport:
    """A transport whose pool fits concurrent deliveries (urllib3's default keeps only 10).

    Its session does not consult the environment on each call (`trust_env`): requests would
    otherwise scan every environment variable for proxies and look for a ~/.netrc on every
    storage call, about 7% of a fan-out's CPU. `_environment_once` reads the same settings
    once, for the one endpoint the transport talks to."""
    session = requests.Session()
    session.trust_env = False
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=STORAGE_POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RequestsTransport(
        session=session, session_owner=False, connection_timeout=timeout, read_timeout=timeout
    )


@functools.cache
def _default_credential(client_id: str | None) -> TokenCredential:
    """One credential per identity, shared by the table, queue and ARM clients, so each
    token is fetched once rather than once per client."""
    # Imported here: azure-identity is heavy and building it early slows cold start.
    from azure.identity import DefaultAzureCredential  # noqa: PLC0415

    return DefaultAzureCredential(managed_identity_client_id=client_id)


def _environment_once(transport: RequestsTransport, endpoint: str) -> None:
    """What requests reads from the environment per call, read once for `endpoint`: its proxy
    (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY; none when NO_PROXY names it) and a CA bundle
    (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE). No ~/.netrc: storage calls carry their own
    Authorization, which netrc's basic auth would replace."""
    session = transport.session
    assert session is not None  # noqa: S101  _pooled_transport gives each transport its session
    session.proxies = requests.utils.get_environ_proxies(endpoint)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle


def table_client(settings: Settings) -> TableClient:
    """A TableClient with timeouts short enough to answer the action group within 10 s."""
    transport = _pooled_transport(settings.storage_timeout_seconds)
    service = _service_client(settings.storage, transport)
    _environment_once(transport, service.url)
    return service.get_table_client(settings.table_name)


def queue_client(settings: Settings) -> QueueClient:
    """The fan-out queue, base64-encoded as the Functions host's queue trigger expects."""
    # Imported here, like azure-identity: the queue SDK adds about 20 ms to a cold start.
    from azure.storage.queue import (  # noqa: PLC0415
        LinearRetry,
        QueueClient,
        TextBase64EncodePolicy,
    )

    storage = settings.storage
    transport = _pooled_transport(settings.storage_timeout_seconds)
    options: dict[str, Any] = {
        "transport": transport,
        # One retry, 1 s later: the queue SDK's default waits 15-21 s before it, longer than
        # the action group waits for the webhook's answer.
        "retry_policy": LinearRetry(backoff=1, random_jitter_range=0, retry_total=1),
        "message_encode_policy": TextBase64EncodePolicy(),
    }
    if storage.queue_service_uri:
        credential = _default_credential(storage.client_id)
        client = QueueClient(
            storage.queue_service_uri, settings.fanout_queue, credential=credential, **options
        )
    else:
        assert storage.connection_string is not None  # noqa: S101  settings guarantee one
        client = QueueClient.from_connection_string(
            storage.connection_string, settings.fanout_queue, **options
        )
    _environment_once(transport, client.url)
    return client


def _service_client(storage: StorageSettings, transport: RequestsTransport) -> TableServiceClient:
    # One quick retry at most: the action group's own retries cover longer outages.
    options: dict[str, Any] = {
        "transport": transport,
        "retry_total": 1,
        "retry_backoff_factor": 0.2,
        "retry_backoff_max": 1,
    }
    if storage.table_service_uri:
        credential = _default_credential(storage.client_id)
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
