"""Invoking a function as the Python worker does, and logging each run as the host does."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol


class Invocable(Protocol):
    """A function as the worker calls it (a `discovery.Binding`, a timer or a queue function)."""

    @property
    def name(self) -> str:
        """The function's name, as logs and the admin API use it."""
        ...

    @property
    def handler(self) -> Callable[..., Any]:
        """The user function."""
        ...

    @property
    def arg_name(self) -> str:
        """The name the worker passes the trigger's value by."""
        ...


def call_function(binding: Invocable, argument: object) -> object:
    """Call the function with its trigger's value by the binding's name; await a coroutine."""
    result = binding.handler(**{binding.arg_name: argument})
    if inspect.iscoroutine(result):
        # Every invocation runs in a thread of its own, so a fresh event loop is safe.
        result = asyncio.run(result)
    return result


def invoke_logged(
    log: logging.Logger, binding: Invocable, argument: object, *, reason: str, details: str = ""
) -> None:
    """Call the function between the host's Executing and Executed lines.

    A failure is logged with its traceback and duration, then raised again.
    """
    invocation = uuid.uuid4()
    log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", binding.name, reason, invocation)
    if details:
        log.info("%s", details)
    started = time.perf_counter()  # a duration is measured, never scheduled: the real clock
    try:
        call_function(binding, argument)
    except Exception:
        log.exception(
            "Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)",
            binding.name,
            invocation,
            _elapsed_ms(started),
        )
        raise
    log.info(
        "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)",
        binding.name,
        invocation,
        _elapsed_ms(started),
    )


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
