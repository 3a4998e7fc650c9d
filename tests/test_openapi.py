"""The API document (shared/http/openapi.json): a valid OpenAPI 3.1 document of exactly the
routes function_app registers, served anonymously at GET /api/openapi.json, and strict enough
to catch an answer that breaks it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import get_args

import pytest
from openapi_spec_validator import validate

from devhost.azurite import Azurite
from shared.core.state import Action
from tests.apicontract import DOCUMENT, ContractError, ContractSession, check
from tests.hosting import DEMO_CONFIG, ROOT, HostProcess

# Every HTTP function of function_app, as the host serves it: path, methods, auth level.
_LIST_ROUTES = """
import json
from pathlib import Path
import function_app
from devhost.discovery import functions_of
from devhost.hostjson import read_route_prefix
from devhost.routes import routes_from_functions
routes = routes_from_functions(functions_of(function_app.app), read_route_prefix(Path("host.json")))
print(json.dumps([[r.function_name, r.path, sorted(r.methods or ["*"]), r.auth_level.value]
                  for r in routes]))
"""
# Which security schemes an operation of each auth level may list.
_SCHEMES_BY_LEVEL = {
    "anonymous": set(),
    "function": {"functionKeyHeader", "functionKeyQuery"},
    "admin": {"masterKeyHeader", "masterKeyQuery"},
}


def registered_routes() -> list[tuple[str, str, str, str]]:
    """(function name, path, method, auth level) of every HTTP route function_app registers."""
    env = {
        **os.environ,
        "FAILOVER_CONFIG": str(DEMO_CONFIG),
        "FailoverStorage": "UseDevelopmentStorage=true",
    }
    command = [sys.executable, "-c", _LIST_ROUTES]
    listed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, encoding="utf-8", timeout=60, check=False
    )
    assert 0 == listed.returncode, listed.stderr
    return [
        (name, path, method, level)
        for name, path, methods, level in json.loads(listed.stdout)
        for method in methods
    ]


@pytest.fixture(scope="module")
def routes() -> list[tuple[str, str, str, str]]:
    return registered_routes()


def documented() -> set[tuple[str, str]]:
    """(path, METHOD) of every operation in the document."""
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return {
        (path, method.upper())
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method in methods
    }


def test_the_document_is_a_valid_openapi_3_1_document() -> None:
    """openapi-spec-validator accepts the document, and it declares OpenAPI 3.1."""
    validate(DOCUMENT)  # raises, naming the problem, on an invalid document

    assert DOCUMENT["openapi"].startswith("3.1.")


def test_every_registered_route_is_in_the_document(routes: list[tuple[str, str, str, str]]) -> None:
    """Each route function_app registers has its operation in the document."""
    missing = [
        f"{method} {path} (function {name!r}, auth level {level}): add it to "
        f'shared/http/openapi.json under "paths" → "{path}" → "{method.lower()}"'
        for name, path, method, level in routes
        if (path, method) not in documented()
    ]

    assert [] == missing, "routes missing from the API document:\n" + "\n".join(missing)


def test_every_documented_operation_is_a_registered_route(
    routes: list[tuple[str, str, str, str]],
) -> None:
    """The document describes no route the app does not serve."""
    served = {(path, method) for _, path, method, _ in routes}

    extra = sorted(f"{method} {path}" for path, method in documented() - served)

    assert [] == extra, "operations in the API document that function_app does not register"


def test_operation_ids_are_the_function_names(routes: list[tuple[str, str, str, str]]) -> None:
    """Each operation's operationId is the name of the function that serves it."""
    expected = {(path, method): name for name, path, method, _ in routes}

    actual = {
        (path, method): DOCUMENT["paths"][path][method.lower()]["operationId"]
        for path, method in documented()
    }

    assert expected == actual


def test_the_documented_alert_outcomes_are_the_cores_actions() -> None:
    """AlertAction's enum is exactly the decision core's Action, in its order, so a new outcome
    (the shadow mode's `would_*`) cannot be answered without being described."""
    enum = DOCUMENT["components"]["schemas"]["AlertAction"]["enum"]

    assert list(get_args(Action)) == enum


