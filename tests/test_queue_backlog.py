"""The fan-out queue's backlog, read by the telemetry's gauge: Azure Storage Queues on
Azurite, and a queue service that does not answer."""

from __future__ import annotations

import uuid

import pytest
from azure.storage.queue import QueueClient

from devhost.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite, free_port
from shared.adapters.storage_queue import StorageWorkQueue
from shared.app.errors import QueueUnavailableError


def test_the_storage_queues_backlog_is_its_message_count(azurite: Azurite) -> None:
    """On Azurite: no queue yet is no backlog; then each message sent waits."""
    name = "q" + uuid.uuid4().hex[:20]
    queue = StorageWorkQueue(QueueClient.from_connection_string(azurite.connection_string, name))

    before = queue.backlog()
    queue.send(["one", "two", "three"])

    assert (0, 3) == (before, queue.backlog())


def test_a_queue_that_does_not_answer_has_no_backlog_to_report() -> None:
    """The queue service is down: QueueUnavailableError, which the gauge skips."""
    closed = free_port()
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"QueueEndpoint=http://127.0.0.1:{closed}/{ACCOUNT_NAME};"
    )
    client = QueueClient.from_connection_string(connection, "fanout", retry_total=0)

    with pytest.raises(QueueUnavailableError, match="no message count"):
        StorageWorkQueue(client).backlog()
