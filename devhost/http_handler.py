"""The local host's HTTP side: each request to a function route, and the admin API, as on Azure.

Requests become `func.HttpRequest` objects built the way the Python worker builds them, and
`func.HttpResponse` objects go back on the wire unchanged. `POST /admin/functions/{name}` runs
a timer function at once. Keys are checked by auth level (see `devhost.keys`).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import azure.functions as func

from devhost.invoke import call_function
from devhost.keys import HostKeys, presented_key
from devhost.request_body import (
    ClientGoneError,
    RejectedError,
    check_length,
    declared_length,
    read_body,
)
from devhost.routes import Match, Route, RouteTable, decode_path, origin_form
from devhost.server import LocalHandler
from devhost.timers import TimerScheduler, UnknownTimerError

IDLE_TIMEOUT_SECONDS = 120.0
# Framing headers describe our connection, not the function's response: we compute our own.
_HOP_BY_HOP = frozenset(
    {"connection", "content-length", "keep-alive", "proxy-connection", "te", "trailer"}
    | {"transfer-encoding", "upgrade"}
)
# The host's own admin API lives outside the route prefix; user routes cannot shadow it.
_ADMIN_FUNCTION = re.compile(r"/admin/functions/([^/]+)/?", re.IGNORECASE)
_ERROR_CODES = {500: "InternalError", 413: "PayloadTooLarge"}


@dataclass(frozen=True)
class ServedFunctions:
    """What the host's handler threads share: routes, the body limit, the timers and the keys."""

    routes: RouteTable
    max_body_bytes: int
    scheduler: TimerScheduler
    keys: HostKeys


class FunctionsHandler(LocalHandler[ServedFunctions]):
    """Serves one connection's requests to the functions of a `LocalServer[ServedFunctions]`."""

    server_version = "vi-failover-devhost"
    timeout = IDLE_TIMEOUT_SECONDS
    _started = 0.0

    def parse_request(self) -> bool:
        self._started = time.perf_counter()
        parsed = super().parse_request()
        if parsed and not hasattr(self, f"do_{self.command}"):
            # Any other method (TRACE, QUERY, …) is routed too, as on Azure: 404 or 405 with
            # Allow, never http.server's 501, which reads as a server error.
            setattr(self, f"do_{self.command}", self._dispatch)
        return parsed

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        target = origin_form(self.path)
        raw_path, _, query = target.partition("?")
        try:
            body = read_body(self.rfile, self.headers, self.context.max_body_bytes)
        except RejectedError as exc:
            self._send_error_json(exc.status, str(exc), close=True)
            return
        except ClientGoneError:
            self.close_connection = True
            return
        path = decode_path(raw_path)
        admin = _ADMIN_FUNCTION.fullmatch(path)
        if admin is not None:
            if self._admitted(func.AuthLevel.ADMIN, query):
                self._invoke_admin(admin.group(1))
            return
        found = self.context.routes.find(path, self.command)
        if found.route is None and not found.allowed:
            self._send_error_json(404, f"No function serves {self.command} {raw_path}")
        elif found.route is None:
            allow = ", ".join(sorted(found.allowed))
            self._send_error_json(405, f"{raw_path} allows {allow}", [("Allow", allow)])
        elif self._admitted(found.route.auth_level, query, found.route.function_name):
            self._invoke(found.route, self._build_request(target, query, found, body))

    def _admitted(self, level: func.AuthLevel, query: str, function: str = "") -> bool:
        """True when the request's key opens this auth level of `function`; otherwise answers
        401 itself."""
        presented = presented_key(self.headers.get("x-functions-key"), query)
        if self.context.keys.admit(level, presented, function):
            return True
        self.reply(401, [], b"")  # like Azure: no body, nothing said about which key is wanted
        return False

    def _invoke_admin(self, name: str) -> None:
        """Run a non-HTTP function once in the background; the request body is ignored."""
        if self.command != "POST":
            allow = [("Allow", "POST")]
            self._send_error_json(405, f"/admin/functions/{name} allows POST", allow)
            return
        try:
            self.context.scheduler.run_in_background(name)
        except UnknownTimerError:
            route = self.context.routes.named(name)
            if route is None:
                self._send_error_json(404, f"No function named {name!r}")
            else:
                message = f"{route.function_name} is HTTP-triggered; call {route.path} instead"
                self._send_error_json(400, message)
            return
        self.reply(202, [], b"")  # Accepted: like Azure, the run goes on after the answer

    def _build_request(
        self, target: str, query: str, found: Match, body: bytes
    ) -> func.HttpRequest:
        host = self.headers.get("Host") or self.local_server.authority
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
            response = _http_response(call_function(route.binding, request))
        except Exception:  # the Functions host turns any function failure into a 500
            self.local_server.log.exception("Executed 'Functions.%s' (Failed)", route.function_name)
            # Like Azure's host, tell the caller nothing of the exception: it may hold secrets.
            self._send_error_json(500, f"{route.function_name} failed; see the host log")
            return
        status = int(response.status_code)
        self.reply(status, _response_headers(response), response.get_body())

    def handle_expect_100(self) -> bool:
        # Refuse an oversize upload before the client sends it rather than after.
        try:
            length = declared_length(self.headers)
            if length is not None:
                check_length(length, self.context.max_body_bytes)
        except RejectedError as exc:
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
        self.reply(status, headers, _error_body(status, message))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Parse failures (bad request line, huge headers) answer in the same JSON error shape.
        status = int(code)
        text = _redact_query(message or HTTPStatus(status).phrase)
        self.local_server.log.warning(
            "%s: rejected a malformed request: %d %s", self.address_string(), status, text
        )
        self._send_error_json(status, text, close=True)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = (self.path or "").partition("?")[0] or "-"
        elapsed_ms = (time.perf_counter() - self._started) * 1000
        status = int(code) if isinstance(code, int) else code  # HTTPStatus prints its name
        self.local_server.log.info("%s %s %s %.1fms", self.command or "-", path, status, elapsed_ms)

    def log_message(self, format: str, *args: Any) -> None:
        # What is left for the base class to report is connection chatter, such as idle
        # keep-alive timeouts: errors worth a warning are logged where they happen.
        self.local_server.log.debug("%s: %s", self.address_string(), _redact_query(format % args))


def _http_response(result: object) -> func.HttpResponse:
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
