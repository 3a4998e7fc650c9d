"""Run queue-triggered functions the way the Functions host's Storage Queue trigger does.

For local runs only. Each queue function gets a listener thread that receives up to `batchSize`
messages at a time under a processing lease, backs off exponentially while the queue is empty (or
missing, or storage fails) up to `maxPollingInterval`, and fetches again once no more than
`newBatchThreshold` messages are still being handled. Each message is then handled as
`devhost.queue_messages` says. Options come from host.json's `extensions.queues`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.storage.queue import QueueMessage

from devhost.queue_functions import QueueFunction, describe_error, queue_client
from devhost.queue_messages import MessageProcessor
from devhost.queue_options import QueueOptions

logger = logging.getLogger(__name__)


class QueueListener:
    """Polls one function's queue from a daemon thread and runs the function on each message.

    Each message is handled in a thread of its own. As on Azure, up to `batchSize` plus
    `newBatchThreshold` messages are in flight, and the Python worker's thread pool
    (`QueueOptions.threads`) bounds how many of them run at once.
    Building a listener makes no network call.
    """

    def __init__(self, function: QueueFunction, options: QueueOptions) -> None:
        self._function = function
        self._options = options
        self._queue = queue_client(function, function.queue, options)
        self._messages = MessageProcessor(function, options, self._queue, logger)
        self._slots = threading.BoundedSemaphore(options.threads)
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
                    self._messages.release(message)
                else:
                    self._messages.process(message)
        except Exception:  # logged: nothing waits on this thread
            logger.exception("Handling message %s from '%s' failed", message.id, self._queue_name)
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()


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
        log("Polling queue '%s' failed (%s); backing off", self._queue, describe_error(exc))
        self._state = "failing"

    def succeeded(self) -> None:
        if self._state == "failing":
            logger.info("Polling queue '%s' works again", self._queue)
        self._state = "ok"


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
