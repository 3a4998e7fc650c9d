"""The local development host: HTTP over real sockets, Azurite as a child, and `make run`."""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite, AzuriteError, PortInUseError, free_port, port_accepts
from devhost.host import LocalFunctionsHost
from devhost.hostjson import read_route_prefix
from devhost.paths import DEMO_CONFIG
from devhost.route_templates import RouteTemplateError
from devhost.run import parse_args
from tests import devhost_sample_app as sample

REPO_ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 30.0

# --- helpers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    port: int,
    method: str,
    path: str,
    body: bytes | Iterable[bytes] | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_SECONDS)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        reply_headers = {k.lower(): v for k, v in response.getheaders()}
        return Reply(response.status, reply_headers, response.read())
    finally:
        connection.close()


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not port_accepts(port):
        if process is not None and process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listened on port {port} within {WAIT_SECONDS}s")
        time.sleep(0.05)  # polling interval, not a timing assumption


def process_state(pid: int) -> str:
    """The state letter from /proc (R, S, T...), or "gone"."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "gone"
    return stat.rpartition(")")[2].split()[0]


def wait_for_state(pid: int, wanted: Callable[[str], bool]) -> str:
    deadline = time.monotonic() + WAIT_SECONDS
    state = process_state(pid)
    while not wanted(state) and time.monotonic() < deadline:
        time.sleep(0.01)  # signals are delivered asynchronously
        state = process_state(pid)
    return state


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture
def serve() -> Iterator[Callable[..., LocalFunctionsHost]]:
    hosts: list[LocalFunctionsHost] = []

    def start(**options: Any) -> LocalFunctionsHost:
        host = LocalFunctionsHost(sample.app, port=0, **options)
        host.start_in_thread()
        hosts.append(host)
        return host

    yield start
    for host in hosts:
        host.shutdown()


@pytest.fixture
def port(serve: Callable[..., LocalFunctionsHost]) -> int:
    return serve().port


# --- routing -----------------------------------------------------------------------------------


def test_routes_are_served_under_the_route_prefix(port: int) -> None:
    """A function's route is served below /api."""
    reply = call(port, "GET", "/api/echo")

    expected = (200, "GET")
    assert expected == (reply.status, reply.json()["method"])


@pytest.mark.parametrize(
    ("prefix", "served", "not_served"),
    [("v1", "/v1/echo", "/api/echo"), ("", "/echo", "/api/echo")],
    ids=["custom", "empty"],
)
def test_the_route_prefix_moves_every_route(
    serve: Callable[..., LocalFunctionsHost], prefix: str, served: str, not_served: str
) -> None:
    """Another routePrefix serves routes there and no longer under /api."""
    host = serve(route_prefix=prefix)

    statuses = (call(host.port, "GET", served).status, call(host.port, "GET", not_served).status)

    expected = (200, 404)
    assert expected == statuses


def test_path_matching_ignores_case_and_a_trailing_slash(port: int) -> None:
    """Like Azure, /API/Echo/ reaches the `echo` route."""
    reply = call(port, "GET", "/API/Echo/")

    expected = 200
    assert expected == reply.status


@pytest.mark.parametrize(
    ("path", "route_params"),
    [
        ("/api/items/42", {"id": "42"}),
        ("/api/greet/Ann", {"name": "Ann"}),
        ("/api/greet", {}),
    ],
    ids=["constrained", "optional-given", "optional-omitted"],
)
def test_route_params_reach_the_function(
    port: int, path: str, route_params: dict[str, str]
) -> None:
    """Template segments arrive in `req.route_params`; an omitted optional one is absent."""
    reply = call(port, "GET", path)

    assert route_params == reply.json()["route_params"]


@pytest.mark.parametrize(
    ("path", "body"),
    [("/api/shout/h%C3%A9llo", "HÉLLO"), ("/api/shout/a%2Fb", "A%2FB")],
    ids=["percent-decoded", "encoded-slash-kept"],
)
def test_route_params_are_decoded_except_slashes(port: int, path: str, body: str) -> None:
    """Values are percent-decoded, but %2F stays encoded so it cannot split a segment."""
    reply = call(port, "GET", path)

    assert body == reply.body.decode()


