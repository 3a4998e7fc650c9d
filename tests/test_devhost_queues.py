"""Queue triggers in the local host: options, discovery, delivery, retries, poison, resilience."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.storage.queue import QueueClient

from devhost.azurite import Azurite, free_port, port_accepts
from devhost.host import LocalFunctionsHost
from devhost.queue_functions import QueueTriggerError
from devhost.queue_messages import decode_body
from devhost.queue_options import (
    QueueOptions,
    QueueOptionsError,
    parse_queue_options,
    parse_timespan,
    python_worker_threads,
    read_queue_options,
)
from tests.logwatch import LogWatch, watching

REPO_ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 10.0
QUEUE_SETTING = "TEST_QUEUE"
CONNECTION = "TestStorage"
# Polls every 10 to 100 ms and retries a failed message at once: no test waits on 2 s polling.
FAST = QueueOptions(
    max_polling_interval=0.1,
    min_polling_interval=0.01,
    visibility_timeout=0,
    max_dequeue_count=3,
    request_timeout=2.0,
    drain_timeout=5.0,
)

Handler = Callable[[func.QueueMessage], None]


# --- helpers -----------------------------------------------------------------------------------


def queue_app(handler: Handler, *, queue_name: str = f"%{QUEUE_SETTING}%") -> func.FunctionApp:
    """A FunctionApp with one queue-triggered function, `handler`, bound as `msg`."""
    app = func.FunctionApp()

    @app.function_name("work")
    @app.queue_trigger(arg_name="msg", queue_name=queue_name, connection=CONNECTION)
    def work(msg: func.QueueMessage) -> None:
        handler(msg)

    return app


class Deliveries:
    """The messages a queue function received, in order; tests wait on it instead of sleeping."""

    def __init__(self, fail: bool = False) -> None:
        self._changed = threading.Condition()
        self.messages: list[func.QueueMessage] = []
        self._fail = fail

    def __call__(self, msg: func.QueueMessage) -> None:
        with self._changed:
            self.messages.append(msg)
            self._changed.notify_all()
        if self._fail:
            raise RuntimeError("the function failed")

    def wait_for(self, count: int) -> list[func.QueueMessage]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, WAIT_SECONDS):
                raise AssertionError(f"{count} deliveries expected, got {len(self.messages)}")
            return list(self.messages)


@pytest.fixture
def logs() -> Iterator[LogWatch]:
    with watching("devhost.queues", WAIT_SECONDS) as watch:
        yield watch


@pytest.fixture
def queue_name() -> str:
    """A queue of its own for each test."""
    return "q" + uuid.uuid4().hex[:20]


@pytest.fixture
def queue(azurite: Azurite, queue_name: str) -> QueueClient:
    """The test's queue, created, on the suite's Azurite."""
    client = QueueClient.from_connection_string(azurite.connection_string, queue_name)
    client.create_queue()
    return client


@pytest.fixture
def hosts(azurite: Azurite, queue_name: str) -> Iterator[Callable[..., LocalFunctionsHost]]:
    """Builds started hosts for the test's queue on the suite's Azurite; shuts them down after."""
    built: list[LocalFunctionsHost] = []

    def build(app: func.FunctionApp, **options: Any) -> LocalFunctionsHost:
        environ = {QUEUE_SETTING: queue_name, CONNECTION: azurite.connection_string}
        options = {"environ": environ, "queue_options": FAST, **options}
        host = LocalFunctionsHost(app, port=0, **options)
        built.append(host)
        host.start_in_thread()
        return host

    yield build
    for host in built:
        host.shutdown()


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def message_count(queue: QueueClient) -> int:
    """Messages in the queue, including those hidden while being handled."""
    return int(queue.get_queue_properties().approximate_message_count or 0)


def texts(queue: QueueClient) -> list[str]:
    return [str(m.content) for m in queue.peek_messages(max_messages=32)]


def eventually(condition: Callable[[], bool]) -> None:
    """Wait until `condition` holds, checking every 10 ms; fail after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)  # polling storage for a state, not timing a result


def listener_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("devhost-queue-")]


