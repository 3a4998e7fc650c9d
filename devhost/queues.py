"""Run queue-triggered functions the way the Functions host's Storage Queue trigger does.

For local runs only. Each queue function gets a listener thread that receives up to `batchSize`
messages at a time under a processing lease, backs off exponentially while the queue is empty (or
missing, or storage fails) up to `maxPollingInterval`, and fetches again once no more than
`newBatchThreshold` messages are still being handled. A message whose function succeeds is
deleted; one that fails shows again after `visibilityTimeout`, and after `maxDequeueCount`
attempts moves to `<queue>-poison`, as does a message that is not valid base64 when
`messageEncoding` is "base64". Options come from host.json's `extensions.queues`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import inspect
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions.queue as func_queue
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.functions.decorators.function_app import Function
from azure.functions.decorators.queue import QueueTrigger
from azure.storage.queue import LinearRetry, QueueClient, QueueMessage

from devhost.timers import TimerScheduleError, resolve_settings

logger = logging.getLogger(__name__)

DEFAULT_CONNECTION = "AzureWebJobsStorage"  # the host's storage when a trigger names none
POISON_SUFFIX = "-poison"
MAX_BATCH_SIZE = 32  # the most messages one Get Messages call returns
ENCODINGS = ("base64", "none")
_KEYS = {
    "batchSize": "batch_size",
    "newBatchThreshold": "new_batch_threshold",
    "maxPollingInterval": "max_polling_interval",
    "visibilityTimeout": "visibility_timeout",
    "maxDequeueCount": "max_dequeue_count",
    "messageEncoding": "message_encoding",
}
_TIMESPANS = frozenset({"maxPollingInterval", "visibilityTimeout"})
# .NET's TimeSpan "c" format, which host.json uses: [d.]hh:mm:ss[.fffffff]
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?")
# 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.
_QUEUE_NAME = re.compile(r"(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*")


class QueueOptionsError(ValueError):
    """host.json's `extensions.queues` holds a value the Functions host would reject."""


class QueueTriggerError(ValueError):
    """A queue function's connection setting is unset or invalid, or its queue name is."""


# --- options -----------------------------------------------------------------------------------


def parse_timespan(text: object, key: str) -> float:
    """Seconds in a .NET TimeSpan such as "00:00:02" or "1.00:00:00"; the error names `key`."""
    found = _TIMESPAN.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise QueueOptionsError(f'{key} must be a timespan like "00:00:02", got {text!r}')
    days, hours, minutes, seconds, fraction = found.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
        raise QueueOptionsError(f"{key}: {text!r} is out of range (hh < 24, mm and ss < 60)")
    return (
        int(days or 0) * 86400
        + int(hours) * 3600
        + int(minutes) * 60
        + int(seconds)
        + float(f"0.{fraction or 0}")
    )


@dataclass(frozen=True)
class QueueOptions:
    """How queue listeners poll and settle messages: host.json's `extensions.queues`.

    Times are in seconds. The last four fields are the local host's own, not host.json's.
    """

    batch_size: int = 16
    new_batch_threshold: int | None = None  # None: half the batch size, as on Azure
    max_polling_interval: float = 60.0
    visibility_timeout: float = 0.0  # how long a failed message stays hidden before its retry
    max_dequeue_count: int = 5
    message_encoding: str = "base64"
    min_polling_interval: float = 0.1  # where the back-off starts after an empty poll
    lease_seconds: int = 600  # a received message stays hidden this long while it is handled
    request_timeout: float = 10.0  # per storage call: a hung storage account cannot hold a poll
    drain_timeout: float = 30.0  # how long stopping waits for running invocations

    def __post_init__(self) -> None:
        checks: list[tuple[str, object, bool, str]] = [
            (
                "batchSize",
                self.batch_size,
                1 <= self.batch_size <= MAX_BATCH_SIZE,
                f"1 to {MAX_BATCH_SIZE}",
            ),
            ("newBatchThreshold", self.new_batch_threshold, self.batch_threshold >= 0, ">= 0"),
            ("maxDequeueCount", self.max_dequeue_count, self.max_dequeue_count >= 1, ">= 1"),
            ("visibilityTimeout", self.visibility_timeout, self.visibility_timeout >= 0, ">= 0s"),
            (
                "messageEncoding",
                self.message_encoding,
                self.message_encoding in ENCODINGS,
                "base64 or none",
            ),
            (
                "min_polling_interval",
                self.min_polling_interval,
                self.min_polling_interval > 0,
                "> 0s",
            ),
            (
                "maxPollingInterval",
                self.max_polling_interval,
                self.max_polling_interval >= self.min_polling_interval,
                f">= {self.min_polling_interval:g}s",
            ),
            ("lease_seconds", self.lease_seconds, self.lease_seconds >= 1, ">= 1s"),
            ("request_timeout", self.request_timeout, self.request_timeout > 0, "> 0s"),
            ("drain_timeout", self.drain_timeout, self.drain_timeout >= 0, ">= 0s"),
        ]
        for key, value, valid, rule in checks:
            if not valid:
                raise QueueOptionsError(f"{key} must be {rule}, got {value!r}")

    @property
    def batch_threshold(self) -> int:
        """Fetch again once no more than this many received messages are still being handled."""
        if self.new_batch_threshold is None:
            return self.batch_size // 2
        return self.new_batch_threshold


