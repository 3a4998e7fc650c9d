"""Webhook notifications of moves, blocks and failbacks, readable in Teams and Slack.

A notification is best effort: `send` never raises and never takes longer than its budget, and
the caller records the result in the audit trail. The move itself never waits on it.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from shared.core.notification import Notification, NotifyResult, payload

log = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    retry: bool
    detail: str
    retry_after: float | None = None


class WebhookNotifier:
    """Posts each notification as JSON to one webhook, with retries, within a time budget.

    The budget is `timeout * attempts + backoff` seconds from the start of `send`: no try or
    sleep starts after it, and each try's connect and read waits are clipped to fit in what is
    left, so a dead or silent receiver cannot hold the caller past it.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 3.0,
        attempts: int = 2,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(url)
        # Never echo the URL: Slack keeps the secret in the path, Teams in the query string.
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("webhook URL must look like https://host/path")
        if not timeout > 0 or attempts < 1 or not backoff >= 0:
            raise ValueError("webhook needs timeout > 0, attempts >= 1 and backoff >= 0")
        self._url = url
        self.host = parts.hostname
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep
        self._session = session
        self._clock = clock
        self.budget = timeout * attempts + backoff

    def __repr__(self) -> str:
        return f"WebhookNotifier(host={self.host!r}, budget={self.budget}s)"

    def send(self, n: Notification) -> NotifyResult:
        """Post the notification; never raises, and returns within the budget."""
        deadline = self._clock() + self.budget
        body = json.dumps(payload(n), ensure_ascii=False).encode("utf-8")
        backoff_left = self._backoff
        tries = 0
        outcome = _Outcome(ok=False, retry=False, detail="no try made")
        session = self._session or requests.Session()
        try:
            while tries < self._attempts:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    outcome = _Outcome(False, False, f"{outcome.detail}; time budget spent")
                    break
                tries += 1
                outcome = self._try(session, body, remaining)
                if outcome.ok or not outcome.retry or tries == self._attempts:
                    break
                retries_left = self._attempts - tries
                wanted = backoff_left / retries_left
                if outcome.retry_after is not None:
                    wanted = outcome.retry_after
                delay = max(0.0, min(wanted, backoff_left, deadline - self._clock()))
                log.debug(
                    "notification to %s: %s on try %d of %d; retrying in %.2f s",
                    self.host,
                    outcome.detail,
                    tries,
                    self._attempts,
                    delay,
                )
                backoff_left -= delay
                self._sleep(delay)
        finally:
            if self._session is None:
                session.close()
        return self._result(n, outcome, tries)

    def _try(self, session: requests.Session, body: bytes, remaining: float) -> _Outcome:
        # Connect and read waits add up, so each gets at most half of what is left.
        wait = min(self._timeout, remaining / 2)
        try:
            # Streamed and closed unread: only the status line and headers matter, so a slow
            # or huge body cannot hold us. Redirects would turn the POST into a GET.
            with session.post(
                self._url,
                data=body,
                headers={"Content-Type": "application/json", "User-Agent": "vi-failover"},
                timeout=(wait, wait),
                allow_redirects=False,
                stream=True,
            ) as response:
                status = response.status_code
                retry_after = _retry_after(response.headers.get("Retry-After"))
        except requests.exceptions.SSLError as exc:
            return _Outcome(ok=False, retry=False, detail=type(exc).__name__)
        except (requests.ConnectionError, requests.Timeout) as exc:
            # The exception's text carries the URL's path and query: name its type only.
            return _Outcome(ok=False, retry=True, detail=type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - a notification must never fail the move it reports
            return _Outcome(ok=False, retry=False, detail=f"unexpected {type(exc).__name__}")
        if 200 <= status < 300:
            return _Outcome(ok=True, retry=False, detail=f"HTTP {status}")
        if status in _RETRY_STATUSES or status >= 500:
            return _Outcome(ok=False, retry=True, detail=f"HTTP {status}", retry_after=retry_after)
        return _Outcome(ok=False, retry=False, detail=f"HTTP {status} (not retried)")

    def _result(self, n: Notification, outcome: _Outcome, tries: int) -> NotifyResult:
        if outcome.ok:
            log.info(
                "notified %s of %s in group %s: %s on try %d",
                self.host,
                n.action,
                n.group,
                outcome.detail,
                tries,
            )
        else:
            log.warning(
                "notifying %s of %s in group %s failed after %d tries: %s",
                self.host,
                n.action,
                n.group,
                tries,
                outcome.detail,
            )
        return NotifyResult(ok=outcome.ok, attempts=tries, detail=outcome.detail)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds; None when absent or an HTTP date (then our own backoff applies)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