# --- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:00:02", 2.0),
        ("00:01:00", 60.0),
        ("01:00:00", 3600.0),
        ("1.02:03:04", 93784.0),
        ("00:00:00.25", 0.25),
        ("0:00:10", 10.0),
    ],
    ids=["seconds", "minute", "hour", "days", "fraction", "one-digit-hour"],
)
def test_a_timespan_is_read_as_seconds(text: str, seconds: float) -> None:
    """host.json timespans are .NET's [d.]hh:mm:ss[.fffffff]."""
    assert seconds == parse_timespan(text, "maxPollingInterval")


@pytest.mark.parametrize(
    "text",
    ["2", "00:00", "00:60:00", "24:00:00", "00:00:2", "2s", "", 2],
    ids=["number-text", "no-seconds", "minutes", "hours", "one-digit-s", "unit", "empty", "int"],
)
def test_an_invalid_timespan_fails_naming_the_key(text: object) -> None:
    """Anything but a TimeSpan is refused, and the error says which option it was."""
    with pytest.raises(QueueOptionsError, match="visibilityTimeout"):
        parse_timespan(text, "visibilityTimeout")


def host_json_values(options: QueueOptions) -> tuple[object, ...]:
    """The options host.json sets, in its order: batch size, threshold, polling, retry delay,
    dequeue count, encoding."""
    return (
        options.batch_size,
        options.batch_threshold,
        options.max_polling_interval,
        options.visibility_timeout,
        options.max_dequeue_count,
        options.message_encoding,
    )


def test_the_project_host_json_sets_the_queue_options() -> None:
    """host.json's extensions.queues are the options the deployed app runs with."""
    options = read_queue_options(REPO_ROOT / "host.json")

    expected = (2, 1, 0.5, 10.0, 10, "base64")
    assert expected == host_json_values(options)


def test_without_a_queues_block_the_host_defaults_apply(tmp_path: Path) -> None:
    """The Functions host's defaults: 16, half of that, 1 minute, 0, 5, base64."""
    host_json = tmp_path / "host.json"
    host_json.write_text(json.dumps({"version": "2.0", "extensions": {"http": {}}}))

    options = read_queue_options(host_json)

    expected = (16, 8, 60.0, 0.0, 5, "base64")
    assert expected == host_json_values(options)


@pytest.mark.parametrize(
    ("queues", "key"),
    [
        ({"batchSize": 0}, "batchSize"),
        ({"batchSize": 33}, "batchSize"),
        ({"batchSize": "16"}, "batchSize"),
        ({"batchSize": True}, "batchSize"),
        ({"maxDequeueCount": 0}, "maxDequeueCount"),
        ({"newBatchThreshold": -1}, "newBatchThreshold"),
        ({"messageEncoding": "utf8"}, "messageEncoding"),
        ({"maxPollingInterval": "00:00:00.01"}, "maxPollingInterval"),
        ({"visibilityTimeout": 10}, "visibilityTimeout"),
    ],
    ids=["zero", "over-32", "text", "bool", "dequeue", "threshold", "encoding", "poll", "int-span"],
)
def test_an_invalid_option_fails_naming_the_file_and_key(
    tmp_path: Path, queues: dict[str, object], key: str
) -> None:
    """A value the Functions host would reject fails the start, saying where it is."""
    host_json = tmp_path / "host.json"
    host_json.write_text(json.dumps({"extensions": {"queues": queues}}))

    with pytest.raises(QueueOptionsError) as raised:
        read_queue_options(host_json)

    assert (True, True) == (str(host_json) in str(raised.value), key in str(raised.value))


def test_message_encoding_ignores_case() -> None:
    """The host reads the encoding as an enum, ignoring case."""
    assert "none" == parse_queue_options({"messageEncoding": "None"}).message_encoding


@pytest.mark.parametrize(
    ("text", "encoding", "body"),
    [
        ("aGVsbG8=", "base64", b"hello"),
        ("aGVs\nbG8=", "base64", b"hello"),
        ("aGVsbG8=", "none", b"aGVsbG8="),
        ("héllo", "none", "héllo".encode()),
    ],
    ids=["base64", "base64-whitespace", "none", "none-utf8"],
)
def test_a_body_is_decoded_by_the_message_encoding(text: str, encoding: str, body: bytes) -> None:
    """base64 is decoded (whitespace ignored, like .NET); "none" passes the UTF-8 text."""
    assert body == decode_body(text, encoding)