def test_each_operation_asks_for_the_keys_of_its_auth_level(
    routes: list[tuple[str, str, str, str]],
) -> None:
    """Anonymous routes list no key, function routes a function key, admin ones the master key."""
    wrong = []
    for _, path, method, level in routes:
        requirements = DOCUMENT["paths"][path][method.lower()]["security"]
        keys = {scheme for r in requirements for scheme in r if "Key" in scheme}
        allowed = _SCHEMES_BY_LEVEL[level]
        if (keys - allowed) or (allowed and not all(set(r) & allowed for r in requirements)):
            wrong.append(f"{method} {path} ({level}): {requirements}")

    assert [] == wrong


# --- the oracle: answers that break the document are caught ------------------------------------

_JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "status", "headers", "body", "named"),
    [
        ("GET", "/api/console-not-here", 200, _JSON, b"{}", "has no GET /api/console-not-here"),
        ("DELETE", "/api/status", 200, _JSON, b"{}", "has no DELETE /api/status"),
        ("GET", "/api/health", 418, _JSON, b"{}", "does not list"),
        ("GET", "/api/health", 200, _JSON, b'{"status": "ok"}', "'storage' is a required"),
        ("GET", "/api/status", 200, _JSON, b'{"time": "noon", "groups": []}', "date-time"),
        ("GET", "/api/status", 200, {"content-type": "text/html"}, b"<p>", "'text/html'"),
        ("GET", "/api/history", 200, _JSON, b"not json", "not JSON"),
        ("GET", "/api/active-account", 200, _JSON, b"{}", "ETag header"),
        ("GET", "/api/status", 503, _JSON, b'{"error": "x", "message": ""}', "Retry-After"),
        (
            "GET",
            "/api/status",
            503,
            {**_JSON, "Retry-After": "5"},
            b'{"error": "Oops", "message": "m"}',
            "'Oops' is not one of",
        ),
        ("POST", "/api/alerts", 400, _JSON, b'{"error": "InvalidAlert"}', "'message' is a"),
        ("GET", "/api/status", 401, _JSON, b'{"error": "x"}', "with a body"),
    ],
    ids=[
        "unknown route",
        "unknown method",
        "unlisted status",
        "missing field",
        "bad date-time",
        "wrong media type",
        "body not JSON",
        "missing required header",
        "503 without Retry-After",
        "unknown error code",
        "error without message",
        "body where none is documented",
    ],
)
def test_an_answer_that_breaks_the_document_is_refused_naming_the_break(
    method: str, path: str, status: int, headers: dict[str, str], body: bytes, named: str
) -> None:
    """The response check fails with a message naming the route and what is wrong."""
    with pytest.raises(ContractError, match=f"{method} {path}") as refused:
        check(method, path, status, headers, body)

    assert named in str(refused.value)


# --- served -------------------------------------------------------------------------------------


@pytest.fixture
def keyed_host(azurite: Azurite, table_name: str) -> Iterator[HostProcess]:
    """The local host checking keys, as Azure does."""
    env = {"LOCAL_FUNCTION_KEY": "reader-key-0123456789", "LOCAL_MASTER_KEY": "master-0123456789"}
    with HostProcess(azurite.connection_string, table_name, **env) as running:
        yield running


def test_the_document_is_served_without_a_key_and_revalidates(keyed_host: HostProcess) -> None:
    """GET /api/openapi.json needs no key (unlike /api/status), answers the repository's
    document with an ETag, and a matching If-None-Match is 304 without a body."""
    http = ContractSession()

    served = http.get(f"{keyed_host.url}/openapi.json", timeout=30)
    again = http.get(
        f"{keyed_host.url}/openapi.json",
        headers={"If-None-Match": served.headers["ETag"]},
        timeout=30,
    )
    status = http.get(f"{keyed_host.url}/status", timeout=30)

    assert (200, DOCUMENT) == (served.status_code, served.json())
    assert (304, b"") == (again.status_code, again.content)
    assert 401 == status.status_code