def parse_queue_options(config: Mapping[str, object]) -> QueueOptions:
    """QueueOptions from host.json's `extensions.queues` object."""
    values: dict[str, Any] = {}
    for key, raw in config.items():
        name = _KEYS.get(key)
        if name is None:
            logger.warning("host.json: extensions.queues.%s is not used by the local host", key)
        elif key in _TIMESPANS:
            values[name] = parse_timespan(raw, key)
        elif key == "messageEncoding":
            if not isinstance(raw, str):
                raise QueueOptionsError(f'messageEncoding must be "base64" or "none", got {raw!r}')
            values[name] = raw.lower()  # the host parses the enum ignoring case
        elif isinstance(raw, int) and not isinstance(raw, bool):
            values[name] = raw
        else:
            raise QueueOptionsError(f"{key} must be a whole number, got {raw!r}")
    return QueueOptions(**values)


def read_queue_options(host_json: Path) -> QueueOptions:
    """The options in host.json's `extensions.queues` (the host's defaults when it is absent).

    Raises QueueOptionsError naming the file and the key of a value the host would reject.
    """
    try:
        config = json.loads(host_json.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return QueueOptions()
    queues = config.get("extensions", {}).get("queues", {})
    if not isinstance(queues, dict):
        raise QueueOptionsError(f"{host_json}: extensions.queues must be an object")
    try:
        return parse_queue_options(queues)
    except QueueOptionsError as exc:
        raise QueueOptionsError(f"{host_json}: extensions.queues: {exc}") from exc


# --- queue functions from metadata -------------------------------------------------------------


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
    function: Function,
    trigger: QueueTrigger,
    environ: Mapping[str, str],
    defaults: Mapping[str, str],
) -> QueueFunction:
    name = function.get_function_name() or function.get_user_function().__name__
    declared = str(trigger.queue_name)
    try:
        queue = resolve_settings(declared, environ, defaults).lower()
    except TimerScheduleError as exc:  # resolve_settings speaks of schedules; the fault is ours
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
        connection_string=_connection_string(name, connection, environ),
        handler=function.get_user_function(),
        arg_name=trigger.name,
    )


def queues_from_functions(
    functions: Iterable[Function],
    *,
    environ: Mapping[str, str],
    defaults: Mapping[str, str],
) -> tuple[QueueFunction, ...]:
    """The queue-triggered functions among `functions`, their queues and connections resolved."""
    found = []
    for function in functions:
        trigger = function.get_trigger()
        if isinstance(trigger, QueueTrigger):
            found.append(_load_queue_function(function, trigger, environ, defaults))
    return tuple(found)


def decode_body(text: str, encoding: str) -> bytes:
    """A message's body as the function sees it; ValueError when it is not valid base64."""
    if encoding == "none":
        return text.encode()
    try:
        # Like .NET's Convert.FromBase64String: whitespace is ignored, anything else is an error.
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not valid base64: {exc}") from exc


# --- listening ---------------------------------------------------------------------------------


def _client(function: QueueFunction, queue: str, options: QueueOptions) -> QueueClient:
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


