"""`FAILOVER_CONFIG`: JSON text or a path to a JSON file, validated into a `Config`.

Every error names the offending key by its path (e.g. `groups[0].accounts[1].location`), so
a typo fails the app at start instead of producing a half-working controller.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from shared.core.model import (
    Account,
    Config,
    FailbackMode,
    Group,
    Mode,
    Policy,
    normalize_region,
)

_T = TypeVar("_T")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_RESOURCE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.VideoIndexer/accounts/[^/]+$",
    re.IGNORECASE,
)
_HEALTH_STATES = {"available", "unavailable", "degraded", "unknown"}
_FAILBACK: dict[str, FailbackMode] = {"manual": "manual", "auto": "auto"}
_MODES: dict[str, Mode] = {"active": "active", "shadow": "shadow"}
_POLICY_KEYS = {
    "serviceNames",
    "failoverOn",
    "failoverOnResourceHealth",
    "includeGlobal",
    "failback",
    "failbackStableMinutes",
    "minDwellMinutes",
    "acceptSynthetic",
    "confirmWithProbe",
    "failoverOnProbeFailures",
    "maxAutoMovesPerDay",
    "mode",
}


class ConfigError(ValueError):
    """FAILOVER_CONFIG is missing, unreadable or invalid; the message names the bad key."""


def load_config(value: str) -> Config:
    """Parse FAILOVER_CONFIG given as JSON text or as a path to a JSON file."""
    text = value.strip()
    if not text:
        raise ConfigError("FAILOVER_CONFIG is empty: give JSON text or a path to a JSON file")
    if not text.startswith("{"):
        try:
            text = Path(text).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"FAILOVER_CONFIG: cannot read file {text!r}: {exc}") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"FAILOVER_CONFIG is not valid JSON: {exc}") from exc
    return parse_config(raw)


def parse_config(raw: object) -> Config:
    """Validate decoded FAILOVER_CONFIG JSON."""
    top = _object(raw, "FAILOVER_CONFIG")
    _no_unknown_keys(top, {"groups", "policy"}, "FAILOVER_CONFIG")
    base = _policy(top.get("policy", {}), Policy(), "policy")
    groups_raw = top.get("groups")
    if not isinstance(groups_raw, list) or not groups_raw:
        raise ConfigError("FAILOVER_CONFIG: groups: must be a non-empty list")
    groups = tuple(_group(g, base, f"groups[{i}]") for i, g in enumerate(groups_raw))
    _unique([g.name for g in groups], "groups", "group name")
    return Config(groups=groups)


def _group(raw: object, base: Policy, path: str) -> Group:
    obj = _object(raw, path)
    _no_unknown_keys(obj, {"name", "accounts", "policy"}, path)
    name = _name(obj.get("name"), f"{path}.name")
    accounts_raw = obj.get("accounts")
    if not isinstance(accounts_raw, list) or len(accounts_raw) < 2:
        raise ConfigError(
            f"FAILOVER_CONFIG: {path}.accounts: must list at least two accounts in priority order"
        )
    accounts = tuple(_account(a, f"{path}.accounts[{i}]") for i, a in enumerate(accounts_raw))
    _unique([a.name for a in accounts], f"{path}.accounts", "account name")
    _unique([a.resource_id.lower() for a in accounts], f"{path}.accounts", "resourceId")
    policy = _policy(obj.get("policy", {}), base, f"{path}.policy")
    return Group(name=name, accounts=accounts, policy=policy)


def _account(raw: object, path: str) -> Account:
    obj = _object(raw, path)
    _no_unknown_keys(obj, {"name", "accountId", "location", "resourceId"}, path)
    resource_id = _string(obj.get("resourceId"), f"{path}.resourceId")
    if not _RESOURCE_ID.match(resource_id):
        raise ConfigError(
            f"FAILOVER_CONFIG: {path}.resourceId: {resource_id!r} is not a "
            "/subscriptions/…/providers/Microsoft.VideoIndexer/accounts/… resource id"
        )
    # accountId and location may be left out: they are then resolved from ARM (README).
    account_id = obj.get("accountId")
    location = obj.get("location")
    return Account(
        name=_name(obj.get("name"), f"{path}.name"),
        account_id="" if account_id is None else _string(account_id, f"{path}.accountId"),
        location=""
        if location is None
        else normalize_region(_string(location, f"{path}.location")),
        resource_id=resource_id,
    )


def _policy(raw: object, base: Policy, path: str) -> Policy:
    obj = _object(raw, path)
    _no_unknown_keys(obj, _POLICY_KEYS, path)
    policy = base
    if "serviceNames" in obj:
        names = _strings(obj["serviceNames"], f"{path}.serviceNames")
        policy = replace(policy, service_names=tuple(n.lower() for n in names))
    if "failoverOn" in obj:
        types = _strings(obj["failoverOn"], f"{path}.failoverOn", allow_empty=True)
        policy = replace(policy, failover_on=frozenset(t.lower() for t in types))
    if "failoverOnResourceHealth" in obj:
        key = f"{path}.failoverOnResourceHealth"
        raw_states = _strings(obj["failoverOnResourceHealth"], key, allow_empty=True)
        states = {state.lower() for state in raw_states}
        if unknown := states - _HEALTH_STATES:
            raise ConfigError(
                f"FAILOVER_CONFIG: {key}: unknown health state(s) {sorted(unknown)}; "
                "use Available, Unavailable, Degraded or Unknown"
            )
        policy = replace(policy, failover_on_resource_health=frozenset(states))
    if "includeGlobal" in obj:
        value = _bool(obj["includeGlobal"], f"{path}.includeGlobal")
        policy = replace(policy, include_global=value)
    if "acceptSynthetic" in obj:
        value = _bool(obj["acceptSynthetic"], f"{path}.acceptSynthetic")
        policy = replace(policy, accept_synthetic=value)
    if "failback" in obj:
        policy = replace(policy, failback=_choice(obj["failback"], f"{path}.failback", _FAILBACK))
    if "mode" in obj:
        policy = replace(policy, mode=_choice(obj["mode"], f"{path}.mode", _MODES))
    if "failbackStableMinutes" in obj:
        minutes = _minutes(obj["failbackStableMinutes"], f"{path}.failbackStableMinutes")
        policy = replace(policy, failback_stable_minutes=minutes)
    if "confirmWithProbe" in obj:
        count = _count(obj["confirmWithProbe"], f"{path}.confirmWithProbe", 0)
        policy = replace(policy, confirm_with_probe=count)
    if "failoverOnProbeFailures" in obj:
        count = _count(obj["failoverOnProbeFailures"], f"{path}.failoverOnProbeFailures", 0)
        policy = replace(policy, failover_on_probe_failures=count)
    if "maxAutoMovesPerDay" in obj:
        count = _count(obj["maxAutoMovesPerDay"], f"{path}.maxAutoMovesPerDay", 1)
        policy = replace(policy, max_auto_moves_per_day=count)
    if "minDwellMinutes" in obj:
        policy = replace(
            policy, min_dwell_minutes=_minutes(obj["minDwellMinutes"], f"{path}.minDwellMinutes")
        )
    return policy


def _object(raw: object, path: str) -> dict[str, object]:
    if not isinstance(raw, dict):
        raise ConfigError(f"FAILOVER_CONFIG: {path}: must be a JSON object")
    return {str(k): v for k, v in raw.items()}


def _no_unknown_keys(obj: dict[str, object], allowed: set[str], path: str) -> None:
    if unknown := sorted(set(obj) - allowed):
        allowed_keys = ", ".join(sorted(allowed))
        raise ConfigError(
            f"FAILOVER_CONFIG: {path}.{unknown[0]}: unknown key (allowed: {allowed_keys})"
        )


def _string(raw: object, path: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"FAILOVER_CONFIG: {path}: must be a non-empty string")
    return raw.strip()


def _name(raw: object, path: str) -> str:
    name = _string(raw, path)
    if not _NAME.match(name):
        raise ConfigError(
            f"FAILOVER_CONFIG: {path}: {name!r} must be 1-63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def _strings(raw: object, path: str, *, allow_empty: bool = False) -> list[str]:
    if not isinstance(raw, list) or (not raw and not allow_empty):
        raise ConfigError(f"FAILOVER_CONFIG: {path}: must be a non-empty list of strings")
    return [_string(item, f"{path}[{i}]") for i, item in enumerate(raw)]


def _bool(raw: object, path: str) -> bool:
    if not isinstance(raw, bool):
        raise ConfigError(f"FAILOVER_CONFIG: {path}: must be true or false")
    return raw


def _choice(raw: object, path: str, choices: Mapping[str, _T]) -> _T:
    if not isinstance(raw, str) or raw not in choices:
        allowed = " or ".join(f'"{c}"' for c in choices)
        raise ConfigError(f"FAILOVER_CONFIG: {path}: must be {allowed}")
    return choices[raw]


def _minutes(raw: object, path: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ConfigError(f"FAILOVER_CONFIG: {path}: must be a whole number of minutes >= 0")
    return raw


def _count(raw: object, path: str, minimum: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
        raise ConfigError(f"FAILOVER_CONFIG: {path}: must be a whole number >= {minimum}")
    return raw


def _unique(values: list[str], path: str, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ConfigError(f"FAILOVER_CONFIG: {path}: duplicate {what} {value!r}")
        seen.add(value)
