"""One answer of the ARM/VI stand-in, as a value its HTTP handler sends."""

from __future__ import annotations

from dataclasses import dataclass, field

JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    """An answer to send after `delay` seconds; with `answer` False, only the wait, then hang up."""

    status: int = 200
    body: object = None  # JSON, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON
    delay: float = 0.0
    answer: bool = True


def vi_error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """The VI API's error shape."""
    return Reply(status, {"ErrorType": kind, "Message": message}, headers=headers or {})
