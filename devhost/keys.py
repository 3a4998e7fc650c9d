"""Function and master keys, checked by auth level as Azure's Functions host checks them."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import azure.functions as func

FUNCTION_KEY_SETTING = "LOCAL_FUNCTION_KEY"
MASTER_KEY_SETTING = "LOCAL_MASTER_KEY"


@dataclass(frozen=True)
class HostKeys:
    """The keys the local host demands, by auth level, as Azure's host does.

    With neither key set nothing is checked. A function route takes the function key or the
    master key; an admin route and `/admin/functions/*` take the master key only (so with only
    a function key set they are closed); an anonymous route takes nothing.
    """

    function_key: str | None = field(default=None, repr=False)
    master_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> HostKeys:
        """The keys in LOCAL_FUNCTION_KEY and LOCAL_MASTER_KEY; blank means unset."""
        return cls(
            function_key=environ.get(FUNCTION_KEY_SETTING, "").strip() or None,
            master_key=environ.get(MASTER_KEY_SETTING, "").strip() or None,
        )

    @property
    def enforced(self) -> bool:
        """Whether any key is set, and so checked."""
        return self.function_key is not None or self.master_key is not None

    def admit(self, level: func.AuthLevel, presented: str | None) -> bool:
        """Whether `presented` (None: no key sent) opens a route of this auth level."""
        if not self.enforced or level == func.AuthLevel.ANONYMOUS:
            return True
        if not presented:
            return False
        accepted = [self.master_key]
        if level == func.AuthLevel.FUNCTION:
            accepted.append(self.function_key)
        given = presented.encode(errors="replace")
        # Every key is compared, so the time taken does not say which one came closer.
        matches = [hmac.compare_digest(given, key.encode()) for key in accepted if key]
        return any(matches)


def presented_key(header: str | None, query: str) -> str | None:
    """The key a request carries: the x-functions-key header, else the `code` parameter."""
    if header and header.strip():
        return header.strip()
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "code":
            return value  # the first value wins, as for every query parameter
    return None
