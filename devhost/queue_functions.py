"""Queue-triggered functions from their metadata: queues and connections, as the host reads them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import AzureError
from azure.functions.decorators.function_app import Function
from azure.functions.decorators.queue import QueueTrigger
from azure.storage.queue import LinearRetry, QueueClient

from devhost.app_settings import AppSettings, SettingError
from devhost.discovery import Binding, triggered_by
from devhost.queue_options import QueueOptions

DEFAULT_CONNECTION = "AzureWebJobsStorage"  # the host's storage when a trigger names none
# 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.
_QUEUE_NAME = re.compile(r"(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*")


class QueueTriggerError(ValueError):
    """A queue function's connection setting is unset or invalid, or its queue name is."""


@dataclass(frozen=True)
class QueueFunction:
    """One queue-triggered function as the host listens for it."""

    name: str
    queue_name: str  # as declared, e.g. "%FANOUT_QUEUE%"
    queue: str  # after %SETTING% resolution, lower-cased as the host does
    connection: str  # the app setting that holds the storage connection string
    connection_string: str = field(repr=False)
    handler: Callable[..., Any] = field(repr=False)
    arg_name: str = "msg"  # the worker passes the QueueMessage by the binding's name


def _connection_string(name: str, connection: str, environ: Mapping[str, str]) -> str:
    # Like the host, a connection named X may also be given as AzureWebJobsX.
    for setting in (connection, f"AzureWebJobs{connection}"):
        value = environ.get(setting, "").strip()
        if value:
            return value
    identity = [s for s in environ if s.startswith(f"{connection}__")]
    hint = (
        f" (the local host needs a connection string; {', '.join(sorted(identity))} "
        "describe an identity-based connection, which it does not support)"
        if identity
        else ""
    )
    raise QueueTriggerError(
        f"queue function {name!r}: app setting {connection} is not set; it must hold the "
        f"storage connection string{hint}"
    )


def _load_queue_function(
    binding: Binding, trigger: QueueTrigger, settings: AppSettings
) -> QueueFunction:
    name, declared = binding.name, str(trigger.queue_name)
    try:
        queue = settings.resolve(declared).lower()
    except SettingError as exc:
        raise QueueTriggerError(f"queue function {name!r}: queue_name {declared!r}: {exc}") from exc
    if _QUEUE_NAME.fullmatch(queue) is None:
        raise QueueTriggerError(
            f"queue function {name!r}: {queue!r} (from {declared!r}) is not a valid queue name: "
            "3-63 letters, digits and single hyphens"
        )
    connection = trigger.connection or DEFAULT_CONNECTION
    return QueueFunction(
        name=name,
        queue_name=declared,
        queue=queue,
        connection=connection,
        connection_string=_connection_string(name, connection, settings.environ),
        handler=binding.handler,
        arg_name=binding.arg_name,
    )


def queues_from_functions(
    functions: Iterable[Function], settings: AppSettings
) -> tuple[QueueFunction, ...]:
    """The queue-triggered functions among `functions`, their queues and connections resolved."""
    return tuple(
        _load_queue_function(b, t, settings) for b, t in triggered_by(functions, QueueTrigger)
    )


def queue_client(function: QueueFunction, queue: str, options: QueueOptions) -> QueueClient:
    """A client for `queue` over the function's connection; it makes no network call."""
    try:
        return QueueClient.from_connection_string(
            function.connection_string,
            queue,
            connection_timeout=options.request_timeout,
            read_timeout=options.request_timeout,
            # Settling retries a little; polling passes retry_total=0, since it backs off itself.
            retry_policy=LinearRetry(backoff=1, random_jitter_range=1, retry_total=2),
        )
    except ValueError as exc:  # the SDK's message never echoes the string, which holds the key
        raise QueueTriggerError(
            f"queue function {function.name!r}: app setting {function.connection} is not a "
            f"valid storage connection string: {exc}"
        ) from exc


def describe_error(exc: AzureError) -> str:
    """The error's type and first line: SDK messages run to many lines of XML."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"
