"""Serve a `func.FunctionApp`'s HTTP routes and run its timer and queue functions as the host does.

For local runs only. Routes come from the functions' own metadata (route template, methods, auth
level) under the `routePrefix` of host.json. Requests become `func.HttpRequest` objects built the
way the Python worker builds them, and `func.HttpResponse` objects go back on the wire unchanged.
Timer functions run on their schedules (see `devhost.timers`), and `POST /admin/functions/{name}`
runs one at once, as on Azure. Queue functions run on each message of their Storage queue (see
`devhost.queues`). With `LOCAL_FUNCTION_KEY` or `LOCAL_MASTER_KEY` set, routes demand keys by
their auth level, as on Azure; with neither, nothing is checked.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

import azure.functions as func
from azure.functions.decorators.http import HttpTrigger

from devhost.app_settings import AppSettings
from devhost.discovery import Binding, functions_of, triggered_by
from devhost.hostjson import DEFAULT_ROUTE_PREFIX
from devhost.invoke import call_function
from devhost.queue_functions import QueueFunction, queues_from_functions
from devhost.queue_options import QueueOptions
from devhost.queues import QueueListeners
from devhost.timer_functions import timers_from_functions
from devhost.timers import Clock, Timer, TimerScheduler, UnknownTimerError, utc_now

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024  # the Functions host's own request size limit
IDLE_TIMEOUT_SECONDS = 120.0
SHUTDOWN_POLL_SECONDS = 0.05  # shutdown() waits up to this long for the accept loop to notice

# Framing headers describe our connection, not the function's response: we compute our own.
_HOP_BY_HOP = frozenset(
    {"connection", "content-length", "keep-alive", "proxy-connection", "te", "trailer"}
    | {"transfer-encoding", "upgrade"}
)
_NO_BODY_STATUSES = frozenset({204, 304})
_PARAM = re.compile(r"\{([^{}]*)\}")
# The host's own admin API lives outside the route prefix; user routes cannot shadow it.
_ADMIN_FUNCTION = re.compile(r"/admin/functions/([^/]+)/?", re.IGNORECASE)
_ERROR_CODES = {500: "InternalError", 413: "PayloadTooLarge"}
FUNCTION_KEY_SETTING = "LOCAL_FUNCTION_KEY"
MASTER_KEY_SETTING = "LOCAL_MASTER_KEY"


class RouteTemplateError(ValueError):
    """A function's route template uses syntax the local host does not support."""


# --- route templates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    name: str
    group: str
    checks: tuple[Callable[[str], bool], ...]


@dataclass(frozen=True)
class _Template:
    pattern: re.Pattern[str]
    params: tuple[_Param, ...]
    precedence: tuple[int, ...]

    def match(self, path: str) -> dict[str, str] | None:
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


def _compile_template(route_prefix: str, route: str) -> _Template:
    params: list[_Param] = []
    regex = "/" + re.escape(route_prefix) if route_prefix else ""
    segments = [s for s in route.strip("/").split("/") if s]
    ranks = []
    for index, text in enumerate(segments):
        segment = _compile_segment(text, route, params, last=index == len(segments) - 1)
        regex += f"(?:/{segment.regex})?" if segment.optional else f"/{segment.regex}"
        ranks.append(segment.rank)
    pattern = re.compile(regex + "/?", re.IGNORECASE | re.DOTALL)
    return _Template(pattern=pattern, params=tuple(params), precedence=tuple(ranks))


# --- routes from function metadata -------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One HTTP-triggered function as the host serves it."""

    binding: Binding
    methods: frozenset[str] | None  # None: the function accepts every method
    path: str  # the template as clients see it, e.g. "/api/items/{id}"
    auth_level: func.AuthLevel  # which key `HostKeys` demands
    template: _Template = field(repr=False)

    @property
    def function_name(self) -> str:
        """The function's name."""
        return self.binding.name


def _routes_from_app(app: func.FunctionApp, route_prefix: str) -> list[Route]:
    routes = []
    for binding, trigger in triggered_by(functions_of(app), HttpTrigger):
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
                template=_compile_template(route_prefix, route),
            )
        )
    return routes


@dataclass(frozen=True)
class _Match:
    route: Route | None = None
    route_params: dict[str, str] = field(default_factory=dict)
    allowed: frozenset[str] = frozenset()  # methods of routes whose path matched


def _find_route(routes: list[Route], path: str, method: str) -> _Match:
    allowed: set[str] = set()
    for route in routes:
        values = route.template.match(path)
        if values is None:
            continue
        if route.methods is None or method in route.methods:
            return _Match(route=route, route_params=values)
        allowed |= route.methods
    return _Match(allowed=frozenset(allowed))