def test_a_route_constraint_mismatch_is_not_found(port: int) -> None:
    """`items/{id:int}` does not serve /api/items/abc."""
    reply = call(port, "GET", "/api/items/abc")

    expected = 404
    assert expected == reply.status


def test_a_literal_route_wins_over_a_parameter_route(port: int) -> None:
    """`items/special` is served by its own function though `items/{id}` was registered first."""
    reply = call(port, "GET", "/api/items/special")

    expected = {"special": True}
    assert expected == reply.json()


def test_an_unknown_route_is_404_json(port: int) -> None:
    """No matching route: 404 in the API's error shape."""
    reply = call(port, "GET", "/api/nowhere?code=secret")

    expected = {"error": "NotFound", "message": "No function serves GET /api/nowhere"}
    assert (404, expected) == (reply.status, reply.json())


@pytest.mark.parametrize("method", ["DELETE", "TRACE", "PATCH", "OPTIONS", "QUERY"])
def test_a_wrong_method_is_405_with_allow(port: int, method: str) -> None:
    """A known route called with a method it does not accept answers 405 and lists the allowed
    (TRACE or QUERY too: never http.server's 501, which reads as a server error)."""
    reply = call(port, method, "/api/echo")

    expected = (405, "GET, POST, PUT", "MethodNotAllowed")
    assert expected == (reply.status, reply.headers["allow"], reply.json()["error"])


