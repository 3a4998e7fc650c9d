"""`StorageWorkQueue`: the fan-out WorkQueue on Azure Storage Queues, through azure-storage-queue.

Messages are base64-encoded text, the Functions host's default `messageEncoding`, so the
queue-triggered function receives exactly the text that was sent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient

from shared.app.errors import QueueUnavailableError

log = logging.getLogger(__name__)

SEND_WORKERS = 8  # a 10,000-group fan-out is 400 messages: about 50 round trips each


class StorageWorkQueue:
    """Sends fan-out batches to one storage queue, creating the queue on first use."""

    def __init__(self, queue: QueueClient) -> None:
        self._queue = queue
        self._ready = False
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=SEND_WORKERS, thread_name_prefix="enqueue")

    @property
    def name(self) -> str:
        """The queue's name."""
        return str(self._queue.queue_name)

    def send(self, messages: Sequence[str]) -> None:
        """Enqueue every message; QueueUnavailableError if any could not be sent."""
        try:
            self._ensure_queue()
            for sent in self._pool.map(self._queue.send_message, messages):
                del sent
        except AzureError as exc:
            raise QueueUnavailableError(
                f"queue {self.name}: could not enqueue the fan-out: {exc}"
            ) from exc

    def backlog(self) -> int:
        """The queue's approximate message count (0 before the queue exists)."""
        try:
            properties = self._queue.get_queue_properties()
        except ResourceNotFoundError:
            return 0
        except AzureError as exc:
            raise QueueUnavailableError(f"queue {self.name}: no message count: {exc}") from exc
        return int(properties.approximate_message_count or 0)

    def _ensure_queue(self) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                with suppress(ResourceExistsError):
                    self._queue.create_queue()
                self._ready = True
