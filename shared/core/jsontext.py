"""Reading JSON alert bodies field by field: every error names the field's dotted path. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.core.limits import EARLIEST, UnstorableValueError, check_id, clean


class InvalidAlertError(ValueError):
    """The body is not JSON or not an alert; the message names the offending field."""


_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})?", re.ASCII
)


def parse_timestamp(text: str, *, field: str = "timestamp") -> datetime:
    """ISO 8601 as Azure sends it (`Z`, `+00:00` or no offset = UTC; 0-7 fraction digits)."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise InvalidAlertError(f"{field} is not an ISO 8601 date and time: {text!r}")
    seconds, fraction, offset = match.groups()
    # .NET sends 7 fraction digits (ticks); datetime keeps 6, and older parsers accept no more.
    micro = (fraction or "")[:6].ljust(6, "0")
    zone = "+00:00" if offset in (None, "Z", "z") else offset
    try:
        parsed = datetime.fromisoformat(f"{seconds}.{micro}{zone}").astimezone(UTC)
    except ValueError as exc:
        raise InvalidAlertError(f"{field} is not a valid date and time: {text!r} ({exc})") from exc
    except OverflowError:
        parsed = None
    if parsed is None or parsed < EARLIEST:
        raise InvalidAlertError(
            f"{field} {text!r} is outside the times Table Storage can hold "
            "(1601-01-01T00:00:00Z to 9999-12-31T23:59:59Z)"
        )
    return parsed


def loads(text: str, field: str) -> object:
    try:
        value: object = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKeyError as exc:
        raise InvalidAlertError(
            f"{field} has a duplicate key {exc.args[0]!r} in one object"
        ) from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise InvalidAlertError(f"{field} is not valid JSON: {exc.msg} at {where}") from exc
    except RecursionError as exc:
        raise InvalidAlertError(f"{field} is not valid JSON: nested too deeply") from exc
    return value


class _DuplicateKeyError(ValueError):
    """A JSON object repeats a key: two readers could see two different alerts."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "number"


@dataclass(frozen=True)
class Node:
    """A JSON object and the dotted path it sits at, so that every error names its field."""

    value: dict[str, object]
    path: str

    @classmethod
    def of(cls, value: object, path: str) -> Node:
        if not isinstance(value, dict):
            where = path or "the alert"
            raise InvalidAlertError(f"{where} must be an object, got {json_type(value)}")
        return cls(value, path)

    def at(self, key: str) -> str:
        """The dotted path of `key` under this node."""
        return f"{self.path}.{key}" if self.path else key

    def _absent(self, key: str) -> InvalidAlertError:
        return InvalidAlertError(f"{self.at(key)} is {'null' if key in self.value else 'missing'}")

    def child(self, key: str) -> Node:
        """The object under `key`; missing or null is an error."""
        value = self.value.get(key)
        if value is None:
            raise self._absent(key)
        return Node.of(value, self.at(key))

    def child_or_empty(self, key: str) -> Node:
        """The object under `key`, or an empty one when it is missing or null."""
        value = self.value.get(key)
        return Node({}, self.at(key)) if value is None else Node.of(value, self.at(key))

    def text(self, key: str) -> str | None:
        """The string under `key` (lone surrogates replaced), or None when missing or null."""
        value = self.raw_text(key)
        return clean(value) if value is not None else None

    def raw_text(self, key: str) -> str | None:
        """The string under `key` as sent, or None when it is missing or null."""
        value = self.value.get(key)
        if value is None or isinstance(value, str):
            return value
        raise InvalidAlertError(f"{self.at(key)} must be a string, got {json_type(value)}")

    def identifier(self, key: str) -> str:
        """A required identifier: stripped, never cut, and refused when it cannot be stored."""
        value = self.raw_text(key)
        if value is None:
            raise self._absent(key)
        if not value.strip():
            raise InvalidAlertError(f"{self.at(key)} is empty")
        return self._checked(value.strip(), key)

    def optional_identifier(self, key: str) -> str:
        """An optional identifier, or "" when it is missing, null or blank."""
        value = (self.raw_text(key) or "").strip()
        return self._checked(value, key) if value else ""

    def _checked(self, value: str, key: str) -> str:
        try:
            return check_id(value, self.at(key))
        except UnstorableValueError as exc:
            raise InvalidAlertError(str(exc)) from exc

    def required_text(self, key: str) -> str:
        """The string under `key`, stripped; missing, null or blank is an error."""
        value = self.text(key)
        if value is None:
            raise self._absent(key)
        if not value.strip():
            raise InvalidAlertError(f"{self.at(key)} is empty")
        return value.strip()

    def enum_text(self, key: str) -> str | None:
        """An enum sent as a name or as a number (`eventSource` 2); a number as its digits."""
        value = self.value.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(key)