def test_an_unsupported_route_template_fails_at_start() -> None:
    """An unknown constraint is refused when the host is built, not on the first request."""
    app = func.FunctionApp()

    @app.route(route="things/{id:wibble}")
    def things(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("never")

    with pytest.raises(RouteTemplateError, match="wibble"):
        LocalFunctionsHost(app, port=0)


def test_routes_list_http_functions_with_paths_and_auth_levels(serve: Callable[..., Any]) -> None:
    """`routes` lists every HTTP function (not the timer) with its full path and auth level."""
    host = serve()

    listed = {r.function_name: (r.path, r.auth_level) for r in host.routes}

    function, anonymous, admin = (
        func.AuthLevel.FUNCTION,
        func.AuthLevel.ANONYMOUS,
        func.AuthLevel.ADMIN,
    )
    expected = {
        "echo": ("/api/echo", function),
        "get_item": ("/api/items/{id:int}", function),
        "special_item": ("/api/items/special", function),
        "greet": ("/api/greet/{name?}", anonymous),
        "upload": ("/api/upload", function),
        "shout": ("/api/shout/{word}", function),
        "boom": ("/api/boom", function),
        "barrier": ("/api/barrier", function),
        "settings": ("/api/settings", admin),
    }
    assert expected == listed


# --- requests and responses --------------------------------------------------------------------


def test_the_request_reaches_the_function_as_the_host_builds_it(port: int) -> None:
    """Method, full URL, first value per query key, headers and body all arrive unchanged."""
    body = bytes(range(256))

    reply = call(
        port,
        "POST",
        "/api/echo?a=1&a=2&empty=&text=x%20y",
        body=body,
        headers={"X-Custom": "abc", "Content-Type": "application/octet-stream"},
    )

    seen = reply.json()
    expected = {
        "method": "POST",
        "url": f"http://127.0.0.1:{port}/api/echo?a=1&a=2&empty=&text=x%20y",
        "params": {"a": "1", "empty": "", "text": "x y"},
        "x-custom": "abc",
        "content-type": "application/octet-stream",
        "body_hex": body.hex(),
    }
    actual = {
        "method": seen["method"],
        "url": seen["url"],
        "params": seen["params"],
        "x-custom": seen["headers"]["x-custom"],
        "content-type": seen["headers"]["content-type"],
        "body_hex": seen["body_hex"],
    }
    assert expected == actual


def test_the_response_goes_out_byte_for_byte(port: int) -> None:
    """Status, the function's headers, content type and body are written as returned."""
    body = bytes(range(256)) * 4

    reply = call(port, "POST", "/api/upload", body=body)

    expected = (201, "1024", "application/octet-stream", "1024", body)
    actual = (
        reply.status,
        reply.headers["x-body-length"],
        reply.headers["content-type"],
        reply.headers["content-length"],
        reply.body,
    )
    assert expected == actual


def test_an_async_function_is_awaited(port: int) -> None:
    """A coroutine function's response is served, text with the worker's default charset."""
    reply = call(port, "GET", "/api/shout/hey")

    expected = (200, "text/plain; charset=utf-8", b"HEY")
    assert expected == (reply.status, reply.headers["content-type"], reply.body)


def test_an_exception_is_500_json_and_logged(port: int, caplog: pytest.LogCaptureFixture) -> None:
    """A failing function answers 500 without the exception's text; its traceback is logged."""
    caplog.set_level(logging.ERROR, logger="devhost.host")

    reply = call(port, "GET", "/api/boom")

    expected = {"error": "InternalError", "message": "boom failed; see the host log"}
    logged = [r.exc_info[0] for r in caplog.records if r.exc_info is not None]
    assert (500, expected, [RuntimeError]) == (reply.status, reply.json(), logged)


def test_a_chunked_request_body_is_reassembled(port: int) -> None:
    """A body sent with Transfer-Encoding: chunked reaches the function whole."""
    chunks = [b"first,", b"second,", b"third"]

    reply = call(port, "POST", "/api/echo", body=iter(chunks))

    assert b"first,second,third".hex() == reply.json()["body_hex"]


def test_the_access_log_leaves_out_query_strings(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Each request logs method, path and status, never the query string (it carries `code=`)."""
    caplog.set_level(logging.INFO, logger="devhost.host")

    call(port, "GET", "/api/echo?code=s3cret")

    lines = [r.getMessage() for r in caplog.records]
    access = [line for line in lines if line.startswith("GET /api/echo 200 ")]
    expected: tuple[int, list[str]] = (1, [])
    assert expected == (len(access), [line for line in lines if "s3cret" in line])


# --- connections and limits --------------------------------------------------------------------


def test_connections_are_kept_alive(port: int) -> None:
    """Two requests travel over one connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_SECONDS)
    try:
        connection.request("GET", "/api/echo")
        first = connection.getresponse()
        first.read()
        first_socket = connection.sock
        connection.request("GET", "/api/items/7")
        second = connection.getresponse()
        second.read()

        reused = first_socket is not None and first_socket is connection.sock
    finally:
        connection.close()

    expected = (200, 200, True)
    assert expected == (first.status, second.status, reused)


def test_concurrent_requests_really_run_at_once(port: int) -> None:
    """Eight requests that each wait for all eight to be in flight all succeed."""
    sample.BARRIER.reset()

    with ThreadPoolExecutor(max_workers=sample.CONCURRENCY) as pool:
        replies = list(
            pool.map(lambda _: call(port, "GET", "/api/barrier"), range(sample.CONCURRENCY))
        )

    expected = [200] * sample.CONCURRENCY
    assert expected == [r.status for r in replies]


def test_a_body_at_the_limit_is_served(serve: Callable[..., LocalFunctionsHost]) -> None:
    """The size cap is inclusive."""
    host = serve(max_body_bytes=1024)

    reply = call(host.port, "POST", "/api/upload", body=b"x" * 1024)

    expected = 201
    assert expected == reply.status


def test_a_body_over_the_limit_is_413_without_being_read(
    serve: Callable[..., LocalFunctionsHost],
) -> None:
    """An oversize Content-Length is refused at once and the connection closed.

    The client sends only a sliver of the announced 10 MB: a host that tried to read it all
    would hang until the socket timeout instead of answering.
    """
    host = serve(max_body_bytes=1024)

    with socket.create_connection(("127.0.0.1", host.port), timeout=WAIT_SECONDS) as sock:
        head = b"POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
        sock.sendall(head + b"x" * 2048)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = json.loads(response.read())

    expected = (413, "close", "PayloadTooLarge")
    assert expected == (response.status, response.getheader("Connection"), body["error"])


def test_a_malformed_request_gets_the_json_error_shape(port: int) -> None:
    """A request the HTTP parser rejects (too many headers) still gets JSON, then a close."""
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(101))

    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS) as sock:
        sock.sendall(b"GET /api/echo HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = json.loads(response.read())

    expected = (431, "close", "RequestHeaderFieldsTooLarge")
    assert expected == (response.status, response.getheader("Connection"), body["error"])


# --- host.json ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host_json", "prefix"),
    [
        ({"version": "2.0"}, "api"),
        ({"extensions": {"http": {"routePrefix": "v1"}}}, "v1"),
        ({"extensions": {"http": {"routePrefix": "/v2/"}}}, "v2"),
        ({"extensions": {"http": {"routePrefix": ""}}}, ""),
    ],
    ids=["default", "custom", "slashes-stripped", "empty"],
)
def test_read_route_prefix(tmp_path: Path, host_json: dict[str, Any], prefix: str) -> None:
    """routePrefix comes from extensions.http, "api" when unset."""
    path = tmp_path / "host.json"
    path.write_text(json.dumps(host_json))

    assert prefix == read_route_prefix(path)