@pytest.mark.parametrize("text", ["not base64!!", "aGVsbG8", "aGVs*bG8="], ids=str)
def test_text_that_is_not_base64_is_refused(text: str) -> None:
    """Only strict base64 decodes; anything else is an error, not a guess."""
    with pytest.raises(ValueError, match="base64"):
        decode_body(text, "base64")


# --- discovery ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "defaults", "queue"),
    [
        ({QUEUE_SETTING: "orders-in"}, {}, "orders-in"),
        ({QUEUE_SETTING: "Orders-In"}, {}, "orders-in"),
        ({}, {QUEUE_SETTING: "fallback-queue"}, "fallback-queue"),
        ({QUEUE_SETTING: "  "}, {QUEUE_SETTING: "fallback-queue"}, "fallback-queue"),
        ({QUEUE_SETTING: "from-env"}, {QUEUE_SETTING: "fallback-queue"}, "from-env"),
    ],
    ids=["setting", "lower-cased", "default", "blank-setting", "setting-beats-default"],
)
def test_a_queue_name_setting_is_resolved_with_defaults(
    environ: dict[str, str], defaults: dict[str, str], queue: str
) -> None:
    """%SETTING% in queue_name comes from the environment, else the setting's default."""
    app = queue_app(Deliveries())
    env = {**environ, CONNECTION: "UseDevelopmentStorage=true"}

    host = LocalFunctionsHost(app, port=0, environ=env, setting_defaults=defaults)
    try:
        found = [(f.name, f.queue_name, f.queue, f.connection) for f in host.queue_functions]
    finally:
        host.shutdown()

    expected = [("work", f"%{QUEUE_SETTING}%", queue, CONNECTION)]
    assert expected == found


def test_a_missing_connection_setting_fails_the_host_before_it_listens() -> None:
    """The error names the function and the setting; no port is left open behind it."""
    app = queue_app(Deliveries())
    port = free_port()

    with pytest.raises(QueueTriggerError) as raised:
        LocalFunctionsHost(app, port=port, environ={QUEUE_SETTING: "orders"})

    message = str(raised.value)
    expected = (True, True, False)
    assert expected == ("'work'" in message, CONNECTION in message, port_accepts(port))


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({CONNECTION: "UseDevelopmentStorage=true"}, QUEUE_SETTING),
        ({CONNECTION: "UseDevelopmentStorage=true", QUEUE_SETTING: "a_b"}, "'a_b'"),
        ({QUEUE_SETTING: "orders", CONNECTION: "not a connection string"}, CONNECTION),
    ],
    ids=["unset-queue-setting", "invalid-queue-name", "malformed-connection"],
)
def test_an_unusable_queue_trigger_fails_the_host_naming_it(
    environ: dict[str, str], needle: str
) -> None:
    """An unresolvable or invalid queue name, or a malformed connection string, fails the start."""
    with pytest.raises(QueueTriggerError, match=needle):
        LocalFunctionsHost(queue_app(Deliveries()), port=0, environ=environ)


# --- delivery ----------------------------------------------------------------------------------


def test_a_base64_message_is_delivered_once_with_its_body_and_deleted(
    hosts: Callable[..., LocalFunctionsHost], queue: QueueClient, logs: LogWatch
) -> None:
    """The function gets the decoded bytes and the message's id; on success it is deleted."""
    deliveries = Deliveries()
    host = hosts(queue_app(deliveries))
    sent = queue.send_message(encoded('{"batch": 1}'))

    (delivered,) = deliveries.wait_for(1)
    host.shutdown()  # waits for the invocation to be settled

    executed = logs.wait_for_text("Executed 'Functions.work'")
    expected = (b'{"batch": 1}', sent.id, 1, 1, 0, True)
    assert expected == (
        delivered.get_body(),
        delivered.id,
        delivered.dequeue_count,
        len(deliveries.messages),
        message_count(queue),
        executed.startswith("Executed 'Functions.work' (Succeeded, Id="),
    )