def _origin_form(request_target: str) -> str:
    """`/path?query` from either form of request target (proxies send absolute URLs)."""
    if request_target.startswith("/"):
        return request_target
    parts = urlsplit(request_target)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _decode_path(raw_path: str) -> str:
    # Like ASP.NET Core, keep %2F encoded so a value cannot smuggle in a path separator.
    return unquote(re.sub(r"%2[fF]", "%252F", raw_path))


# --- keys --------------------------------------------------------------------------------------


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


def _presented_key(header: str | None, query: str) -> str | None:
    """The key a request carries: the x-functions-key header, else the `code` parameter."""
    if header and header.strip():
        return header.strip()
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "code":
            return value  # the first value wins, as for every query parameter
    return None


# --- invocation --------------------------------------------------------------------------------


def _call_function(route: Route, request: func.HttpRequest) -> func.HttpResponse:
    result = call_function(route.binding, request)
    if isinstance(result, str):
        return func.HttpResponse(result)
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"returned {type(result).__name__}, expected func.HttpResponse")
    return result


def _response_headers(response: func.HttpResponse) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = [
        (str(k), str(v)) for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP
    ]
    if not any(k.lower() == "content-type" for k, _ in headers):
        # Same rule as the worker's HttpResponseConverter.
        mimetype, charset = str(response.mimetype), str(response.charset)
        text = mimetype.startswith("text/")
        headers.append(("Content-Type", f"{mimetype}; charset={charset}" if text else mimetype))
    return headers


def _error_body(status: int, message: str) -> bytes:
    name = HTTPStatus(status).name  # NOT_FOUND -> NotFound
    code = _ERROR_CODES.get(status) or "".join(w.capitalize() for w in name.split("_"))
    return json.dumps({"error": code, "message": message}).encode()


def _redact_query(text: str) -> str:
    """Drop query strings from log text: they carry secrets such as `code=`."""
    return re.sub(r"\?[^\s'\"]*", "?…", text)


# --- HTTP server -------------------------------------------------------------------------------


