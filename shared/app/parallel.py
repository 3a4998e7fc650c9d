"""Work on many groups at once: each has its own partition and its own conditional write."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")
# Storage round trips, not CPU: more workers than cores keep a fan-out moving.
GROUP_WORKERS = 16


class Parallel:
    """A pool for per-group work; the first error is raised once every item has finished, so
    none is left half-tried and the retry finds the rest done."""

    def __init__(self, workers: int = GROUP_WORKERS, name: str = "group") -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    def map(self, items: Sequence[T], work: Callable[[T], U]) -> list[U]:
        """`work` on every item, in parallel when there are several; results in order."""
        done, errors = self.settle(items, work)
        if errors:
            raise errors[0]
        return done

    def settle(self, items: Sequence[T], work: Callable[[T], U]) -> tuple[list[U], list[Exception]]:
        """`work` on every item: the results of those that finished (in order) and the errors
        of those that did not. Each item is tried, whatever happens to the others."""
        if len(items) <= 1:
            futures = []
            for item in items:
                future: Future[U] = Future()
                try:
                    future.set_result(work(item))
                except Exception as exc:  # noqa: BLE001  handed back to the caller below
                    future.set_exception(exc)
                futures.append(future)
        else:
            # Each item runs in a copy of the caller's context, so its logs join the caller's
            # span (telemetry) as they would on the caller's own thread.
            futures = [
                self._pool.submit(contextvars.copy_context().run, work, item) for item in items
            ]
            wait(futures)
        results = [f.result() for f in futures if f.exception() is None]
        errors = [
            e for f in futures if (e := f.exception()) is not None and isinstance(e, Exception)
        ]
        return results, errors