def test_the_project_host_json_uses_the_api_prefix() -> None:
    """The deployed prefix is the one DESIGN.md promises."""
    expected = "api"
    assert expected == read_route_prefix(REPO_ROOT / "host.json")


# --- Azurite -----------------------------------------------------------------------------------


def test_azurite_listens_until_stopped_and_restarts_on_the_same_port() -> None:
    """start() listens, stop() closes the port, start() listens on the same port again."""
    azurite = Azurite()
    try:
        azurite.start()
        started = port_accepts(azurite.port)
        azurite.stop()
        stopped = port_accepts(azurite.port)
        port = azurite.port
        azurite.start()
        restarted = (azurite.port, port_accepts(azurite.port))
    finally:
        azurite.stop()

    assert (True, False, (port, True)) == (started, stopped, restarted)


def test_azurite_with_a_location_keeps_data_across_a_restart(tmp_path: Path) -> None:
    """A persistent Azurite still has its tables after stop() and start()."""
    with Azurite(location=tmp_path / "azurite") as azurite:
        TableServiceClient.from_connection_string(azurite.connection_string).create_table("kept")
        azurite.stop()
        azurite.start()

        client = TableServiceClient.from_connection_string(azurite.connection_string)
        tables = [t.name for t in client.list_tables()]

    expected = ["kept"]
    assert expected == tables


def test_azurite_pause_freezes_the_process_and_resume_thaws_it() -> None:
    """pause() stops the child (state T) and resume() lets it run again."""
    with Azurite() as azurite:
        pid = azurite.pid
        assert pid is not None
        azurite.pause()
        paused = wait_for_state(pid, lambda s: s == "T")
        azurite.resume()
        resumed = wait_for_state(pid, lambda s: s != "T")

    expected = ("T", True)
    assert expected == (paused, resumed in {"R", "S"})