class QueueListener:
    """Polls one function's queue from a daemon thread and runs the function on each message.

    Each message is handled in a thread of its own; at most `batch_size` invocations run at once.
    Building a listener makes no network call.
    """

    def __init__(self, function: QueueFunction, options: QueueOptions) -> None:
        self._function = function
        self._options = options
        self._queue = _client(function, function.queue, options)
        self._poison = _client(function, function.queue + POISON_SUFFIX, options)
        self._slots = threading.BoundedSemaphore(options.batch_size)
        self._changed = threading.Condition()  # guards everything below
        self._in_flight = 0  # received and not yet settled
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._workers: list[threading.Thread] = []

    @property
    def function(self) -> QueueFunction:
        """The function this listener runs."""
        return self._function

    def start(self) -> None:
        """Start polling; later calls, and calls after `request_stop()`, do nothing."""
        with self._changed:
            if self._thread is not None or self._stopping:
                return
            self._thread = threading.Thread(
                target=self._poll, name=f"devhost-queue-{self._function.name}", daemon=True
            )
            self._thread.start()
        logger.info(
            "Queue trigger 'Functions.%s' listening on '%s'", self._function.name, self._queue_name
        )

    def request_stop(self) -> None:
        """Stop polling now; messages received but not yet started are released for others."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()

    def wait_stopped(self, deadline: float) -> bool:
        """Wait until polling ended and invocations finished, or `deadline` (monotonic) passed.

        Returns whether every thread of this listener has ended.
        """
        me = threading.current_thread()
        with self._changed:
            poller = self._thread if self._thread is not me else None
        # The poller first: until it has ended it may still hand out messages to new workers.
        if poller is not None:
            poller.join(max(0.0, deadline - time.monotonic()))
        with self._changed:
            workers = [t for t in self._workers if t is not me]
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        left = [t for t in (poller, *workers) if t is not None and t.is_alive()]
        if left:
            logger.warning(
                "'Functions.%s' did not stop in time: %d invocation(s) or storage call(s) still "
                "running; their messages show again when their lease ends",
                self._function.name,
                len(left),
            )
        return not left

    @property
    def _queue_name(self) -> str:
        return self._function.queue

    # --- the polling thread ----------------------------------------------------------------

    def _poll(self) -> None:
        options = self._options
        delay = options.min_polling_interval
        health = _PollHealth(self._function.name, self._queue_name)
        while self._wait_for_capacity():
            try:
                messages = self._receive()
            except ResourceNotFoundError:
                health.missing()
                messages = []
            except AzureError as exc:
                health.failed(exc)
                messages = []
            except Exception:  # logged: the listener must outlive any surprise
                logger.exception("Polling queue '%s' failed unexpectedly", self._queue_name)
                messages = []
            else:
                health.succeeded()
            for message in messages:
                self._dispatch(message)
            if messages:
                delay = options.min_polling_interval
                continue
            if not self._sleep(delay):
                return
            delay = min(delay * 2, options.max_polling_interval)

    def _wait_for_capacity(self) -> bool:
        """Wait until few enough messages are in flight to fetch more; False once stopping."""
        threshold = self._options.batch_threshold
        with self._changed:
            self._changed.wait_for(lambda: self._stopping or self._in_flight <= threshold)
            return not self._stopping

    def _sleep(self, seconds: float) -> bool:
        """Wait `seconds` unless stopping begins; False once stopping."""
        with self._changed:
            return not self._changed.wait_for(lambda: self._stopping, timeout=seconds)

    def _receive(self) -> list[QueueMessage]:
        pages = self._queue.receive_messages(
            messages_per_page=self._options.batch_size,
            visibility_timeout=self._options.lease_seconds,
            retry_total=0,
        ).by_page()
        first = next(pages, None)  # one Get Messages call: an empty queue yields no page
        return [] if first is None else list(first)

    def _dispatch(self, message: QueueMessage) -> None:
        worker = threading.Thread(
            target=self._handle,
            args=(message,),
            name=f"devhost-queue-{self._function.name}-message",
            daemon=True,
        )
        with self._changed:
            self._in_flight += 1
            self._workers = [t for t in self._workers if t.is_alive()]
            self._workers.append(worker)
        worker.start()

    # --- one message ------------------------------------------------------------------------

    def _handle(self, message: QueueMessage) -> None:
        try:
            with self._slots:
                with self._changed:
                    stopping = self._stopping
                if stopping:  # not started: let the next host have it at once
                    self._storage_call(
                        f"release message {message.id}",
                        lambda: self._queue.update_message(message, visibility_timeout=0),
                    )
                else:
                    self._process(message)
        except Exception:  # logged: nothing waits on this thread
            logger.exception("Handling message %s from '%s' failed", message.id, self._queue_name)
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    def _process(self, message: QueueMessage) -> None:
        try:
            body = decode_body(str(message.content), self._options.message_encoding)
        except ValueError as exc:
            logger.error(
                "Message %s on '%s' cannot be decoded (messageEncoding is %s: %s). "
                "Moving message to queue '%s%s'.",
                message.id,
                self._queue_name,
                self._options.message_encoding,
                exc,
                self._queue_name,
                POISON_SUFFIX,
            )
            self._move_to_poison(message)
            return
        if self._invoke(message, body):
            self._delete(message)
        elif (message.dequeue_count or 0) >= self._options.max_dequeue_count:
            logger.error(
                "Message %s has reached MaxDequeueCount of %d. Moving message to queue '%s%s'.",
                message.id,
                self._options.max_dequeue_count,
                self._queue_name,
                POISON_SUFFIX,
            )
            self._move_to_poison(message)
        else:
            self._retry_later(message)

    def _invoke(self, message: QueueMessage, body: bytes) -> bool:
        """Run the function on the message; whether it succeeded (a failure is logged)."""
        function = self._function
        # The worker's own type, a func.QueueMessage that also has the dequeue count and times;
        # its constructor is unannotated.
        request = func_queue.QueueMessage(  # type: ignore[no-untyped-call]
            id=message.id,
            body=body,
            pop_receipt=message.pop_receipt,
            dequeue_count=message.dequeue_count,
            insertion_time=message.inserted_on,
            expiration_time=message.expires_on,
            time_next_visible=message.next_visible_on,
        )
        invocation = uuid.uuid4()
        reason = f"New queue message detected on '{self._queue_name}'."
        logger.info(
            "Executing 'Functions.%s' (Reason='%s', Id=%s)", function.name, reason, invocation
        )
        logger.info(
            "Trigger Details: MessageId: %s, DequeueCount: %s, InsertedOn: %s",
            message.id,
            message.dequeue_count,
            message.inserted_on,
        )
        started = time.perf_counter()
        try:
            result = function.handler(**{function.arg_name: request})
            if inspect.iscoroutine(result):
                asyncio.run(result)  # each message has a thread of its own: a fresh loop is safe
        except Exception:  # the host logs a failed invocation, then settles the message
            logger.exception(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)",
                function.name,
                invocation,
                (time.perf_counter() - started) * 1000,
            )
            return False
        logger.info(
            "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)",
            function.name,
            invocation,
            (time.perf_counter() - started) * 1000,
        )
        return True

    def _delete(self, message: QueueMessage) -> None:
        self._storage_call(
            f"delete message {message.id}", lambda: self._queue.delete_message(message)
        )

    def _retry_later(self, message: QueueMessage) -> None:
        delay = math.ceil(self._options.visibility_timeout)  # the service counts whole seconds
        shown_again = self._storage_call(
            f"retry message {message.id}",
            lambda: self._queue.update_message(message, visibility_timeout=delay),
        )
        if shown_again:
            logger.info(
                "Message %s on '%s' failed (dequeue count %s of %d); retrying in %ds",
                message.id,
                self._queue_name,
                message.dequeue_count,
                self._options.max_dequeue_count,
                delay,
            )

    def _storage_call(self, what: str, call: Callable[[], object]) -> bool:
        """Make a settling call; whether it worked (a failure is logged, never raised)."""
        try:
            call()
        except AzureError as exc:
            logger.warning(
                "Could not %s on '%s' (%s); it shows again when its lease ends",
                what,
                self._queue_name,
                _describe(exc),
            )
            return False
        return True

    def _move_to_poison(self, message: QueueMessage) -> None:
        """Copy the message's original text to `<queue>-poison`, creating it, then delete it."""
        if self._storage_call(
            f"move message {message.id} to '{self._queue_name}{POISON_SUFFIX}'",
            lambda: self._send_to_poison(str(message.content)),
        ):
            self._delete(message)

    def _send_to_poison(self, text: str) -> None:
        try:
            self._poison.send_message(text)
        except ResourceNotFoundError:
            with contextlib.suppress(ResourceExistsError):
                self._poison.create_queue()
            self._poison.send_message(text)


