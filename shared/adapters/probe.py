"""Readiness of one VI account: ARM has it as configured, and its data plane answers.

`AccountProber.probe` never raises. Every outcome is a `ProbeResult` whose status says what a
caller can do about it and whose evidence is one line of what was seen, never a token.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from urllib.parse import quote

import requests

from shared.adapters.arm import (
    ArmAuthError,
    ArmClient,
    ArmError,
    ArmNoAnswerError,
    excerpt,
    transport_reason,
)
from shared.core.model import Account, ArmAccount, ProbeResult, ReadinessStatus, normalize_region

logger = logging.getLogger(__name__)

PUBLIC_VI = "https://api.videoindexer.ai"
_DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 names no usable Retry-After
_BEARER = re.compile(r"(?i)bearer\s+\S+")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    retry_after: str | None
    latency_ms: float


class _NoAnswerError(Exception):
    """The data plane gave no HTTP answer: connection failure or timeout."""


class AccountProber:
    """Checks accounts through ARM (control plane) and a cheap VI API call (data plane)."""

    def __init__(
        self,
        arm: ArmClient,
        *,
        vi_base_url: str = PUBLIC_VI,
        timeout: float = 5.0,
        slow_ms: float = 3000,
        max_retry_after: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._arm = arm
        self._vi_base_url = vi_base_url.rstrip("/")
        self._timeout = timeout
        self._slow_ms = slow_ms
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        self._clock = clock

    def probe(self, account: Account) -> ProbeResult:
        """Classify the account's readiness; never raises."""
        checked_at = self._clock()
        try:
            result = self._probe(account, checked_at)
        except Exception as exc:  # noqa: BLE001 - a probe reports what it saw; it never raises
            evidence = f"probe failed unexpectedly: {type(exc).__name__}: {excerpt(str(exc))}"
            result = ProbeResult(ReadinessStatus.UNREACHABLE, _scrub(evidence), checked_at)
            logger.error("probe %s: %s: %s", account.name, result.status, result.evidence)
            return result
        logger.info("probe %s: %s: %s", account.name, result.status, result.evidence)
        return result

    def _probe(self, account: Account, checked_at: datetime) -> ProbeResult:
        try:
            found = self._arm.get_account(account.resource_id)
        except ArmError as exc:
            return ProbeResult(_arm_status(exc), _scrub(str(exc)), checked_at)
        result = partial(
            ProbeResult,
            checked_at=checked_at,
            account_id=found.account_id,
            location=found.location,
        )
        if problem := _mismatch(account, found):
            return result(ReadinessStatus.MISCONFIGURED, problem)
        try:
            token = self._arm.generate_access_token(found.resource_id)
        except ArmError as exc:
            status = _arm_status(exc)
            down = " (token endpoint down)" if status is ReadinessStatus.UNREACHABLE else ""
            return result(status, _scrub(f"{exc}{down}"))
        status, evidence, latency_ms = self._data_plane(found, token)
        return result(status, _scrub(evidence.replace(token, "<token>")), latency_ms=latency_ms)

    def _data_plane(
        self, found: ArmAccount, token: str
    ) -> tuple[ReadinessStatus, str, float | None]:
        path = f"/{quote(found.location, safe='')}/Accounts/{quote(found.account_id, safe='')}"
        url = f"{self._vi_base_url}{path}/Videos"
        seen = f"VI GET {path}/Videos?pageSize=1 →"
        # A session per probe, not per prober: requests.Session is not documented as
        # thread-safe, and a probe's retry still reuses the connection.
        with requests.Session() as session:
            try:
                answer = self._get(session, url, token)
                if answer.status == 429:
                    delay = self._retry_delay(answer.retry_after)
                    self._sleep(delay)
                    seen += f" 429, retried after {delay:g} s →"
                    answer = self._get(session, url, token)
            except _NoAnswerError as exc:
                return ReadinessStatus.UNREACHABLE, f"{seen} {exc}", None
        seen += f" {answer.status} in {answer.latency_ms:.0f} ms"
        return (*_classify(answer, seen, self._slow_ms, found), answer.latency_ms)

    def _get(self, session: requests.Session, url: str, token: str) -> _Answer:
        started = time.perf_counter()
        try:
            response = session.get(
                url,
                params={"pageSize": "1"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=(self._timeout, self._timeout),
                allow_redirects=False,  # a redirect would carry the token elsewhere
            )
        except requests.Timeout as exc:
            elapsed = (time.perf_counter() - started) * 1000
            raise _NoAnswerError(f"timed out after {elapsed:.0f} ms") from exc
        except requests.RequestException as exc:
            raise _NoAnswerError(f"no connection: {transport_reason(exc)}") from exc
        latency_ms = (time.perf_counter() - started) * 1000
        return _Answer(
            response.status_code, response.content, response.headers.get("Retry-After"), latency_ms
        )

    def _retry_delay(self, header: str | None) -> float:
        """Retry-After in seconds (a number or an HTTP date), capped at max_retry_after."""
        seconds = _DEFAULT_RETRY_AFTER
        if header:
            try:
                seconds = float(header)
            except ValueError:
                try:
                    seconds = (parsedate_to_datetime(header) - self._clock()).total_seconds()
                except (TypeError, ValueError):
                    seconds = _DEFAULT_RETRY_AFTER
        if not math.isfinite(seconds):
            seconds = _DEFAULT_RETRY_AFTER
        return min(max(seconds, 0.0), self._max_retry_after)


def _classify(
    answer: _Answer, seen: str, slow_ms: float, found: ArmAccount
) -> tuple[ReadinessStatus, str]:
    status = answer.status
    if status == 200:
        try:
            json.loads(answer.body)
        except ValueError:
            return ReadinessStatus.UNREACHABLE, f"{seen}, but the body is malformed (not JSON)"
        if answer.latency_ms > slow_ms:
            return ReadinessStatus.DEGRADED, f"{seen}: slow (over {slow_ms:g} ms)"
        return ReadinessStatus.HEALTHY, seen
    detail = excerpt(answer.body.decode("utf-8", errors="replace"))
    if status == 429:
        return ReadinessStatus.DEGRADED, f"{seen}: rate-limited but alive: {detail}"
    if status in (401, 403):
        return ReadinessStatus.UNAUTHORIZED, f"{seen}: the token was refused: {detail}"
    if status == 404:
        where = f"account {found.account_id} in {found.location}"
        return ReadinessStatus.MISCONFIGURED, f"{seen}: VI knows no {where}: {detail}"
    if 400 <= status < 500:
        return ReadinessStatus.MISCONFIGURED, f"{seen}: VI rejected the request: {detail}"
    return ReadinessStatus.UNREACHABLE, f"{seen}: {detail}"


def _arm_status(exc: ArmError) -> ReadinessStatus:
    if isinstance(exc, ArmAuthError):
        return ReadinessStatus.UNAUTHORIZED
    if isinstance(exc, ArmNoAnswerError):
        return ReadinessStatus.UNREACHABLE
    return ReadinessStatus.MISCONFIGURED  # not found, or a request ARM rejects as invalid


def _mismatch(account: Account, found: ArmAccount) -> str:
    """Why ARM's account is not the configured one, or "" (an empty config value matches)."""
    if found.provisioning_state != "Succeeded":
        return f"ARM provisioningState {found.provisioning_state}"
    if account.account_id and account.account_id.lower() != found.account_id.lower():
        return f"config accountId {account.account_id} but ARM has {found.account_id}"
    if account.location and normalize_region(account.location) != found.location:
        return f"config location {account.location} but ARM has {found.location}"
    return ""


def _scrub(evidence: str) -> str:
    return _BEARER.sub("Bearer <redacted>", evidence)  # belt and braces: no token leaves here
