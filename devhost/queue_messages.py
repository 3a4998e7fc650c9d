"""One queue message as the Functions host handles it: decode, invoke, then settle.

A message whose function succeeds is deleted; one that fails shows again after
`visibilityTimeout`, and after `maxDequeueCount` attempts moves to `<queue>-poison`, as does a
message that is not valid base64 when `messageEncoding` is "base64".
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import math
from collections.abc import Callable

import azure.functions.queue as func_queue
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueMessage

from devhost.invoke import invoke_logged
from devhost.queue_functions import QueueFunction, describe_error, queue_client
from devhost.queue_options import QueueOptions

POISON_SUFFIX = "-poison"


def decode_body(text: str, encoding: str) -> bytes:
    """A message's body as the function sees it; ValueError when it is not valid base64."""
    if encoding == "none":
        return text.encode()
    try:
        # Like .NET's Convert.FromBase64String: whitespace is ignored, anything else is an error.
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not valid base64: {exc}") from exc


class MessageProcessor:
    """Runs a queue function on its messages and settles each; storage failures are logged.

    `queue` is the client the messages were received with; building makes no network call.
    """

    def __init__(
        self,
        function: QueueFunction,
        options: QueueOptions,
        queue: QueueClient,
        log: logging.Logger,
    ) -> None:
        self._function = function
        self._options = options
        self._queue = queue
        self._poison = queue_client(function, function.queue + POISON_SUFFIX, options)
        self._log = log
        self._queue_name = function.queue

    def release(self, message: QueueMessage) -> None:
        """Make a message not yet started visible again at once, for the next host to take."""
        self._storage_call(
            f"release message {message.id}",
            lambda: self._queue.update_message(message, visibility_timeout=0),
        )

    def process(self, message: QueueMessage) -> None:
        """Run the function on the message, then delete it, retry it later, or poison it."""
        try:
            body = decode_body(str(message.content), self._options.message_encoding)
        except ValueError as exc:
            self._log.error(
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
            self._log.error(
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
        details = (
            f"Trigger Details: MessageId: {message.id}, DequeueCount: {message.dequeue_count}, "
            f"InsertedOn: {message.inserted_on}"
        )
        reason = f"New queue message detected on '{self._queue_name}'."
        # The host logs a failed invocation, then settles the message.
        with contextlib.suppress(Exception):
            invoke_logged(self._log, self._function, request, reason=reason, details=details)
            return True
        return False

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
            self._log.info(
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
            self._log.warning(
                "Could not %s on '%s' (%s); it shows again when its lease ends",
                what,
                self._queue_name,
                describe_error(exc),
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
