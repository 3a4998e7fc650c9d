"""Errors shared by the adapters and the shell."""


class UnavailableError(Exception):
    """A dependency (storage, ARM) is unreachable or failing; nothing was written, retry later."""
