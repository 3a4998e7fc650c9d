"""The local host demands function and master keys by auth level, as Azure does, over real HTTP."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from devhost.host import LocalFunctionsHost
from devhost.keys import KeySettingError
from tests import devhost_keys_app as sample

FUNCTION_KEY = "fk-local-0b5e2c7a91d4"
MASTER_KEY = "mk-local-6f3a8d1e2c47"
BOTH = {"LOCAL_FUNCTION_KEY": FUNCTION_KEY, "LOCAL_MASTER_KEY": MASTER_KEY}

Serve = Callable[[dict[str, str]], int]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a host over the sample app with these settings; return its port."""
    hosts: list[LocalFunctionsHost] = []

    def start(environ: dict[str, str]) -> int:
        host = LocalFunctionsHost(sample.app, port=0, environ=environ)
        hosts.append(host)
        return host.start_in_thread()

    yield start
    for host in hosts:
        host.shutdown()


def call(
    port: int, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def key(value: str) -> dict[str, str]:
    return {"x-functions-key": value}


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        pytest.param("GET", "/api/work", {}, 401, id="function-no-key"),
        pytest.param("GET", "/api/work?code=wrong", {}, 401, id="function-wrong-code"),
        pytest.param("GET", "/api/work", key("wrong"), 401, id="function-wrong-header"),
        pytest.param("GET", "/api/work?code=", {}, 401, id="function-empty-code"),
        pytest.param("GET", f"/api/work?code={FUNCTION_KEY[:-1]}", {}, 401, id="function-prefix"),
        pytest.param("GET", f"/api/work?code={FUNCTION_KEY}", {}, 200, id="function-code"),
        pytest.param("GET", "/api/work", key(FUNCTION_KEY), 200, id="function-header"),
        pytest.param("GET", f"/api/work?code={MASTER_KEY}", {}, 200, id="function-master-code"),
        pytest.param("GET", "/api/work", key(MASTER_KEY), 200, id="function-master-header"),
        pytest.param(
            "GET", f"/api/work?code={FUNCTION_KEY}", key("wrong"), 401, id="header-wins-wrong"
        ),
        pytest.param("GET", "/api/work?code=wrong", key(FUNCTION_KEY), 200, id="header-wins-right"),
        pytest.param("POST", "/api/operate", {}, 401, id="admin-no-key"),
        pytest.param("POST", f"/api/operate?code={FUNCTION_KEY}", {}, 401, id="admin-fn-code"),
        pytest.param("POST", "/api/operate", key(FUNCTION_KEY), 401, id="admin-fn-header"),
        pytest.param("POST", f"/api/operate?code={MASTER_KEY}", {}, 200, id="admin-master-code"),
        pytest.param("POST", "/api/operate", key(MASTER_KEY), 200, id="admin-master-header"),
        pytest.param("GET", "/api/ping", {}, 200, id="anonymous-no-key"),
        pytest.param("GET", "/api/ping?code=wrong", {}, 200, id="anonymous-wrong-key"),
        pytest.param("POST", "/admin/functions/nightly", {}, 401, id="run-timer-no-key"),
        pytest.param(
            "POST", "/admin/functions/nightly", key(FUNCTION_KEY), 401, id="run-timer-fn-key"
        ),
        pytest.param(
            "POST", "/admin/functions/nightly", key(MASTER_KEY), 202, id="run-timer-master-key"
        ),
        pytest.param(
            "POST", f"/admin/functions/nightly?code={MASTER_KEY}", {}, 202, id="run-timer-code"
        ),
        pytest.param("POST", "/admin/functions/nosuch", {}, 401, id="unknown-timer-no-key"),
        pytest.param(
            "POST", "/admin/functions/nosuch", key(MASTER_KEY), 404, id="unknown-timer-master"
        ),
        pytest.param("GET", "/api/nowhere", {}, 404, id="unknown-route-no-key"),
    ],
)
def test_keys_open_routes_by_auth_level(
    serve: Serve, method: str, path: str, headers: dict[str, str], expected: int
) -> None:
    """Function routes take either key, admin ones the master key only, anonymous ones none."""
    port = serve(BOTH)

    status, _ = call(port, method, path, headers)

    assert expected == status


def test_a_refusal_is_an_empty_401(serve: Serve) -> None:
    """Like Azure, a missing or wrong key gets 401 with no body."""
    port = serve(BOTH)

    assert (401, b"") == call(port, "GET", "/api/work?code=wrong")


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/work", 200),
        ("POST", "/api/operate", 200),
        ("GET", "/api/ping", 200),
        ("POST", "/admin/functions/nightly", 202),
    ],
    ids=["function", "admin", "anonymous", "run-timer"],
)
def test_with_no_keys_configured_everything_is_open(
    serve: Serve, method: str, path: str, expected: int
) -> None:
    """Without LOCAL_FUNCTION_KEY or LOCAL_MASTER_KEY nothing changes: no key is asked for."""
    port = serve({"LOCAL_FUNCTION_KEY": " ", "LOCAL_MASTER_KEY": ""})

    status, _ = call(port, method, path)

    assert expected == status