def test_the_invocation_is_logged_like_the_functions_host(
    hosts: Callable[..., LocalFunctionsHost], queue: QueueClient, logs: LogWatch, queue_name: str
) -> None:
    """Executing names the reason and queue; Executed names the outcome, the same id, a duration."""
    deliveries = Deliveries()
    hosts(queue_app(deliveries))
    queue.send_message(encoded("x"))

    deliveries.wait_for(1)
    executing = logs.wait_for_text("Executing 'Functions.work'")
    executed = logs.wait_for_text("Executed 'Functions.work'")

    invocation = executing.rsplit("Id=", 1)[1].rstrip(")")
    reason = f"(Reason='New queue message detected on '{queue_name}'.', Id={invocation})"
    expected = (f"Executing 'Functions.work' {reason}", True)
    assert expected == (
        executing,
        executed.startswith(f"Executed 'Functions.work' (Succeeded, Id={invocation}, Duration="),
    )


def test_message_encoding_none_passes_the_text_unchanged(
    hosts: Callable[..., LocalFunctionsHost], queue: QueueClient
) -> None:
    """With messageEncoding "none" the function gets the message text as UTF-8 bytes."""
    deliveries = Deliveries()
    hosts(queue_app(deliveries), queue_options=dataclasses.replace(FAST, message_encoding="none"))
    queue.send_message("plain text, not base64")

    (delivered,) = deliveries.wait_for(1)

    assert b"plain text, not base64" == delivered.get_body()


def test_an_async_function_is_awaited(
    hosts: Callable[..., LocalFunctionsHost], queue: QueueClient
) -> None:
    """A coroutine function runs to completion, as the worker awaits it."""
    bodies: list[bytes] = []
    done = threading.Event()
    app = func.FunctionApp()

    @app.function_name("work")
    @app.queue_trigger(arg_name="msg", queue_name=f"%{QUEUE_SETTING}%", connection=CONNECTION)
    async def work(msg: func.QueueMessage) -> None:
        bodies.append(msg.get_body())
        done.set()

    hosts(app)
    queue.send_message(encoded("awaited"))

    assert done.wait(WAIT_SECONDS)
    assert [b"awaited"] == bodies


def test_a_failing_function_is_retried_then_its_message_moves_to_the_poison_queue(
    hosts: Callable[..., LocalFunctionsHost],
    queue: QueueClient,
    queue_name: str,
    azurite: Azurite,
    logs: LogWatch,
) -> None:
    """maxDequeueCount attempts, then the original text goes to <queue>-poison and is deleted."""
    deliveries = Deliveries(fail=True)
    host = hosts(queue_app(deliveries))
    sent = queue.send_message(encoded("always fails"))

    moved = logs.wait_for_text("has reached MaxDequeueCount")
    host.shutdown()

    poison = QueueClient.from_connection_string(azurite.connection_string, f"{queue_name}-poison")
    expected = (
        [1, 2, 3],
        f"Message {sent.id} has reached MaxDequeueCount of 3. "
        f"Moving message to queue '{queue_name}-poison'.",
        [encoded("always fails")],
        0,
    )
    assert expected == (
        [m.dequeue_count for m in deliveries.messages],
        moved,
        texts(poison),
        message_count(queue),
    )


def test_a_failed_message_is_hidden_for_the_visibility_timeout(
    hosts: Callable[..., LocalFunctionsHost], queue: QueueClient, logs: LogWatch
) -> None:
    """After a failure the message is made visible again only after visibilityTimeout."""
    deliveries = Deliveries(fail=True)
    options = dataclasses.replace(FAST, visibility_timeout=30.0)
    host = hosts(queue_app(deliveries), queue_options=options)
    sent = queue.send_message(encoded("fails once"))

    retry = logs.wait_for_text("retrying in")
    host.shutdown()

    expected: tuple[str, int, int, list[str]] = (
        f"Message {sent.id} on '{queue.queue_name}' failed (dequeue count 1 of 3); retrying in 30s",
        1,
        1,
        [],
    )
    assert expected == (retry, len(deliveries.messages), message_count(queue), texts(queue))