class _RejectedError(Exception):
    """The request cannot be served; answer with this status and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _ClientGoneError(Exception):
    """The client hung up before sending the whole body."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the Functions host
    server_version = "vi-failover-devhost"
    disable_nagle_algorithm = True  # headers and body are separate writes on a kept-alive socket
    timeout = IDLE_TIMEOUT_SECONDS
    _started = 0.0

    @property
    def _server(self) -> _Server:
        return cast(_Server, self.server)

    def parse_request(self) -> bool:
        self._started = time.perf_counter()
        return super().parse_request()

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        target = _origin_form(self.path)
        raw_path, _, query = target.partition("?")
        try:
            body = self._read_body()
        except _RejectedError as exc:
            self._send_error_json(exc.status, str(exc), close=True)
            return
        except _ClientGoneError:
            self.close_connection = True
            return
        path = _decode_path(raw_path)
        admin = _ADMIN_FUNCTION.fullmatch(path)
        if admin is not None:
            if self._admitted(func.AuthLevel.ADMIN, query):
                self._invoke_admin(admin.group(1))
            return
        found = _find_route(self._server.routes, path, self.command)
        if found.route is None and not found.allowed:
            self._send_error_json(404, f"No function serves {self.command} {raw_path}")
        elif found.route is None:
            allow = ", ".join(sorted(found.allowed))
            self._send_error_json(405, f"{raw_path} allows {allow}", [("Allow", allow)])
        elif self._admitted(found.route.auth_level, query):
            self._invoke(found.route, self._build_request(target, query, found, body))

    def _admitted(self, level: func.AuthLevel, query: str) -> bool:
        """True when the request's key opens this auth level; otherwise answers 401 itself."""
        presented = _presented_key(self.headers.get("x-functions-key"), query)
        if self._server.keys.admit(level, presented):
            return True
        self._send(401, [], b"")  # like Azure: no body, nothing said about which key is wanted
        return False

    def _invoke_admin(self, name: str) -> None:
        """Run a non-HTTP function once in the background; the request body is ignored."""
        if self.command != "POST":
            allow = [("Allow", "POST")]
            self._send_error_json(405, f"/admin/functions/{name} allows POST", allow)
            return
        try:
            self._server.scheduler.run_in_background(name)
        except UnknownTimerError:
            wanted = name.casefold()
            route = next(
                (r for r in self._server.routes if r.function_name.casefold() == wanted), None
            )
            if route is None:
                self._send_error_json(404, f"No function named {name!r}")
            else:
                message = f"{route.function_name} is HTTP-triggered; call {route.path} instead"
                self._send_error_json(400, message)
            return
        self._send(202, [], b"")  # Accepted: like Azure, the run goes on after the answer

    def _build_request(
        self, target: str, query: str, found: _Match, body: bytes
    ) -> func.HttpRequest:
        host = self.headers.get("Host") or self._server.authority
        params: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(key, value)  # the first value wins, as in the Functions host
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return func.HttpRequest(
            method=self.command,
            url=f"http://{host}{target}",
            headers=headers,
            params=params,
            route_params=found.route_params,
            body=body,
        )

    def _invoke(self, route: Route, request: func.HttpRequest) -> None:
        try:
            response = _call_function(route, request)
        except Exception:  # the Functions host turns any function failure into a 500
            logger.exception("Executed 'Functions.%s' (Failed)", route.function_name)
            # Like Azure's host, tell the caller nothing of the exception: it may hold secrets.
            self._send_error_json(500, f"{route.function_name} failed; see the host log")
            return
        status = int(response.status_code)
        self._send(status, _response_headers(response), response.get_body())

    def _declared_length(self) -> int | None:
        values = set(self.headers.get_all("Content-Length") or [])
        if not values:
            return None
        value = values.pop().strip()
        if values or not value.isdigit():
            raise _RejectedError(400, "Content-Length must be one non-negative integer")
        return int(value)

    def _check_length(self, length: int) -> None:
        limit = self._server.max_body_bytes
        if length > limit:
            raise _RejectedError(413, f"Request body is larger than {limit} bytes")

    def _read_body(self) -> bytes:
        encoding = self.headers.get("Transfer-Encoding", "").strip().lower()
        if encoding == "chunked":
            return self._read_chunked()
        if encoding:
            raise _RejectedError(501, f"Transfer-Encoding {encoding!r} is not supported")
        length = self._declared_length() or 0
        self._check_length(length)  # before reading: an oversize body is never buffered
        body = self.rfile.read(length)
        if len(body) < length:
            raise _ClientGoneError
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise _ClientGoneError
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise _RejectedError(400, "Malformed chunk size") from None
            if size == 0:
                break
            total += size
            self._check_length(total)
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise _ClientGoneError
            chunks.append(chunk)
            self.rfile.readline(3)  # the CRLF that ends each chunk
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass  # trailers carry nothing a function can see
        return b"".join(chunks)

    def handle_expect_100(self) -> bool:
        # Refuse an oversize upload before the client sends it rather than after.
        try:
            length = self._declared_length()
            if length is not None:
                self._check_length(length)
        except _RejectedError as exc:
            self._send_error_json(exc.status, str(exc), close=True)
            return False
        return super().handle_expect_100()

    def _send_error_json(
        self,
        status: int,
        message: str,
        extra_headers: list[tuple[str, str]] | None = None,
        *,
        close: bool = False,
    ) -> None:
        headers = [("Content-Type", "application/json; charset=utf-8"), *(extra_headers or [])]
        if close:  # the unread rest of the request would be mistaken for the next request
            headers.append(("Connection", "close"))
        self._send(status, headers, _error_body(status, message))

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        has_body = status >= 200 and status not in _NO_BODY_STATUSES
        if has_body:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if has_body and self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Parse failures (bad request line, huge headers) answer in the same JSON error shape.
        status = int(code)
        text = _redact_query(message or HTTPStatus(status).phrase)
        logger.warning(
            "%s: rejected a malformed request: %d %s", self.address_string(), status, text
        )
        self._send_error_json(status, text, close=True)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = (self.path or "").partition("?")[0] or "-"
        elapsed_ms = (time.perf_counter() - self._started) * 1000
        status = int(code) if isinstance(code, int) else code  # HTTPStatus prints its name
        logger.info("%s %s %s %.1fms", self.command or "-", path, status, elapsed_ms)

    def log_message(self, format: str, *args: Any) -> None:
        # What is left for the base class to report is connection chatter, such as idle
        # keep-alive timeouts: errors worth a warning are logged where they happen.
        logger.debug("%s: %s", self.address_string(), _redact_query(format % args))


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # an open keep-alive connection never holds the process up
    # socketserver's default backlog of 5 resets connections under a burst of deliveries.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        routes: list[Route],
        max_body_bytes: int,
        scheduler: TimerScheduler,
        keys: HostKeys,
    ) -> None:
        self.routes = routes
        self.max_body_bytes = max_body_bytes
        self.scheduler = scheduler
        self.keys = keys
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(address, _Handler)
        self.authority = "{}:{}".format(*self.socket.getsockname()[:2])

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        with self._lock:
            self._connections.add(cast(socket.socket, request))
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        with self._lock:
            self._connections.discard(cast(socket.socket, request))
        super().shutdown_request(request)

    def end_connections(self) -> None:
        """Let in-flight requests finish, then end every kept-alive connection."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            # Closing only the read side wakes a thread idling in readline with EOF and still
            # lets a thread mid-request write its response. OSError: the client closed first.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RD)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            logger.debug("connection from %s ended early", client_address)
        else:
            logger.exception("unexpected error serving %s", client_address)


class LocalFunctionsHost:
    """Serves a FunctionApp's HTTP functions on a local port and runs its timer and queue functions.

    `environ` (default `os.environ`) resolves `%SETTING%` in timer schedules and queue names,
    falling back to `setting_defaults` for blank settings, holds the queues' connection strings and
    the keys (`HostKeys.from_environ`); `clock` returns aware UTC datetimes for the scheduler;
    `queue_options` are host.json's `extensions.queues` (see `devhost.queue_options`).
    """

    def __init__(
        self,
        app: func.FunctionApp,
        *,
        route_prefix: str = DEFAULT_ROUTE_PREFIX,
        host: str = "127.0.0.1",
        port: int = 7071,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        environ: Mapping[str, str] | None = None,
        setting_defaults: Mapping[str, str] | None = None,
        clock: Clock = utc_now,
        queue_options: QueueOptions | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        self._routes = _routes_from_app(app, route_prefix.strip("/"))
        # Before binding the port, so a bad schedule or queue setting leaves nothing open behind.
        settings = AppSettings(environ, setting_defaults or {})
        timers = timers_from_functions(functions_of(app), settings)
        queues = queues_from_functions(functions_of(app), settings)
        self._queues = QueueListeners(queues, queue_options or QueueOptions())
        self._keys = HostKeys.from_environ(environ)
        _log_keys(self._keys)
        self._scheduler = TimerScheduler(timers, clock=clock)
        # Most specific first, like ASP.NET routing: `items/new` wins over `items/{id}`.
        ordered = sorted(self._routes, key=lambda r: r.template.precedence)
        # Binds now, so port 0 works.
        self._server = _Server((host, port), ordered, max_body_bytes, self._scheduler, self._keys)
        self._serving = False
        self._thread: threading.Thread | None = None

    @property
    def keys_enforced(self) -> bool:
        """Whether LOCAL_FUNCTION_KEY or LOCAL_MASTER_KEY is set, so routes demand keys."""
        return self._keys.enforced

    @property
    def routes(self) -> tuple[Route, ...]:
        """The served routes in registration order."""
        return tuple(self._routes)

    @property
    def timers(self) -> tuple[Timer, ...]:
        """The timer functions in registration order, each with its next scheduled run."""
        return self._scheduler.timers

    @property
    def queue_functions(self) -> tuple[QueueFunction, ...]:
        """The queue functions in registration order, each with its resolved queue name."""
        return self._queues.functions

    def run_timer_now(self, name: str) -> None:
        """Run a timer function once in this thread; its exception, if any, propagates.

        Waits for a run already in progress, so the timer still never overlaps itself. Raises
        `UnknownTimerError` when no timer function has that name (ignoring case).
        """
        self._scheduler.run_now(name)

    @property
    def port(self) -> int:
        """The bound port (the free one picked when constructed with port 0)."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the host, without the route prefix."""
        return f"http://{self._server.authority}"

    def serve_forever(self) -> None:
        """Serve, run timers and listen on queues until `shutdown()` is called from another
        thread or an exception interrupts."""
        self._serving = True
        self._scheduler.start()
        self._queues.start()
        try:
            self._server.serve_forever(poll_interval=SHUTDOWN_POLL_SECONDS)
        finally:
            self._serving = False
            self._scheduler.stop()
            self._queues.stop()

    def start_in_thread(self) -> int:
        """Serve from a daemon thread, timers scheduled and queues polled before this returns;
        return the port."""
        self._serving = True  # so a `shutdown()` racing the thread's start still waits for it
        self._scheduler.start()
        self._queues.start()
        self._thread = threading.Thread(target=self.serve_forever, name="devhost", daemon=True)
        self._thread.start()
        return self.port

    def shutdown(self) -> None:
        """Stop the timers, the queue listeners and accepting, end open connections and release
        the port.

        Timer runs in progress finish in their own threads, as HTTP requests in flight do; queue
        invocations in progress are waited for (up to the queue options' drain timeout).
        """
        self._scheduler.stop()
        self._queues.stop()
        if self._serving:
            self._server.shutdown()
        self._server.end_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def _log_keys(keys: HostKeys) -> None:
    if not keys.enforced:
        return
    # Which keys are set, never their values.
    logger.info(
        "function keys enforced: %s %s, %s %s",
        FUNCTION_KEY_SETTING,
        "set" if keys.function_key else "unset",
        MASTER_KEY_SETTING,
        "set" if keys.master_key else "unset",
    )
    if keys.master_key is None:
        logger.warning(
            "%s is not set: admin routes and /admin/functions answer 401", MASTER_KEY_SETTING
        )
