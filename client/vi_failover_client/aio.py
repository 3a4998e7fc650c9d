"""`AsyncActiveAccountClient`: the same client for asyncio apps; nothing it does blocks the loop.

It runs the same refresher as `ActiveAccountClient` (one daemon thread), so it behaves the same in
every case: `await get()` returns the held value from memory; only the first waits, in a worker
thread, bounded by `ready_timeout`. Callbacks run on the event loop the client was made on;
`on_change` and `on_problem` may be coroutine functions.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

from vi_failover_client.account import ActiveAccount
from vi_failover_client.client import ActiveAccountClient
from vi_failover_client.refresh import ClientStatus, Problem
from vi_failover_client.refs import AccountRef

AsyncOnChange = Callable[[ActiveAccount, ActiveAccount | None], Awaitable[None] | None]
AsyncOnProblem = Callable[[Problem], Awaitable[None] | None]


class AsyncActiveAccountClient:
    """Read the active account before every indexing call: `await get()` or `async with session()`.

    Takes the keyword arguments of `ActiveAccountClient`. Make it inside a running event loop.
    """

    def __init__(
        self,
        *,
        on_change: AsyncOnChange | None = None,
        on_problem: AsyncOnProblem | None = None,
        **options: Any,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._client = ActiveAccountClient(
            on_change=None if on_change is None else self._on_loop(on_change),
            on_problem=None if on_problem is None else self._on_loop(on_problem),
            **options,
        )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Self:
        """A client from the VI_FAILOVER_* variables; keyword arguments override them."""
        from vi_failover_client.settings import Settings  # noqa: PLC0415 - as the sync client

        return cls(**{**Settings.from_env(environ).client_arguments(), **overrides})

    def __repr__(self) -> str:
        return f"Async{self._client!r}"

    @property
    def group(self) -> str | None:
        """The group this client reads; None means the endpoint's only group."""
        return self._client.group

    async def get(self) -> ActiveAccount:
        """The active account: from memory once held; the first waits up to `ready_timeout`."""
        if self._client.ready:
            return self._client.get()  # the held value: no I/O, no lock
        return await asyncio.to_thread(self._client.get)

    async def wait_until_ready(self, timeout: float) -> ActiveAccount:
        """The first value, waiting at most `timeout` seconds; raises as the sync client does."""
        return await asyncio.to_thread(self._client.wait_until_ready, timeout)

    async def refresh(self, timeout: float | None = None) -> ClientStatus:
        """Refresh now and wait for it (at most `timeout` seconds); the status after it."""
        return await asyncio.to_thread(self._client.refresh, timeout)

    def status(self) -> ClientStatus:
        """What is held, from which source, how old, problems, and each source's last error."""
        return self._client.status()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[ActiveAccount]:
        """One account for a whole job: a frozen snapshot, which a later move never changes."""
        yield await self.get()

    def accounts(self) -> tuple[AccountRef, ...]:
        """Every account of the group the client knows (see ActiveAccountClient.accounts)."""
        return self._client.accounts()

    def account(self, name: str) -> AccountRef:
        """The account called `name`; UnknownAccountError if unknown."""
        return self._client.account(name)

    async def aclose(self) -> None:
        """Stop refreshing and release connections."""
        await asyncio.to_thread(self._client.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _on_loop(self, callback: Callable[..., Awaitable[None] | None]) -> Callable[..., None]:
        """`callback`, called on the client's event loop from the refresher thread."""
        loop = self._loop

        def deliver(*args: Any) -> None:
            if loop.is_closed():
                return
            if inspect.iscoroutinefunction(callback):
                asyncio.run_coroutine_threadsafe(callback(*args), loop)
            else:
                loop.call_soon_threadsafe(callback, *args)

        return deliver