class _PollHealth:
    """Logs each change in a listener's polling once: the queue missing, storage failing, back."""

    def __init__(self, function_name: str, queue: str) -> None:
        self._function_name = function_name
        self._queue = queue
        self._state = "ok"

    def missing(self) -> None:
        if self._state != "missing":
            logger.info(
                "Queue '%s' does not exist yet; 'Functions.%s' polls it until it does",
                self._queue,
                self._function_name,
            )
        self._state = "missing"

    def failed(self, exc: AzureError) -> None:
        log = logger.warning if self._state != "failing" else logger.debug
        log("Polling queue '%s' failed (%s); backing off", self._queue, _describe(exc))
        self._state = "failing"

    def succeeded(self) -> None:
        if self._state == "failing":
            logger.info("Polling queue '%s' works again", self._queue)
        self._state = "ok"


def _describe(exc: AzureError) -> str:
    """The error's type and first line: SDK messages run to many lines of XML."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"


class QueueListeners:
    """A listener for each queue function; the host starts and stops them together."""

    def __init__(self, functions: Sequence[QueueFunction], options: QueueOptions) -> None:
        self._listeners = tuple(QueueListener(function, options) for function in functions)
        self._options = options

    @property
    def functions(self) -> tuple[QueueFunction, ...]:
        """The queue functions in registration order."""
        return tuple(listener.function for listener in self._listeners)

    def start(self) -> None:
        """Start every listener; later calls do nothing."""
        for listener in self._listeners:
            listener.start()

    def stop(self) -> bool:
        """Stop polling everywhere, then wait (bounded) for running invocations to finish.

        Returns whether every listener thread has ended.
        """
        for listener in self._listeners:
            listener.request_stop()
        options = self._options
        deadline = time.monotonic() + options.request_timeout + options.drain_timeout
        ended = [listener.wait_stopped(deadline) for listener in self._listeners]  # every one
        return all(ended)
