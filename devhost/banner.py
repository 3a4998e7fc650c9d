"""What `make run` prints once the local stack is up: where everything is and how to poke it."""

from __future__ import annotations

from pathlib import Path

from devhost.host import LocalFunctionsHost
from devhost.paths import DEMO_CONFIG
from devhost.routes import Route
from devhost.standin import DEFAULT_PORT as STANDIN_DEFAULT_PORT
from devhost.standin import AzureStandIn


def standin_lines(standin: AzureStandIn, kept: list[str]) -> list[str]:
    """The stand-in's lines: its URL and accounts, how to switch them, and settings kept."""
    url = "" if standin.port == STANDIN_DEFAULT_PORT else f" --url {standin.url}"
    example = standin.accounts[-1].name
    lines = [
        f"  ARM + VI API     stand-in on {standin.url} ({len(standin.accounts)} accounts, healthy)",
        f"                   python -m devhost.standin set {example} unhealthy{url}",
        f"                   python -m devhost.standin list{url}   (behaviours and accounts)",
    ]
    if kept:
        lines.append(f"                   {', '.join(kept)} kept from the environment")
    return lines


def banner(host: LocalFunctionsHost, storage: str, config: str, standin: list[str]) -> str:
    """The whole banner: host, routes, timers, storage, configuration and stand-in."""
    routes = [_describe_route(r) for r in host.routes] or ["    (no HTTP functions)"]
    timers = [
        f"    {t.function_name:<28} {t.expression:<18} next {t.next_run:%H:%M:%S} UTC"
        f"   (run now: curl -X POST {host.url}/admin/functions/{t.function_name})"
        for t in host.timers
    ]
    return "\n".join(
        [
            "vi-failover local host (a development tool, never deployed)",
            f"  Listening        {host.url}",
            "  Routes           "
            + (
                "(keys enforced: LOCAL_FUNCTION_KEY(S), LOCAL_MASTER_KEY)"
                if host.keys_enforced
                else "(keys not enforced; set LOCAL_FUNCTION_KEY(S) / LOCAL_MASTER_KEY to enforce)"
            ),
            *routes,
            *(["  Timers"] if timers else []),
            *timers,
            f"  Storage          {storage}",
            f"  FAILOVER_CONFIG  {_describe_config(config)}",
            *standin,
            "  Ctrl-C stops everything.",
        ]
    )


def _describe_config(value: str) -> str:
    if value.strip().startswith("{"):
        return f"inline JSON ({len(value)} characters)"
    if Path(value).resolve() == DEMO_CONFIG:
        return f"{value} (demo: two accounts, eastus then westus)"
    return value


def _describe_route(route: Route) -> str:
    methods = ",".join(sorted(route.methods)) if route.methods is not None else "*"
    return f"    {methods:<12} {route.path:<36} {route.auth_level.value:<10} {route.function_name}"
