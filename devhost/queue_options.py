"""Queue listener options: host.json's `extensions.queues`, checked as the Functions host does."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.hostjson import read_extension

logger = logging.getLogger(__name__)

MAX_BATCH_SIZE = 32  # the most messages one Get Messages call returns
PYTHON_THREADS = "PYTHON_THREADPOOL_THREAD_COUNT"
MAX_WORKER_THREADS = 32
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


class QueueOptionsError(ValueError):
    """host.json's `extensions.queues` holds a value the Functions host would reject."""


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
    # How many received messages run at once: the Python worker's pool for sync functions;
    # the others wait for a thread, as they do on Azure. None: PYTHON_THREADPOOL_THREAD_COUNT
    # or the worker's default, read when a listener is built.
    worker_threads: int | None = None

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
            (
                PYTHON_THREADS,
                self.worker_threads,
                self.worker_threads is None or 1 <= self.worker_threads <= MAX_WORKER_THREADS,
                f"1 to {MAX_WORKER_THREADS}",
            ),
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

    @property
    def threads(self) -> int:
        """How many invocations run at once (`worker_threads`, or the environment's)."""
        if self.worker_threads is None:
            return python_worker_threads(os.environ)
        return self.worker_threads


def python_worker_threads(env: Mapping[str, str]) -> int:
    """The Python worker's thread pool for sync functions: PYTHON_THREADPOOL_THREAD_COUNT, or
    its default on Python 3.9 and later, min(32, CPUs + 4). A value that is not a whole number
    is refused, naming the setting."""
    text = env.get(PYTHON_THREADS, "").strip()
    if not text:
        return min(MAX_WORKER_THREADS, (os.cpu_count() or 1) + 4)
    if not text.isdigit() or not 1 <= int(text) <= MAX_WORKER_THREADS:
        raise QueueOptionsError(f"{PYTHON_THREADS} must be 1 to {MAX_WORKER_THREADS}, got {text!r}")
    return int(text)


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
    queues = read_extension(host_json, "queues")
    if not isinstance(queues, dict):
        raise QueueOptionsError(f"{host_json}: extensions.queues must be an object")
    try:
        return parse_queue_options(queues)
    except QueueOptionsError as exc:
        raise QueueOptionsError(f"{host_json}: extensions.queues: {exc}") from exc