def test_with_only_a_function_key_admin_routes_are_closed(serve: Serve) -> None:
    """A function key alone opens function routes; with no master key admin routes stay 401."""
    port = serve({"LOCAL_FUNCTION_KEY": FUNCTION_KEY})

    statuses = [
        call(port, "GET", "/api/work", key(FUNCTION_KEY))[0],
        call(port, "POST", "/api/operate", key(FUNCTION_KEY))[0],
        call(port, "POST", "/admin/functions/nightly", key(FUNCTION_KEY))[0],
    ]

    assert [200, 401, 401] == statuses


def test_with_only_a_master_key_it_opens_function_routes(serve: Serve) -> None:
    """With only a master key set, function routes take it and nothing else."""
    port = serve({"LOCAL_MASTER_KEY": MASTER_KEY})

    statuses = [
        call(port, "GET", "/api/work")[0],
        call(port, "GET", "/api/work", key(MASTER_KEY))[0],
    ]

    assert [401, 200] == statuses


def test_a_refused_request_leaves_the_connection_usable(serve: Serve) -> None:
    """A 401 still reads the request's body, so the kept-alive connection serves the next."""
    port = serve(BOTH)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/api/work", body=b'{"x": 1}')
        refused = connection.getresponse()
        refused.read()
        connection.request("POST", "/api/work", body=b'{"x": 1}', headers=key(FUNCTION_KEY))
        accepted = connection.getresponse()
        accepted_body = accepted.read()
    finally:
        connection.close()

    assert (401, 200, b"work done") == (refused.status, accepted.status, accepted_body)


def test_keys_never_reach_the_log(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    """Accepted and refused requests, by query and by header, log no key."""
    with caplog.at_level(logging.DEBUG):
        port = serve(BOTH)
        call(port, "GET", f"/api/work?code={FUNCTION_KEY}")
        call(port, "GET", f"/api/work?code={MASTER_KEY}x")
        call(port, "POST", "/api/operate", key(MASTER_KEY))
        call(port, "POST", "/admin/functions/nightly", key(FUNCTION_KEY))

    assert (False, False, True) == (
        FUNCTION_KEY in caplog.text,
        MASTER_KEY in caplog.text,
        "GET /api/work 401" in caplog.text,
    )


WORK_KEY = "wk-local-5d0c9e3b7a21"
PER_FUNCTION = {
    "LOCAL_FUNCTION_KEYS": json.dumps({"work": {"readers": WORK_KEY}}),
    "LOCAL_MASTER_KEY": MASTER_KEY,
}


def test_a_key_of_one_function_opens_that_function_only(serve: Serve) -> None:
    """As in Azure: a function key opens its own function, never another one or an admin
    route; the master key still opens everything."""
    port = serve(PER_FUNCTION)

    statuses = {
        "own function": call(port, "GET", "/api/work", key(WORK_KEY))[0],
        "other function": call(port, "GET", "/api/report", key(WORK_KEY))[0],
        "admin route": call(port, "POST", "/api/operate", key(WORK_KEY))[0],
        "run a timer": call(port, "POST", "/admin/functions/nightly", key(WORK_KEY))[0],
        "other function, master": call(port, "GET", "/api/report", key(MASTER_KEY))[0],
        "other function, no key": call(port, "GET", "/api/report")[0],
    }

    assert {
        "own function": 200,
        "other function": 401,
        "admin route": 401,
        "run a timer": 401,
        "other function, master": 200,
        "other function, no key": 401,
    } == statuses


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("{not json", "is not JSON"),
        ('["work"]', "must look like"),
        ('{"work": "k"}', "'work' has no keys"),
        ('{"work": {}}', "'work' has no keys"),
        ('{"work": {"readers": " "}}', "key 'readers' of 'work' is empty"),
        ('{"work": {"readers": 7}}', "key 'readers' of 'work' is empty"),
    ],
)
def test_a_malformed_per_function_key_setting_stops_the_host_naming_it(
    raw: str, named: str
) -> None:
    with pytest.raises(KeySettingError, match="LOCAL_FUNCTION_KEYS") as caught:
        LocalFunctionsHost(sample.app, port=0, environ={"LOCAL_FUNCTION_KEYS": raw})

    assert named in str(caught.value)
