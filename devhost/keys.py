"""Function and master keys, checked by auth level as Azure's Functions host checks them."""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import azure.functions as func

FUNCTION_KEY_SETTING = "LOCAL_FUNCTION_KEY"
FUNCTION_KEYS_SETTING = "LOCAL_FUNCTION_KEYS"
MASTER_KEY_SETTING = "LOCAL_MASTER_KEY"


class KeySettingError(ValueError):
    """LOCAL_FUNCTION_KEYS is not what it must be; the message says what is wrong."""


@dataclass(frozen=True)
class HostKeys:
    """The keys the local host demands, by auth level, as Azure's host does.

    With no key set nothing is checked. A function route takes the host's function key
    (`function_key`, like Azure's `default` host key), a key of that function
    (`per_function`: function name → key name → value) or the master key; an admin route and
    `/admin/functions/*` take the master key only (so with only function keys set they are
    closed); an anonymous route takes nothing.
    """

    function_key: str | None = field(default=None, repr=False)
    master_key: str | None = field(default=None, repr=False)
    per_function: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> HostKeys:
        """The keys in LOCAL_FUNCTION_KEY, LOCAL_FUNCTION_KEYS and LOCAL_MASTER_KEY; blank
        means unset. KeySettingError names what is wrong with LOCAL_FUNCTION_KEYS."""
        return cls(
            function_key=environ.get(FUNCTION_KEY_SETTING, "").strip() or None,
            master_key=environ.get(MASTER_KEY_SETTING, "").strip() or None,
            per_function=_per_function(environ.get(FUNCTION_KEYS_SETTING, "")),
        )

    @property
    def enforced(self) -> bool:
        """Whether any key is set, and so checked."""
        keys = (self.function_key, self.master_key)
        return any(key is not None for key in keys) or bool(self.per_function)

    def admit(self, level: func.AuthLevel, presented: str | None, function: str = "") -> bool:
        """Whether `presented` (None: no key sent) opens a route of this auth level served by
        `function`."""
        if not self.enforced or level == func.AuthLevel.ANONYMOUS:
            return True
        if not presented:
            return False
        accepted = [self.master_key]
        if level == func.AuthLevel.FUNCTION:
            accepted.append(self.function_key)
            accepted.extend(self.per_function.get(function, {}).values())
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


def _per_function(raw: str) -> dict[str, dict[str, str]]:
    """LOCAL_FUNCTION_KEYS: a JSON object of function name → {key name: key value}."""
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise KeySettingError(f"{FUNCTION_KEYS_SETTING} is not JSON: {exc.msg}") from None
    shape = f'{FUNCTION_KEYS_SETTING} must look like {{"<function>": {{"<key name>": "<key>"}}}}'
    if not isinstance(parsed, dict):
        raise KeySettingError(shape)
    keys: dict[str, dict[str, str]] = {}
    for function, named in parsed.items():
        if not isinstance(named, dict) or not named:
            raise KeySettingError(f"{shape}; {function!r} has no keys")
        for name, value in named.items():
            if not isinstance(value, str) or not value.strip():
                raise KeySettingError(f"{shape}; key {name!r} of {function!r} is empty")
        keys[function] = {name: value.strip() for name, value in named.items()}
    return keys