def test_azurite_that_exits_while_starting_reports_its_output() -> None:
    """A port taken by a bound socket makes Azurite exit; the error carries its own message."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        port = blocker.getsockname()[1]

        with pytest.raises(PortInUseError) as raised:
            Azurite(port=port).start()

    assert "EADDRINUSE" in str(raised.value)


def test_missing_azurite_tells_the_user_to_run_npm_ci(tmp_path: Path) -> None:
    """Without node_modules the error says how to install Azurite."""
    with pytest.raises(AzuriteError, match="npm ci"):
        Azurite(binary=tmp_path / "azurite").start()


# --- python -m devhost.run ---------------------------------------------------------------------


def run_env(**settings: str) -> dict[str, str]:
    app_settings = ("FAILOVER_CONFIG", "FailoverStorage", "FailoverStorage__tableServiceUri")
    env = {k: v for k, v in os.environ.items() if k not in app_settings}
    return {**env, **settings}


def test_run_serves_the_app_and_sigterm_leaves_no_process_behind() -> None:
    """`make run` serves the app with Azurite and the demo config; SIGTERM exits 0, cleanly."""
    port, azurite_port, queue_port = free_port(), free_port(), free_port()
    env = run_env(
        FUNCTION_APP_MODULE="tests.devhost_sample_app",
        PORT=str(port),
        AZURITE_TABLE_PORT=str(azurite_port),
        AZURITE_QUEUE_PORT=str(queue_port),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost.run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, process)
        settings = call(port, "GET", "/api/settings").json()
        children = children_of(process.pid)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    expected_settings = {
        "FAILOVER_CONFIG": str(DEMO_CONFIG),
        "FailoverStorage": Azurite(port=azurite_port, queue_port=queue_port).connection_string,
    }
    states = [wait_for_state(child, lambda s: s == "gone") for child in children]
    expected = (expected_settings, 0, 1, ["gone"], (False, False))
    assert expected == (
        settings,
        process.returncode,
        len(children),
        states,
        (port_accepts(azurite_port), port_accepts(queue_port)),
    )


def test_run_exits_2_with_the_message_when_the_app_rejects_its_config(tmp_path: Path) -> None:
    """A ValueError at import (invalid settings) prints `type: message`, stops Azurite, exits 2."""
    (tmp_path / "broken_app.py").write_text(
        'raise ValueError("FAILOVER_CONFIG: groups: must be a non-empty list")\n'
    )
    azurite_port = free_port()
    env = run_env(
        FUNCTION_APP_MODULE="broken_app",
        PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        PORT=str(free_port()),
        AZURITE_TABLE_PORT=str(azurite_port),
    )

    result = subprocess.run(
        [sys.executable, "-m", "devhost.run"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )

    message = "ValueError: FAILOVER_CONFIG: groups: must be a non-empty list"
    expected = (2, True, False, False)
    assert expected == (
        result.returncode,
        message in result.stderr.splitlines(),
        "Traceback" in result.stderr,
        port_accepts(azurite_port),
    )


def test_run_options_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """--port beats $PORT, which beats 7071; $HOST and the $AZURITE_*_PORTs are read too."""
    monkeypatch.setenv("PORT", "8100")
    monkeypatch.setenv("HOST", "localhost")
    monkeypatch.setenv("AZURITE_TABLE_PORT", "10002")
    monkeypatch.setenv("AZURITE_QUEUE_PORT", "10001")

    from_env, from_flag = parse_args([]), parse_args(["--port", "8200", "--no-azurite"])

    expected = (8100, "localhost", 10002, 10001, 8200, True)
    assert expected == (
        from_env.port,
        from_env.host,
        from_env.azurite_port,
        from_env.azurite_queue_port,
        from_flag.port,
        from_flag.no_azurite,
    )


@pytest.mark.parametrize(("raw", "expected"), [("", 1), ("2", 2), ("8", 8)])
def test_local_queue_instances_defaults_to_one(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: int
) -> None:
    """LOCAL_QUEUE_INSTANCES: how many processes consume the queues; one (the host) by default."""
    monkeypatch.setenv("LOCAL_QUEUE_INSTANCES", raw)

    assert expected == parse_args([]).queue_instances


@pytest.mark.parametrize("raw", ["0", "9", "two", "-1"])
def test_a_bad_local_queue_instances_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], raw: str
) -> None:
    monkeypatch.setenv("LOCAL_QUEUE_INSTANCES", raw)

    with pytest.raises(SystemExit) as stopped:
        parse_args([])

    assert 2 == stopped.value.code
    assert "LOCAL_QUEUE_INSTANCES must be 1 to 8" in capsys.readouterr().err
