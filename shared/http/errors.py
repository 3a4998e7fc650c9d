"""One mapping from the project's errors to HTTP: a status, an `error` code and the message.

Every dependency failure is 503 with Retry-After, its code naming the dependency
(`StorageUnavailable`, `QueueUnavailable`, `ArmUnavailable`, `WriteConflict`,
`AuthUnavailable`, `Timeout`), so the action group retries it. Bad input is 4xx and wrote
nothing. Anything else is a bug, and the host answers it with 500.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import azure.functions as func

from shared.app.errors import GroupRequiredError, UnavailableError, UnknownGroupError
from shared.core.jsontext import InvalidAlertError
from shared.core.limits import UnstorableValueError
from shared.core.manual import UnknownAccountError, UnsafeTargetError
from shared.http.requests import InvalidRequestError

log = logging.getLogger(__name__)

# Most specific first: InvalidAlertError and InvalidRequestError are ValueErrors too.
_CLIENT_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (InvalidAlertError, 400, "InvalidAlert"),
    (InvalidRequestError, 400, "InvalidRequest"),
    (GroupRequiredError, 400, "InvalidRequest"),
    (UnknownAccountError, 400, "UnknownAccount"),
    (UnstorableValueError, 400, "Unstorable"),
    (UnknownGroupError, 404, "UnknownGroup"),
    (UnsafeTargetError, 409, "UnsafeTarget"),
)
HANDLED: tuple[type[Exception], ...] = (
    UnavailableError,
    *(kind for kind, _, _ in _CLIENT_ERRORS),
)


def error_response(exc: Exception, retry_after: int) -> func.HttpResponse:
    """The answer for one of the `HANDLED` errors."""
    if isinstance(exc, UnavailableError):
        log.warning("answering 503 %s: %s", exc.code, exc)
        headers = {"Retry-After": str(retry_after)}
        return json_response(503, {"error": exc.code, "message": str(exc)}, headers)
    for kind, status, code in _CLIENT_ERRORS:
        if isinstance(exc, kind):
            log.warning("answering %d %s: %s", status, code, exc)
            return json_response(status, {"error": code, "message": str(exc)})
    raise exc  # not one of ours to answer: the host's 500


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """An error answer in the contract's shape."""
    return json_response(status, {"error": code, "message": message}, headers)


def json_response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """A JSON answer (UTF-8, non-ASCII kept as is)."""
    return func.HttpResponse(
        json.dumps(body, default=_default, ensure_ascii=False),
        status_code=status,
        headers=headers,
        mimetype="application/json",
        charset="utf-8",
    )


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")
