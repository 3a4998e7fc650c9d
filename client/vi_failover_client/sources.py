"""Where the flag is read from: the app's endpoint and the last-known-good file (the table is in
`table.py`). Each source turns its own failures into `SourceError`, whose message is safe to log:
it never holds the function key, an account key or a SAS.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

import requests

from vi_failover_client.account import (
    ActiveAccount,
    account_from_view,
    from_last_known_good,
    last_known_good_writer,
    to_last_known_good,
)
from vi_failover_client.urls import api_base, require_secure, safe_url

LAST_KNOWN_GOOD = "last-known-good"
Failure = Literal["unavailable", "misconfigured", "unknown-group"]


class SourceError(Exception):
    """One source could not give the flag; the message says why and is safe to log.

    `kind` says what a caller can do: `unavailable` may pass (an outage), `misconfigured` will
    not (a refused key, a wrong URL or table), and `unknown-group` says the group is not
    configured where the flag is kept.
    """

    def __init__(self, message: str, kind: Failure = "unavailable") -> None:
        super().__init__(message)
        self.kind: Failure = kind


@dataclass(frozen=True, slots=True)
class Read:
    """A live source's answer: the account, and the endpoint's Cache-Control max-age if any."""

    account: ActiveAccount
    max_age: float | None = None


class LiveSource(Protocol):
    """An endpoint or a table endpoint: read the flag within `timeout` seconds."""

    label: str
    identity: str

    def read(self, cached: ActiveAccount | None, now: datetime, timeout: float) -> Read:
        """The flag, or SourceError."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def network_reason(exc: BaseException) -> str:
    """The root cause of a transport error ("Connection refused"), never its URL.

    The outer messages of requests and azure-core quote the request URL, which holds a SAS
    when one is used; the innermost OSError says what went wrong without it.
    """
    root = exc
    for _ in range(32):  # bounded: a cause chain can, in principle, loop
        # azure-core raises its errors outside the except block; the cause is `inner_exception`.
        inner = getattr(root, "inner_exception", None)
        following = root.__cause__ or (inner if isinstance(inner, BaseException) else None)
        following = following or root.__context__
        if following is None or following is root:
            break
        root = following
    if isinstance(root, OSError) and root.strerror:
        return root.strerror
    return type(root).__name__


def max_age(cache_control: str | None) -> float | None:
    """Seconds from a Cache-Control header: max-age, or 0 for no-cache/no-store; else None."""
    if not cache_control:
        return None
    found: float | None = None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-cache", "no-store"):
            return 0.0
        if name == "max-age" and value.strip().isdigit():
            found = float(value.strip())
    return found


class EndpointSource:
    """`GET {base}/active-account?group=`, conditional on the cached ETag when it has one."""

    def __init__(
        self,
        base_url: str,
        *,
        group: str | None,
        function_key: str | None,
        session: requests.Session,
    ) -> None:
        base = api_base(base_url, setting="endpoints")
        if function_key:
            require_secure(base, setting="endpoints (VI_FAILOVER_URL)")
        self.label = f"endpoint:{safe_url(base)}"
        self.identity = self.label
        self._url = base + "/active-account"
        self._params = {"group": group} if group else None
        self._group = group
        self._headers = {"Accept": "application/json"}
        if function_key:
            self._headers["x-functions-key"] = function_key
        self._session = session

    def __repr__(self) -> str:
        return f"EndpointSource({self.label!r})"

    def read(self, cached: ActiveAccount | None, now: datetime, timeout: float) -> Read:
        """The flag, or `cached` confirmed by a 304."""
        headers = self._headers
        # Every endpoint serves the same table, so any endpoint's ETag revalidates at any other.
        if cached is not None and cached.etag and cached.source.startswith("endpoint:"):
            headers = {**headers, "If-None-Match": cached.etag}
        else:
            cached = None
        try:
            response = self._session.get(
                self._url,
                params=self._params,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,  # a redirect to another host would take the key along
            )
        except requests.Timeout:
            raise SourceError(f"timed out after {round(timeout, 1):g} s") from None
        except requests.RequestException as exc:
            raise SourceError(f"unreachable ({network_reason(exc)})") from None
        age = max_age(response.headers.get("Cache-Control"))
        etag = response.headers.get("ETag")
        status = response.status_code
        if status == 304:
            if cached is None:
                raise SourceError("answered 304 to a request that had no If-None-Match")
            confirmed = replace(
                cached,
                source=self.label,
                fetched_at=now,
                stale=False,
                etag=etag or cached.etag,
                group_unknown=False,
            )
            return Read(confirmed, age)
        if status == 404 and _error_code(response) == "UnknownGroup":
            raise SourceError(_error_message(response), "unknown-group")
        if status != 200:
            raise SourceError(*_refusal(response))
        try:
            account = account_from_view(
                response.json(), source=self.label, fetched_at=now, etag=etag
            )
        except ValueError as exc:  # MalformedError and requests' JSON errors alike
            raise SourceError(f"malformed answer: {exc}") from None
        if self._group is not None and account.group != self._group:
            raise SourceError(
                f"answered for group {account.group!r}, not {self._group!r}", "misconfigured"
            )
        return Read(account, age)

    def close(self) -> None:
        """The session belongs to the client, which closes it."""


def _refusal(response: requests.Response) -> tuple[str, Failure]:
    """Why a non-200 answer failed, and whether it is a configuration mistake."""
    status = response.status_code
    if status in (401, 403):
        return (
            f"answered {status}: the function key was refused (VI_FAILOVER_KEY: the readers' "
            "key of the function app)",
            "misconfigured",
        )
    if status == 404:
        return (
            "answered 404: no active-account route here (the URL is the app's API base, "
            "e.g. https://<app>.azurewebsites.net/api)",
            "misconfigured",
        )
    if 300 <= status < 400:
        where = safe_url(response.headers.get("Location", "")) or "?"
        return f"answered {status}, a redirect to {where}: use that URL", "misconfigured"
    return f"answered {status}", "unavailable"


def _error_code(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _error_message(response: requests.Response) -> str:
    message = response.json().get("message")
    return message if isinstance(message, str) and message else "unknown group"


class LastKnownGoodFile:
    """The last value a live source gave, as JSON, for when every live source fails.

    The file records which source and which requested group wrote it; a client configured with
    other sources, or for another group, does not use it.
    """

    def __init__(self, path: Path, *, group: str | None) -> None:
        self.path = path
        self.label = f"{LAST_KNOWN_GOOD} ({path})"
        self._group = group

    def read(self, identities: Collection[str]) -> ActiveAccount:
        """The saved value, always marked stale, if one of `identities` wrote it."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            writer, group = last_known_good_writer(raw)
            account = from_last_known_good(raw, source=LAST_KNOWN_GOOD)
        except FileNotFoundError:
            raise SourceError("no file yet") from None
        except OSError as exc:
            raise SourceError(f"unreadable ({exc.strerror or type(exc).__name__})") from None
        except ValueError as exc:  # MalformedError and json's errors alike
            raise SourceError(f"not used: {exc}") from None
        if writer not in identities:
            raise SourceError(f"not used: written from {writer}, which this client does not read")
        if group != self._group:
            raise SourceError(f"not used: written for group {group!r}, not {self._group!r}")
        return account

    def write(self, account: ActiveAccount, *, writer: str) -> None:
        """Replace the file atomically, so a crash mid-write never leaves half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = to_last_known_good(account, writer=writer, requested_group=self._group)
        data = json.dumps(body, indent=2).encode()
        handle, temporary = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
