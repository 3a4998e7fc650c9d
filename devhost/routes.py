"""HTTP-triggered functions as routes, from their metadata, and finding the one a request wants."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import azure.functions as func
from azure.functions.decorators.function_app import Function
from azure.functions.decorators.http import HttpTrigger

from devhost.discovery import Binding, triggered_by
from devhost.route_templates import Template, compile_template


@dataclass(frozen=True)
class Route:
    """One HTTP-triggered function as the host serves it."""

    binding: Binding
    methods: frozenset[str] | None  # None: the function accepts every method
    path: str  # the template as clients see it, e.g. "/api/items/{id}"
    auth_level: func.AuthLevel  # which key `HostKeys` demands
    template: Template = field(repr=False)

    @property
    def function_name(self) -> str:
        """The function's name."""
        return self.binding.name


def routes_from_functions(functions: Iterable[Function], route_prefix: str) -> list[Route]:
    """The HTTP-triggered functions among `functions` as routes under `route_prefix`."""
    routes = []
    for binding, trigger in triggered_by(functions, HttpTrigger):
        route = (trigger.route or binding.name).strip("/")  # the host defaults it to the name
        methods = (
            None
            if trigger.methods is None
            else frozenset(str(getattr(m, "value", m)).upper() for m in trigger.methods)
        )
        routes.append(
            Route(
                binding=binding,
                methods=methods,
                path="/" + "/".join(p for p in (route_prefix, route) if p),
                auth_level=trigger.auth_level or func.AuthLevel.FUNCTION,
                template=compile_template(route_prefix, route),
            )
        )
    return routes


@dataclass(frozen=True)
class Match:
    """The route a request wants, or the methods of the routes whose path matched."""

    route: Route | None = None
    route_params: dict[str, str] = field(default_factory=dict)
    allowed: frozenset[str] = frozenset()  # methods of routes whose path matched


class RouteTable:
    """Routes tried most specific first, like ASP.NET routing: `items/new` before `items/{id}`."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self._routes = sorted(routes, key=lambda r: r.template.precedence)

    def find(self, path: str, method: str) -> Match:
        """The route serving `method` on the decoded `path`."""
        allowed: set[str] = set()
        for route in self._routes:
            values = route.template.match(path)
            if values is None:
                continue
            if route.methods is None or method in route.methods:
                return Match(route=route, route_params=values)
            allowed |= route.methods
        return Match(allowed=frozenset(allowed))

    def named(self, name: str) -> Route | None:
        """The route of the function called `name`, ignoring case as the host's admin API does."""
        wanted = name.casefold()
        return next((r for r in self._routes if r.function_name.casefold() == wanted), None)


def origin_form(request_target: str) -> str:
    """`/path?query` from either form of request target (proxies send absolute URLs)."""
    if request_target.startswith("/"):
        return request_target
    parts = urlsplit(request_target)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def decode_path(raw_path: str) -> str:
    """The path as routes see it, percent-decoded but for `%2F`."""
    # Like ASP.NET Core, keep %2F encoded so a value cannot smuggle in a path separator.
    return unquote(re.sub(r"%2[fF]", "%252F", raw_path))
