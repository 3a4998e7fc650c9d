"""The active account as apps see it, the client's errors, and the wire formats it reads. Pure.

Three formats carry the same flag: the body of `GET /api/active-account`, the `active` entity
in Table Storage (README, "The active-account entity") and the client's last-known-good file,
which is the endpoint body plus read metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vi_failover_client.refs import AccountRef, InvalidAccountError

LAST_KNOWN_GOOD_FORMAT = 2


@dataclass(frozen=True, slots=True)
class ActiveAccount:
    """The group's active VI account, and where and when this copy was read."""

    group: str
    name: str
    account_id: str
    location: str
    resource_id: str
    role: str
    version: int
    since: datetime
    reason: str
    pinned: bool
    source: str
    """`endpoint:<url>`, `table:primary`, `table:secondary` or `last-known-good`."""
    fetched_at: datetime
    """When a live source last confirmed this value (a 304 counts)."""
    stale: bool
    """True when the value is older than `max_staleness`, or came from the last-known-good file."""
    etag: str | None
    """The endpoint's ETag, or the table entity's; only endpoint ETags are revalidated."""
    group_unknown: bool = False
    """True when a source now says the group is not configured: this is the last value held."""

    @property
    def ref(self) -> AccountRef:
        """This account as an `AccountRef`, to store with a video; checked as Azure issues ids."""
        missing = [
            name
            for name, value in (
                ("accountId", self.account_id),
                ("location", self.location),
                ("resourceId", self.resource_id),
            )
            if not value
        ]
        if missing:
            raise InvalidAccountError(
                f"{self.name}: the flag has no {' or '.join(missing)}; give them in FAILOVER_CONFIG"
            )
        return AccountRef(self.name, self.account_id, self.location, self.resource_id)


class ActiveAccountError(Exception):
    """Base of the errors `ActiveAccountClient.get` raises."""


class ActiveAccountUnavailableError(ActiveAccountError):
    """No source answered and nothing was ever read."""

    def __init__(self, message: str, failures: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        # (source, why it failed) for every source tried, in order: for callers that report.
        self.failures = tuple(failures)


class ConfigurationError(ActiveAccountError):
    """A source refused the client's configuration: a key, a URL, a table name or the group.

    `problems` holds (source, why) for each source that refused; no outage explains these, so
    the client raises them at start instead of falling back quietly.
    """

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class UnknownGroupError(ConfigurationError):
    """A source does not know the group: a configuration error, so no fallback is tried."""


class MalformedError(ValueError):
    """A source answered with something that is not the active-account flag."""


def account_from_view(
    view: object,
    *,
    source: str,
    fetched_at: datetime,
    etag: str | None,
    stale: bool = False,
) -> ActiveAccount:
    """Parse a `GET /api/active-account` body (also the core of the last-known-good file)."""
    body = _mapping(view, "body")
    account = _mapping(body.get("account"), "account")
    return ActiveAccount(
        group=_text(body, "group"),
        name=_text(account, "name"),
        account_id=_optional_text(account, "accountId"),
        location=_optional_text(account, "location"),
        resource_id=_optional_text(account, "resourceId"),
        role=_optional_text(body, "role"),
        version=_int(body.get("version"), "version"),
        since=_timestamp(body.get("since"), "since"),
        reason=_optional_text(body, "reason"),
        pinned=_bool(body.get("pinned"), "pinned"),
        source=source,
        fetched_at=fetched_at,
        stale=stale,
        etag=etag,
    )


def account_from_entity(
    entity: Mapping[str, Any], *, source: str, fetched_at: datetime, etag: str | None
) -> ActiveAccount:
    """Parse the `active` entity as the app writes it; `pinned` honours `PinExpires`, as the app."""
    pin_expires = entity.get("PinExpires")
    pinned = _bool(entity.get("Pinned", False), "Pinned") and (
        pin_expires is None or fetched_at < _utc(pin_expires, "PinExpires")
    )
    return ActiveAccount(
        group=_text(entity, "PartitionKey"),
        name=_text(entity, "AccountName"),
        account_id=_optional_text(entity, "AccountId"),
        location=_optional_text(entity, "Location"),
        resource_id=_optional_text(entity, "ResourceId"),
        role=_optional_text(entity, "Role"),
        version=_int(entity.get("Version"), "Version"),
        since=_utc(entity.get("Since"), "Since"),
        reason=_optional_text(entity, "Reason"),
        pinned=pinned,
        source=source,
        fetched_at=fetched_at,
        stale=False,
        etag=etag,
    )


def account_view(account: ActiveAccount) -> dict[str, object]:
    """The account as `GET /api/active-account` answers it."""
    return {
        "group": account.group,
        "account": {
            "name": account.name,
            "accountId": account.account_id,
            "location": account.location,
            "resourceId": account.resource_id,
        },
        "role": account.role,
        "since": account.since.isoformat(),
        "reason": account.reason,
        "version": account.version,
        "pinned": account.pinned,
    }


def to_last_known_good(
    account: ActiveAccount, *, writer: str, requested_group: str | None
) -> dict[str, object]:
    """The last-known-good file's JSON: the endpoint's body, where and when it was read, and
    which source (`writer`, an identity without secrets) and requested group wrote it."""
    return {
        "format": LAST_KNOWN_GOOD_FORMAT,
        "writer": {"source": writer, "group": requested_group},
        **account_view(account),
        "source": account.source,
        "fetchedAt": account.fetched_at.isoformat(),
        "etag": account.etag,
    }


def last_known_good_writer(raw: object) -> tuple[str, str | None]:
    """(source identity, requested group) of the client that wrote a last-known-good file."""
    body = _mapping(raw, "file")
    if body.get("format") != LAST_KNOWN_GOOD_FORMAT:
        raise MalformedError(
            f"format {body.get('format')!r}: written by another client version, which did not "
            "record its source"
        )
    writer = _mapping(body.get("writer"), "writer")
    group = writer.get("group")
    if group is not None and not isinstance(group, str):
        raise MalformedError("writer.group: expected a string or null")
    return _text(writer, "source"), group


def from_last_known_good(raw: object, *, source: str) -> ActiveAccount:
    """Parse the last-known-good file; always stale, since no live source vouches for it."""
    body = _mapping(raw, "file")
    last_known_good_writer(body)
    etag = body.get("etag")
    if etag is not None and not isinstance(etag, str):
        raise MalformedError("etag: expected a string or null")
    return account_from_view(
        body,
        source=source,
        fetched_at=_timestamp(body.get("fetchedAt"), "fetchedAt"),
        etag=etag,
        stale=True,
    )


def _mapping(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedError(f"{name}: expected a JSON object")
    return value


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedError(f"{name}: expected a non-empty string")
    return value


def _optional_text(raw: Mapping[str, Any], name: str) -> str:
    # The app writes "" (table) or null (endpoint) for an account missing from its config.
    value = raw.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedError(f"{name}: expected a string")
    return value


def _int(value: object, name: str) -> int:
    # Int64 entity properties come back wrapped in an EntityProperty with a `.value`.
    value = getattr(value, "value", value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedError(f"{name}: expected a whole number")
    return value


def _bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise MalformedError(f"{name}: expected true or false")
    return value


def _timestamp(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedError(f"{name}: expected an ISO 8601 timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedError(f"{name}: {value!r} is not an ISO 8601 timestamp") from exc
    return _utc(parsed, name)


def _utc(value: object, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise MalformedError(f"{name}: expected a timestamp with a time zone")
    value = value.astimezone(UTC)
    # The table SDK returns its own datetime subclass; plain datetimes compare and print alike.
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
        tzinfo=UTC,
    )
