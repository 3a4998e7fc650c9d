"""host.json as the Functions host reads it: the HTTP route prefix and each extension's section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEFAULT_ROUTE_PREFIX = "api"


def read_extension(host_json: Path, name: str) -> Any:
    """host.json's `extensions.<name>` as written ({} when it, or the file, is absent)."""
    try:
        config = json.loads(host_json.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return config.get("extensions", {}).get(name, {})


def read_route_prefix(host_json: Path) -> str:
    """Return host.json's `extensions.http.routePrefix` without slashes ("api" when unset)."""
    prefix = read_extension(host_json, "http").get("routePrefix", DEFAULT_ROUTE_PREFIX)
    if not isinstance(prefix, str):
        raise ValueError(f"{host_json}: extensions.http.routePrefix must be a string")
    return prefix.strip("/")
