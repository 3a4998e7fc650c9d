"""The errors a caller of the use cases can act on. Adapters translate their SDK's errors into
these, once; `shared.http.errors` turns each into one HTTP status and `error` code.

Every `UnavailableError` means: nothing was written (or what was written is whole), the
dependency it names failed, and the same request is safe to send again, so the webhook answers
503 with Retry-After and the action group retries.
"""

from __future__ import annotations


class UnavailableError(Exception):
    """A dependency could not do its part; nothing is half-written; retry later."""

    code = "Unavailable"


class StorageUnavailableError(UnavailableError):
    """Table Storage could not be reached, timed out or failed."""

    code = "StorageUnavailable"


class QueueUnavailableError(UnavailableError):
    """The fan-out queue could not take the batches."""

    code = "QueueUnavailable"


class ArmUnavailableError(UnavailableError):
    """Azure Resource Manager could not tell an account's accountId or location."""

    code = "ArmUnavailable"


class WriteConflictError(UnavailableError):
    """A group's state kept changing under concurrent writers; gave up for now."""

    code = "WriteConflict"


class AuthUnavailableError(UnavailableError):
    """The keys that validate a bearer token could not be fetched."""

    code = "AuthUnavailable"


class TimeoutUnavailableError(UnavailableError):
    """The request's work did not finish within its budget; whatever landed landed whole."""

    code = "Timeout"


class ConflictError(Exception):
    """The group's state changed since it was read; read it again and decide again."""


class UnstorableError(ValueError):
    """A value cannot be stored as sent (too long, or not valid text); names the field."""


class UnknownGroupError(LookupError):
    """No group of that name is configured."""


class GroupRequiredError(ValueError):
    """The request names no group, and more than one is configured."""
