"""Azurite serves tables and queues from one process, on ports free-picked or given."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest
from azure.core.exceptions import AzureError
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueClient

from devhost.azurite import Azurite, PortInUseError, free_port, port_accepts


def new_queue(connection_string: str, timeout: float = 20.0) -> QueueClient:
    """A new queue of its own; `timeout` bounds connecting and each read, in seconds."""
    client = QueueClient.from_connection_string(
        connection_string,
        "q" + uuid.uuid4().hex[:20],
        connection_timeout=timeout,
        read_timeout=timeout,
    )
    client.create_queue()
    return client


def test_a_queue_message_goes_through_the_connection_string(azurite: Azurite) -> None:
    """The connection string reaches the queue service: a message sent is received."""
    queue = new_queue(azurite.connection_string)
    queue.send_message("hello")

    received = [m.content for m in queue.receive_messages(max_messages=32)]

    assert ["hello"] == received


def test_the_connection_string_names_both_endpoints(azurite: Azurite) -> None:
    """TableEndpoint and QueueEndpoint point at the two ports on 127.0.0.1."""
    parts = dict(p.split("=", 1) for p in azurite.connection_string.rstrip(";").split(";"))

    expected = (
        f"http://127.0.0.1:{azurite.port}/devstoreaccount1",
        f"http://127.0.0.1:{azurite.queue_port}/devstoreaccount1",
    )
    assert expected == (parts["TableEndpoint"], parts["QueueEndpoint"])


def test_every_service_listens_on_a_port_of_its_own(azurite: Azurite) -> None:
    """Table, queue and the unused blob service each bind their own port."""
    ports = {azurite.port, azurite.queue_port, azurite.blob_port}

    expected = (3, [True, True, True])
    assert expected == (len(ports), [port_accepts(port) for port in sorted(ports)])


def test_given_ports_are_kept_and_the_rest_are_picked() -> None:
    """port= and queue_port= are used as given; the blob port is picked apart from them."""
    table = free_port()
    queue = free_port(besides=[table])

    azurite = Azurite(port=table, queue_port=queue)

    expected = (table, queue, True)
    assert expected == (azurite.port, azurite.queue_port, azurite.blob_port not in {table, queue})


def test_one_port_for_both_services_is_refused() -> None:
    """The table and queue services cannot share a port: said at once, before any start."""
    port = free_port()

    with pytest.raises(ValueError, match=str(port)):
        Azurite(port=port, queue_port=port)


def test_a_taken_queue_port_is_reported_with_its_number() -> None:
    """A given queue port that is taken fails the start; the error says which port."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        port = blocker.getsockname()[1]

        with pytest.raises(PortInUseError) as raised:
            Azurite(queue_port=port).start()

    expected = (port, True)
    assert expected == (raised.value.port, "EADDRINUSE" in str(raised.value))


def test_a_persistent_azurite_keeps_queue_messages_and_tables_across_a_restart(
    tmp_path: Path,
) -> None:
    """With a location, stop() and start() keep both the queue's messages and the tables."""
    with Azurite(location=tmp_path / "azurite") as azurite:
        queue = new_queue(azurite.connection_string)
        queue.send_message("kept")
        TableServiceClient.from_connection_string(azurite.connection_string).create_table("kept")
        azurite.stop()
        azurite.start()

        messages = [m.content for m in queue.peek_messages(max_messages=32)]
        client = TableServiceClient.from_connection_string(azurite.connection_string)
        tables = [t.name for t in client.list_tables()]

    expected = (["kept"], ["kept"])
    assert expected == (messages, tables)


def test_pause_freezes_the_queue_service_with_the_tables() -> None:
    """One process serves both: while paused a queue call times out; after resume it works."""
    with Azurite() as azurite:
        queue = new_queue(azurite.connection_string, timeout=0.5)
        azurite.pause()
        try:
            with pytest.raises(AzureError):
                queue.send_message("frozen", retry_total=0)
        finally:
            azurite.resume()
        queue.send_message("thawed")

        # The call that timed out still reaches Azurite once it thaws, so both may be there.
        messages = {m.content for m in queue.peek_messages(max_messages=32)}

    assert "thawed" in messages