def test_a_message_that_is_not_base64_goes_straight_to_the_poison_queue(
    hosts: Callable[..., LocalFunctionsHost],
    queue: QueueClient,
    queue_name: str,
    azurite: Azurite,
    logs: LogWatch,
) -> None:
    """The function never sees it; the poison queue gets the text as it was sent."""
    deliveries = Deliveries()
    host = hosts(queue_app(deliveries))
    sent = queue.send_message("not base64!!")

    logged = logs.wait_for_text("cannot be decoded")
    host.shutdown()

    poison = QueueClient.from_connection_string(azurite.connection_string, f"{queue_name}-poison")
    expected: tuple[list[func.QueueMessage], bool, list[str], int] = ([], True, ["not base64!!"], 0)
    assert expected == (
        deliveries.messages,
        logged.startswith(f"Message {sent.id} on '{queue_name}' cannot be decoded"),
        texts(poison),
        message_count(queue),
    )


@pytest.mark.parametrize(
    ("worker_threads", "at_most"),
    [(8, 6), (3, 3)],
    ids=["batchSize plus newBatchThreshold", "the worker's threads"],
)
def test_how_many_invocations_run_at_once(
    hosts: Callable[..., LocalFunctionsHost], queue: QueueClient, worker_threads: int, at_most: int
) -> None:
    """With batchSize 2 and newBatchThreshold 4, six messages are in flight, as on Azure
    (the host keeps fetching while no more than 4 are handled); the Python worker's thread
    pool then bounds how many run at once, and the rest wait for a thread."""
    gate = threading.Event()
    changed = threading.Condition()
    running, peak, bodies = [0], [0], []

    def handler(msg: func.QueueMessage) -> None:
        with changed:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            changed.notify_all()
        gate.wait(WAIT_SECONDS)
        with changed:
            running[0] -= 1
            bodies.append(msg.get_body())
            changed.notify_all()

    for n in range(6):
        queue.send_message(encoded(str(n)))
    options = dataclasses.replace(
        FAST, batch_size=2, new_batch_threshold=4, worker_threads=worker_threads
    )
    host = hosts(queue_app(handler), queue_options=options)
    eventually(lambda: texts(queue) == [])  # every message received, so all could run
    with changed:
        changed.wait_for(lambda: running[0] >= at_most, WAIT_SECONDS)
        at_once = running[0]
    gate.set()
    with changed:
        changed.wait_for(lambda: len(bodies) == 6, WAIT_SECONDS)
    host.shutdown()

    expected = (at_most, at_most, sorted(str(n).encode() for n in range(6)), 0)
    assert expected == (at_once, peak[0], sorted(bodies), message_count(queue))


def test_the_worker_thread_count_is_a_setting_checked_by_name() -> None:
    """PYTHON_THREADPOOL_THREAD_COUNT as the Python worker reads it; its default otherwise."""
    assert 3 == python_worker_threads({"PYTHON_THREADPOOL_THREAD_COUNT": "3"})
    assert min(32, (os.cpu_count() or 1) + 4) == python_worker_threads({})
    for bad in ("many", "0", "33"):
        with pytest.raises(QueueOptionsError, match=r"^PYTHON_THREADPOOL_THREAD_COUNT must be 1"):
            python_worker_threads({"PYTHON_THREADPOOL_THREAD_COUNT": bad})
    with pytest.raises(QueueOptionsError, match="PYTHON_THREADPOOL_THREAD_COUNT must be 1 to 32"):
        QueueOptions(worker_threads=0)


# --- resilience and shutdown -------------------------------------------------------------------


def test_a_missing_queue_is_polled_until_it_exists(
    hosts: Callable[..., LocalFunctionsHost],
    azurite: Azurite,
    queue_name: str,
    logs: LogWatch,
) -> None:
    """QueueNotFound is an empty queue, logged once; a queue created later is listened to."""
    deliveries = Deliveries()
    hosts(queue_app(deliveries))
    logs.wait_for_text("does not exist yet")
    queue = QueueClient.from_connection_string(azurite.connection_string, queue_name)
    queue.create_queue()
    queue.send_message(encoded("late"))

    (delivered,) = deliveries.wait_for(1)

    missing = [m for m in logs.messages() if "does not exist yet" in m]
    assert (b"late", 1) == (delivered.get_body(), len(missing))


