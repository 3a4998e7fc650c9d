"""What Table Storage can hold, checked before anything is written. Pure.

Limits (Microsoft Learn, "Understanding the Table service data model"): a string property holds
64 KiB of UTF-16, a PartitionKey or RowKey 1 KiB and none of `/ \\ # ?` or control characters,
an entity 1 MiB and 252 properties of ours, a DateTime 1601-01-01 to 9999-12-31 UTC. Lone
surrogates are not Unicode at all. Text that only explains (titles, reasons) is cut to fit, with
a marker saying so; a value that identifies something is never cut: it is refused, naming the
field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

MAX_KEY_UNITS = 512  # 1 KiB of UTF-16
MAX_STRING_UNITS = 32 * 1024  # 64 KiB of UTF-16
MAX_ENTITY_BYTES = 1024 * 1024
MAX_PROPERTIES = 252
MAX_ID_CHARS = 1024  # a tracking id, update id or resource id longer than this is not Azure's
TITLE_UNITS = 1024
REASON_UNITS = 8 * 1024
LIST_UNITS = 4 * 1024
EARLIEST = datetime(1601, 1, 1, tzinfo=UTC)
_FORBIDDEN_IN_KEYS = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class UnstorableValueError(ValueError):
    """A value Table Storage cannot hold, and that may not be cut to fit; names the field."""


def utf16_units(text: str) -> int:
    """The length Table Storage counts: UTF-16 code units (two for a character above U+FFFF).

    Every stored string is measured, on every write: the codec does it in C, and ASCII text,
    the common case, is counted without encoding at all."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def has_lone_surrogate(text: str) -> bool:
    """True when the text holds a surrogate code point, which is not valid Unicode on its own
    (UTF-8 cannot encode one, so the codec finds it in C)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD, so it can be stored and read."""
    if not has_lone_surrogate(text):
        return text
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def fit(text: str, units: int = REASON_UNITS) -> str:
    """The text, cleaned, and cut to at most `units` UTF-16 units with a marker when longer."""
    text = clean(text)
    if utf16_units(text) <= units:
        return text
    kept = text[: max(units - 48, 0)]
    while utf16_units(kept) > units - 48:
        kept = kept[:-1]
    return f"{kept}… [cut: {len(text) - len(kept):,} more characters]"


def fit_list(items: Sequence[str], units: int = LIST_UNITS) -> tuple[str, ...]:
    """As many items as fit in `units` (each cleaned), and a last one saying how many were cut."""
    kept: list[str] = []
    used = 0
    for item in items:
        fitted = fit(item, TITLE_UNITS)
        used += utf16_units(fitted) + 4
        if used > units:
            return (*kept, f"… [cut: {len(items) - len(kept):,} more]")
        kept.append(fitted)
    return tuple(kept)


def check_id(value: str, field: str) -> str:
    """An identifier as sent, or UnstorableValueError: too long, control characters, or not
    valid Unicode."""
    if len(value) > MAX_ID_CHARS:
        raise UnstorableValueError(
            f"{field} is {len(value):,} characters long; at most {MAX_ID_CHARS:,} are accepted"
        )
    if has_lone_surrogate(value):
        raise UnstorableValueError(f"{field} holds a lone surrogate: it is not valid Unicode")
    if _CONTROL.search(value):
        raise UnstorableValueError(f"{field} holds a control character")
    return value


def check_time(value: datetime, field: str) -> None:
    """UnstorableValueError unless Table Storage can hold this DateTime."""
    if value < EARLIEST:
        raise UnstorableValueError(
            f"{field} {value.isoformat()} is before 1601-01-01T00:00:00Z, the earliest time "
            "Table Storage holds"
        )


def check_entity(entity: Mapping[str, object], where: str) -> None:
    """UnstorableValueError naming the entity and property unless Table Storage can hold it."""
    for key in ("PartitionKey", "RowKey"):
        value = entity.get(key)
        if not isinstance(value, str):
            raise UnstorableValueError(f"{where}: {key} is missing")
        if utf16_units(value) > MAX_KEY_UNITS:
            raise UnstorableValueError(f"{where}: {key} is longer than 1 KiB")
        if _FORBIDDEN_IN_KEYS.search(value) or has_lone_surrogate(value):
            raise UnstorableValueError(f"{where}: {key} holds a character keys may not hold")
    if len(entity) - 2 > MAX_PROPERTIES:
        raise UnstorableValueError(f"{where}: {len(entity) - 2} properties; at most 252")
    size = 0
    for name, value in entity.items():
        size += 8 + 2 * len(name) + _value_bytes(value)
        if isinstance(value, str):
            if utf16_units(value) > MAX_STRING_UNITS:
                raise UnstorableValueError(f"{where}: {name} is longer than 64 KiB")
            if has_lone_surrogate(value):
                raise UnstorableValueError(f"{where}: {name} is not valid Unicode")
        elif isinstance(value, datetime):
            check_time(value, f"{where}: {name}")
    if size > MAX_ENTITY_BYTES:
        raise UnstorableValueError(f"{where}: {size:,} bytes; an entity holds at most 1 MiB")


def _value_bytes(value: object) -> int:
    if isinstance(value, str):
        return 4 + 2 * utf16_units(value)
    return 8
