"""`LogWatch`: a logging handler that collects records and lets a test wait for one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class LogWatch(logging.Handler):
    """Collects one logger's records and lets a test wait for them, from any thread."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(logging.DEBUG)
        self._wait_seconds = wait_seconds
        self._changed = threading.Condition()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        with self._changed:
            self.records.append(record)
            self._changed.notify_all()

    def messages(self) -> list[str]:
        """Every message so far."""
        with self._changed:
            return [r.getMessage() for r in self.records]

    def wait_for(self, prefix: str, count: int = 1) -> list[logging.LogRecord]:
        """The records whose message starts with `prefix`, once there are `count` of them."""

        def matching() -> list[logging.LogRecord]:
            return [r for r in self.records if r.getMessage().startswith(prefix)]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matching()) >= count, self._wait_seconds):
                raise AssertionError(f"{count} x {prefix!r} expected: {self.messages()}")
            return matching()

    def wait_for_text(self, text: str) -> str:
        """The first message containing `text`, once there is one."""

        def found() -> list[str]:
            return [m for m in (r.getMessage() for r in self.records) if text in m]

        with self._changed:
            if not self._changed.wait_for(lambda: bool(found()), self._wait_seconds):
                raise AssertionError(f"{text!r} expected in {self.messages()}")
            return found()[0]


@contextmanager
def watching(name: str, wait_seconds: float) -> Iterator[LogWatch]:
    """A LogWatch on the named logger at DEBUG, removed (and the level restored) afterwards."""
    logger = logging.getLogger(name)
    watch, level = LogWatch(wait_seconds), logger.level
    logger.addHandler(watch)
    logger.setLevel(logging.DEBUG)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)
        logger.setLevel(level)
