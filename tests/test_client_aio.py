"""The async client behaves as the sync one and never blocks the event loop: hung sources, a
refused key at start, an unknown group after a value is held, and callbacks on the loop.

Real parts: a local HTTP server speaking the endpoint's wire format, held by events.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest
from vi_failover_client import ActiveAccount, ActiveAccountUnavailableError, ConfigurationError
from vi_failover_client.aio import AsyncActiveAccountClient

from tests.activeaccount_server import ActiveAccountServer, view
from tests.clientkit import FakeClock


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait, yielding to the loop, until `condition` holds or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


def test_with_every_source_hung_await_get_returns_the_held_value_at_once() -> None:
    """A refresh held by a hung endpoint never holds up `await get()`."""
    clock, gate = FakeClock(), threading.Event()

    async def scenario() -> tuple[ActiveAccount, list[ActiveAccount], bool, ActiveAccount]:
        with ActiveAccountServer() as endpoint:
            async with AsyncActiveAccountClient(
                group="default", endpoints=[endpoint.url], clock=clock, timeout=5
            ) as client:
                first = await client.get()
                endpoint.serve(view("contoso-westus", 2), gate=gate)
                clock.advance(11)
                await client.get()  # finds the value due: the refresher starts, and hangs
                await _until(lambda: client.status().refreshing)
                reads = [await asyncio.wait_for(client.get(), 0.5) for _ in range(200)]
                in_flight = client.status().refreshing
                gate.set()
                await client.refresh()
                return first, reads, in_flight, await client.get()

    first, reads, in_flight, after = asyncio.run(scenario())

    assert in_flight
    assert {first.version} == {r.version for r in reads}
    assert ("contoso-westus", 2) == (after.name, after.version)


def test_the_first_get_waits_off_the_loop_and_no_longer_than_its_deadline() -> None:
    """With every source hung, the first get raises at ready_timeout while the loop runs on."""
    gate = threading.Event()

    async def scenario() -> tuple[BaseException | None, int, float]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        with ActiveAccountServer() as endpoint:
            endpoint.serve(gate=gate)
            async with AsyncActiveAccountClient(
                group="default", endpoints=[endpoint.url], timeout=5, ready_timeout=0.3
            ) as client:
                ticker = asyncio.create_task(tick())
                started = time.monotonic()
                try:
                    await client.get()
                    error: BaseException | None = None
                except ActiveAccountUnavailableError as exc:
                    error = exc
                took = time.monotonic() - started
                ticker.cancel()
                gate.set()
        return error, ticks, took

    error, ticks, took = asyncio.run(scenario())

    assert isinstance(error, ActiveAccountUnavailableError)
    assert ticks > 100
    assert 0.3 <= took < 2.0


def test_a_refused_key_at_start_raises_a_configuration_error() -> None:
    """401 at start: ConfigurationError naming the endpoint, as the sync client."""

    async def scenario() -> ConfigurationError:
        with ActiveAccountServer() as endpoint:
            endpoint.serve(status=401)
            async with AsyncActiveAccountClient(group="default", endpoints=[endpoint.url]) as c:
                with pytest.raises(ConfigurationError) as raised:
                    await c.wait_until_ready(10)
                return raised.value

    error = asyncio.run(scenario())

    assert "answered 401" in str(error)


def test_callbacks_run_on_the_loop_and_may_be_coroutines() -> None:
    """on_change (a coroutine) and on_problem (a function) run on the client's loop thread:
    the first value, then an unknown group while a value is held."""
    clock = FakeClock()

    async def scenario() -> tuple[list[tuple[str, bool]], list[str], bool]:
        loop_thread = threading.get_ident()
        seen: list[tuple[str, bool]] = []
        problems: list[str] = []
        on_loop = True
        problem_seen = asyncio.Event()

        async def on_change(new: ActiveAccount, old: ActiveAccount | None) -> None:
            nonlocal on_loop
            on_loop = on_loop and threading.get_ident() == loop_thread
            seen.append((new.name, old is None))

        def on_problem(problem: object) -> None:
            nonlocal on_loop
            on_loop = on_loop and threading.get_ident() == loop_thread
            problems.append(str(problem))
            problem_seen.set()

        with ActiveAccountServer() as endpoint:
            async with AsyncActiveAccountClient(
                group="default",
                endpoints=[endpoint.url],
                clock=clock,
                on_change=on_change,
                on_problem=on_problem,
            ) as client:
                await client.get()
                endpoint.serve(view(group="other"))
                clock.advance(11)
                await client.refresh()
                await asyncio.wait_for(problem_seen.wait(), 10)
                marked = (await client.get()).group_unknown
        return seen, problems, on_loop and marked

    seen, problems, on_loop_and_marked = asyncio.run(scenario())

    assert [("contoso-eastus", True)] == seen
    assert 1 == len(problems)
    assert "unknown group" in problems[0]
    assert on_loop_and_marked
