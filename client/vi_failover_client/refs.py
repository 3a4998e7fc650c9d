"""`AccountRef`: which VI account holds a video, small enough to store beside its id. Pure.

Every field is checked against what Azure issues before any URL is built from it: the account id
is a GUID, the location lower-case letters and digits, and the resource id a
`Microsoft.VideoIndexer/accounts` id in a subscription GUID. A value read from the table, the
endpoint or a file that fails these checks never reaches a URL, so it never receives a token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
GUID = re.compile(rf"^{_GUID}$")
# Resource group names: 1-90 letters, digits, `_`, `-`, `.`, `(`, `)`; not ending in `.`.
RESOURCE_ID = re.compile(
    rf"^/subscriptions/{_GUID}/resourceGroups/[-\w.()]{{0,89}}[-\w()]"
    r"/providers/Microsoft\.VideoIndexer/accounts/[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$",
    re.IGNORECASE | re.ASCII,
)
LOCATION = re.compile(r"^[a-z0-9]{1,40}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_FIELDS = ("name", "accountId", "location", "resourceId")


class InvalidAccountError(ValueError):
    """An account's name, id, location or resource id is not what Azure issues."""


def normalise_location(value: str) -> str:
    """ARM's "East US" as the VI API wants it: `eastus`."""
    return "".join(value.split()).lower()


def check_account_id(value: str, *, what: str) -> str:
    """`value` when it is a GUID, else InvalidAccountError naming `what`."""
    if not isinstance(value, str) or not GUID.fullmatch(value):
        raise InvalidAccountError(f"{what}: accountId must be a GUID, got {_shown(value)}")
    return value


def check_location(value: str, *, what: str) -> str:
    """The normalised location when it is lower-case letters and digits, else an error."""
    location = normalise_location(value) if isinstance(value, str) else ""
    if not LOCATION.fullmatch(location):
        raise InvalidAccountError(
            f"{what}: location must be an Azure region such as eastus, got {_shown(value)}"
        )
    return location


def check_resource_id(value: str, *, what: str) -> str:
    """`value` when it is a Microsoft.VideoIndexer/accounts resource id, else an error."""
    if not isinstance(value, str) or not RESOURCE_ID.fullmatch(value):
        raise InvalidAccountError(
            f"{what}: resourceId must be /subscriptions/<guid>/resourceGroups/<name>/providers/"
            f"Microsoft.VideoIndexer/accounts/<name>, got {_shown(value)}"
        )
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass(frozen=True, slots=True)
class AccountRef:
    """One VI account: what an app stores with each video id to find the video again."""

    name: str
    account_id: str
    location: str
    resource_id: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name):
            raise InvalidAccountError(
                f"account name: expected 1-63 letters, digits, . _ -, got {_shown(self.name)}"
            )
        what = f"account {self.name}"
        check_account_id(self.account_id, what=what)
        object.__setattr__(self, "location", check_location(self.location, what=what))
        check_resource_id(self.resource_id, what=what)

    def to_dict(self) -> dict[str, str]:
        """`{"name", "accountId", "location", "resourceId"}`, the API's own spelling."""
        return {
            "name": self.name,
            "accountId": self.account_id,
            "location": self.location,
            "resourceId": self.resource_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The inverse of `to_dict`; every field is checked again."""
        if not isinstance(data, Mapping):
            raise InvalidAccountError("account: expected a JSON object")
        missing = [f for f in _FIELDS if not isinstance(data.get(f), str) or not data.get(f)]
        if missing:
            raise InvalidAccountError(f"account: missing {', '.join(missing)}")
        return cls(
            name=data["name"],
            account_id=data["accountId"],
            location=data["location"],
            resource_id=data["resourceId"],
        )

    def to_json(self) -> str:
        """One line of JSON, for a database column or a blob's metadata."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Self:
        """The inverse of `to_json`."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidAccountError(f"account: not JSON ({exc})") from None
        return cls.from_dict(data)


def accounts_from_config(value: str | Mapping[str, Any], group: str | None) -> list[AccountRef]:
    """The accounts of `group` in the app's FAILOVER_CONFIG (JSON text, a path, or parsed).

    `group` None means the config's only group. Accounts the config leaves without an accountId
    or location (the app reads those from ARM) cannot be referred to and are left out.
    """
    config = value if isinstance(value, Mapping) else _load(value)
    groups = config.get("groups")
    if not isinstance(groups, list) or not groups:
        raise ValueError('config: expected {"groups": [...]}, as FAILOVER_CONFIG')
    named = [g for g in groups if isinstance(g, Mapping)]
    if group is None:
        if len(named) != 1:
            raise ValueError("config: several groups; name the group")
        chosen = named[0]
    else:
        found = [g for g in named if g.get("name") == group]
        if not found:
            raise ValueError(f"config: no group {group!r}")
        chosen = found[0]
    accounts = chosen.get("accounts")
    if not isinstance(accounts, list):
        raise ValueError(f"config: group {chosen.get('name')!r} has no accounts list")
    return [
        AccountRef.from_dict(a)
        for a in accounts
        if isinstance(a, Mapping) and all(isinstance(a.get(f), str) and a.get(f) for f in _FIELDS)
    ]


def _load(value: str) -> Mapping[str, Any]:
    text = value.strip()
    if not text.startswith("{"):
        text = Path(text).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, Mapping):
        raise ValueError("config: expected a JSON object")
    return data
