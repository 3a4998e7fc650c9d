"""Route templates as the Functions host reads them: ASP.NET Core's syntax and constraints.

`items/{id:int}`, `files/{*path}`, `items/{id?}`, `v{major}.{minor}` and the inline constraints
(int, long, alpha, bool, guid, decimal, double, float, datetime, length, range, min, max,
minlength, maxlength, regex). A template compiles to a matcher and its precedence, so the most
specific route wins, as in ASP.NET routing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote

_PARAM = re.compile(r"\{([^{}]*)\}")


class RouteTemplateError(ValueError):
    """A function's route template uses syntax the local host does not support."""


@dataclass(frozen=True)
class _Param:
    name: str
    group: str
    checks: tuple[Callable[[str], bool], ...]


@dataclass(frozen=True)
class Template:
    """A compiled route template: what it matches, and how specific it is."""

    pattern: re.Pattern[str]
    params: tuple[_Param, ...]
    precedence: tuple[int, ...]

    def match(self, path: str) -> dict[str, str] | None:
        """The route parameters of a matching decoded path; None when the path does not match."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        values: dict[str, str] = {}
        for param in self.params:
            value = found.group(param.group)
            if not value:  # an omitted optional or catch-all parameter is absent, not ""
                continue
            if not all(check(value) for check in param.checks):
                return None
            values[param.name] = value
        return values


def _is_int_between(low: int, high: int) -> Callable[[str], bool]:
    return lambda v: re.fullmatch(r"-?[0-9]+", v) is not None and low <= int(v) <= high


def _is_parsed_by(parse: Callable[[str], object]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            parse(value)
        except (ValueError, InvalidOperation):
            return False
        return True

    return check


# ASP.NET Core's inline constraints, which the Functions host uses for route templates.
_SIMPLE_CONSTRAINTS: dict[str, Callable[[str], bool]] = {
    "int": _is_int_between(-(2**31), 2**31 - 1),
    "long": _is_int_between(-(2**63), 2**63 - 1),
    "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "bool": lambda v: v.lower() in {"true", "false"},
    "guid": _is_parsed_by(uuid.UUID),
    "decimal": _is_parsed_by(Decimal),
    "double": _is_parsed_by(float),
    "float": _is_parsed_by(float),
    "datetime": _is_parsed_by(datetime.fromisoformat),
}


def _constraint(spec: str, template: str) -> Callable[[str], bool]:
    parsed = re.fullmatch(r"(\w+)(?:\((.*)\))?", spec, re.DOTALL)
    if parsed is None:
        raise RouteTemplateError(f"route {template!r}: bad constraint {spec!r}")
    kind, arg = parsed.group(1).lower(), parsed.group(2)
    if arg is None and kind in _SIMPLE_CONSTRAINTS:
        return _SIMPLE_CONSTRAINTS[kind]
    if arg is not None and kind == "regex":
        regex = re.compile(arg, re.IGNORECASE)
        return lambda v: regex.search(v) is not None
    try:
        numbers = [int(n) for n in (arg or "").split(",")]
    except ValueError:
        raise RouteTemplateError(f"route {template!r}: bad constraint {spec!r}") from None
    match kind, numbers:
        case "length", [exact]:
            return lambda v: len(v) == exact
        case "length", [low, high]:
            return lambda v: low <= len(v) <= high
        case "range", [low, high]:
            return _is_int_between(low, high)
        case "minlength", [low]:
            return lambda v: len(v) >= low
        case "maxlength", [high]:
            return lambda v: len(v) <= high
        case "min", [low]:
            return _is_int_between(low, 2**63 - 1)
        case "max", [high]:
            return _is_int_between(-(2**63), high)
    raise RouteTemplateError(f"route {template!r}: unsupported constraint {spec!r}")


def _split_constraints(spec: str) -> list[str]:
    """Split `name:c1:c2(a,b)` on colons outside parentheses (regex constraints hold colons)."""
    parts, depth, current = [], 0, ""
    for char in spec:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


@dataclass(frozen=True)
class _Segment:
    regex: str
    rank: int  # precedence: lower is more specific
    optional: bool  # an omitted optional or catch-all last segment takes its slash with it


def _parse_param(spec: str, template: str, params: list[_Param]) -> tuple[str, bool, bool]:
    """Register one `{name:constraint?}` parameter; return its regex, catch-all and optional."""
    catch_all, optional = spec.startswith("*"), spec.endswith("?")
    name, *constraints = _split_constraints(spec.lstrip("*").removesuffix("?"))
    if not re.fullmatch(r"\w+", name):
        raise RouteTemplateError(f"route {template!r}: bad parameter name {name!r}")
    group = f"p{len(params)}"
    checks = tuple(_constraint(c, template) for c in constraints)
    params.append(_Param(name=name, group=group, checks=checks))
    return f"(?P<{group}>{'.*' if catch_all else '[^/]+'})", catch_all, optional


def _compile_segment(segment: str, template: str, params: list[_Param], last: bool) -> _Segment:
    pieces = _PARAM.split(segment)
    literals, specs = pieces[0::2], pieces[1::2]
    if any("{" in lit or "}" in lit for lit in literals):
        raise RouteTemplateError(f"route {template!r}: unbalanced braces in {segment!r}")
    if not specs:
        return _Segment(re.escape(unquote(segment)), rank=1, optional=False)
    if len(specs) == 1 and literals == ["", ""]:
        regex, catch_all, optional = _parse_param(specs[0], template, params)
        if (catch_all or optional) and not last:
            raise RouteTemplateError(
                f"route {template!r}: only the last segment may be optional or catch-all"
            )
        rank = 6 if catch_all else 5 if optional else 3 if params[-1].checks else 4
        return _Segment(regex, rank=rank, optional=catch_all or optional)
    regex = re.escape(unquote(literals[0]))
    for spec, literal in zip(specs, literals[1:], strict=True):
        param_regex, catch_all, optional = _parse_param(spec, template, params)
        if catch_all or optional:
            raise RouteTemplateError(
                f"route {template!r}: optional and catch-all parameters need a segment of their own"
            )
        regex += param_regex + re.escape(unquote(literal))
    return _Segment(regex, rank=2, optional=False)


def compile_template(route_prefix: str, route: str) -> Template:
    """Compile `route` under `route_prefix`; RouteTemplateError names what is not supported."""
    params: list[_Param] = []
    regex = "/" + re.escape(route_prefix) if route_prefix else ""
    segments = [s for s in route.strip("/").split("/") if s]
    ranks = []
    for index, text in enumerate(segments):
        segment = _compile_segment(text, route, params, last=index == len(segments) - 1)
        regex += f"(?:/{segment.regex})?" if segment.optional else f"/{segment.regex}"
        ranks.append(segment.rank)
    pattern = re.compile(regex + "/?", re.IGNORECASE | re.DOTALL)
    return Template(pattern=pattern, params=tuple(params), precedence=tuple(ranks))
