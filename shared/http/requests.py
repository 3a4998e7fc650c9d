"""Request parsing for the HTTP routes: query parameters and the POST /api/failover body.
Every error names its field; nothing is written for a request that does not parse."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from shared.core.jsontext import parse_timestamp
from shared.core.manual import ManualRequest

DEFAULT_HISTORY_LIMIT = 50
MAX_HISTORY_LIMIT = 1000
MAX_PIN_MINUTES = 30 * 24 * 60
_FAILOVER_FIELDS = {"group", "to", "reason", "pin", "pinMinutes", "pinUntil", "force"}
_DIGITS = re.compile(r"[0-9]{1,7}")


class InvalidRequestError(ValueError):
    """A request body or query parameter is invalid; the message names the field."""


def parse_limit(raw: str | None) -> int:
    """The `limit` query parameter: 1 to MAX_HISTORY_LIMIT, default DEFAULT_HISTORY_LIMIT."""
    if raw is None or raw == "":
        return DEFAULT_HISTORY_LIMIT
    # ASCII digits only: str.isdigit() also accepts "²", which int() then refuses.
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_HISTORY_LIMIT:
        raise InvalidRequestError(f"limit: {raw!r} must be a whole number from 1 to 1000")
    return int(raw)


def parse_failover_request(body: bytes, actor: str, now: datetime) -> ManualRequest:
    """Validate a POST /api/failover body for the operator `actor` (who signed in: never a
    field of the body); every error names its field."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequestError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidRequestError("body must be a JSON object")
    if "actor" in raw:
        raise InvalidRequestError(
            "actor: not taken from the body; the actor is the operator who signed in"
        )
    if unknown := sorted(set(raw) - _FAILOVER_FIELDS):
        raise InvalidRequestError(
            f"{unknown[0]}: unknown field (allowed: {', '.join(sorted(_FAILOVER_FIELDS))})"
        )
    reason = _text(raw, "reason", required=True)
    to = _text(raw, "to")
    pin = _flag(raw, "pin")
    if to is None and pin is None:
        raise InvalidRequestError("to: give the account to move to, or pin true/false")
    pin_expires = _pin_expires(raw, now)
    if pin_expires is not None and pin is not True:
        raise InvalidRequestError("pinMinutes/pinUntil: only with pin true")
    return ManualRequest(
        group=_text(raw, "group") or "",
        reason=reason or "",
        actor=actor,
        to=to,
        pin=pin,
        pin_expires=pin_expires,
        force=_flag(raw, "force") or False,
    )


def _pin_expires(raw: dict[str, object], now: datetime) -> datetime | None:
    if "pinMinutes" in raw and "pinUntil" in raw:
        raise InvalidRequestError("pinMinutes, pinUntil: give one, not both")
    minutes = raw.get("pinMinutes")
    if minutes is not None:
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise InvalidRequestError("pinMinutes: must be a whole number")
        if not 1 <= minutes <= MAX_PIN_MINUTES:
            raise InvalidRequestError(f"pinMinutes: must be from 1 to {MAX_PIN_MINUTES}")
        return now + timedelta(minutes=minutes)
    until = raw.get("pinUntil")
    if until is None:
        return None
    if not isinstance(until, str):
        raise InvalidRequestError("pinUntil: must be an ISO 8601 timestamp")
    try:
        expires = parse_timestamp(until, field="pinUntil")
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from exc
    if expires <= now:
        raise InvalidRequestError(f"pinUntil: {until} is not in the future")
    return expires


def _text(raw: dict[str, object], name: str, *, required: bool = False) -> str | None:
    value = raw.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"{name}: must be a non-empty string")
    if len(value) > 1000:
        raise InvalidRequestError(f"{name}: at most 1000 characters")
    return value.strip()


def _flag(raw: dict[str, object], name: str) -> bool | None:
    value = raw.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise InvalidRequestError(f"{name}: must be true or false")