def test_the_listener_survives_paused_storage(queue_name: str, logs: LogWatch) -> None:
    """Polls that hang on a frozen Azurite time out and back off; after it thaws, messages flow."""
    deliveries = Deliveries()
    # A poll that timed out still reaches Azurite when it thaws and may take a message sent
    # then, whose caller is gone: a short lease makes such a message show again soon, as on Azure.
    options = dataclasses.replace(FAST, request_timeout=0.5, lease_seconds=1)
    with Azurite() as storage:
        queue = QueueClient.from_connection_string(storage.connection_string, queue_name)
        queue.create_queue()
        environ = {QUEUE_SETTING: queue_name, CONNECTION: storage.connection_string}
        host = LocalFunctionsHost(
            queue_app(deliveries), port=0, environ=environ, queue_options=options
        )
        host.start_in_thread()
        try:
            storage.pause()
            try:
                failed = logs.wait_for_text("Polling queue")
            finally:
                storage.resume()
            logs.wait_for_text("works again")
            queue.send_message(encoded("after the pause"))
            (delivered,) = deliveries.wait_for(1)
        finally:
            host.shutdown()

    expected = (True, b"after the pause")
    assert expected == (
        failed.startswith(f"Polling queue '{queue_name}' failed ("),
        delivered.get_body(),
    )


def test_unreachable_storage_is_logged_and_shutdown_is_still_prompt(
    queue_name: str, logs: LogWatch
) -> None:
    """Connection refused is backed off, not raised; shutdown leaves no listener thread."""
    nowhere = Azurite(port=free_port(), queue_port=free_port())  # never started: nothing listens
    environ = {QUEUE_SETTING: queue_name, CONNECTION: nowhere.connection_string}
    host = LocalFunctionsHost(queue_app(Deliveries()), port=0, environ=environ, queue_options=FAST)
    host.start_in_thread()

    failed = logs.wait_for_text("Polling queue")
    host.shutdown()

    assert (True, []) == ("failed (ServiceRequestError" in failed, listener_threads())


def test_shutdown_waits_for_a_running_invocation_and_leaves_no_thread(
    hosts: Callable[..., LocalFunctionsHost], queue: QueueClient
) -> None:
    """Polling stops at once; the invocation in progress finishes and its message is deleted."""
    started, release = threading.Event(), threading.Event()
    events: list[str] = []

    def handler(msg: func.QueueMessage) -> None:
        started.set()
        release.wait(WAIT_SECONDS)
        events.append("invocation finished")

    host = hosts(queue_app(handler))
    queue.send_message(encoded("slow"))
    assert started.wait(WAIT_SECONDS)

    def stop() -> None:
        host.shutdown()
        events.append("shutdown returned")

    stopping = threading.Thread(target=stop)
    stopping.start()
    stopping.join(0.2)
    waited = stopping.is_alive()
    release.set()
    stopping.join(WAIT_SECONDS)

    expected: tuple[bool, list[str], int, list[str]] = (
        True,
        ["invocation finished", "shutdown returned"],
        0,
        [],
    )
    assert expected == (waited, events, message_count(queue), listener_threads())


# --- python -m devhost.run ---------------------------------------------------------------------

UNCONNECTED_APP = """
import azure.functions as func

app = func.FunctionApp()


@app.queue_trigger(arg_name="msg", queue_name="orders", connection="OrdersStorage")
def orders(msg: func.QueueMessage) -> None:
    pass
"""


def test_run_exits_2_naming_an_unset_queue_connection(tmp_path: Path) -> None:
    """`make run` refuses an app whose queue trigger has no connection: a message, no traceback."""
    (tmp_path / "unconnected_app.py").write_text(UNCONNECTED_APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OrdersStorage")}
    env |= {
        "FUNCTION_APP_MODULE": "unconnected_app",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "PORT": str(free_port()),
    }

    result = subprocess.run(
        [sys.executable, "-m", "devhost.run", "--no-azurite", "--no-standin"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS * 3,
        check=False,
    )

    message = (
        "QueueTriggerError: queue function 'orders': app setting OrdersStorage is not set; "
        "it must hold the storage connection string"
    )
    expected = (2, True, False)
    assert expected == (
        result.returncode,
        message in result.stderr.splitlines(),
        "Traceback" in result.stderr,
    )
