"""The ARM/VI stand-in: its wire format, its control endpoint, its CLI, and `make run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.azurite import free_port, port_accepts
from devhost.run import parse_args
from devhost.standin import AzureStandIn
from tests.test_probe import EASTUS, WESTUS

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = REPO_ROOT / "devhost" / "demo-config.json"
WAIT_SECONDS = 30.0
API = {"api-version": "2025-04-01"}
BEARER = {"Authorization": "Bearer any-arm-token"}
TOKEN_REQUEST = {"permissionType": "Reader", "scope": "Account"}


@pytest.fixture
def standin() -> Iterator[AzureStandIn]:
    with AzureStandIn([EASTUS, WESTUS]) as server:
        yield server


def vi_token(standin: AzureStandIn, resource_id: str) -> str:
    url = f"{standin.url}{resource_id}/generateAccessToken"
    reply = requests.post(url, params=API, json=TOKEN_REQUEST, headers=BEARER, timeout=5)
    return str(reply.json()["accessToken"])


def wait_for_port(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not port_accepts(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"nothing listened on {port}: {process.communicate()}")
        time.sleep(0.05)  # polling for start-up, not timing a result


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devhost.standin", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )


# --- wire format -------------------------------------------------------------------------------


def test_arm_serves_the_account_in_arm_shape_matching_the_id_case_insensitively(
    standin: AzureStandIn,
) -> None:
    """ARM's resource JSON, display-form location, for an id in other letter case."""
    url = standin.url + WESTUS.resource_id.upper()

    reply = requests.get(url, params=API, headers=BEARER, timeout=5)

    body = reply.json()
    expected = (200, "Microsoft.VideoIndexer/accounts", "West US", WESTUS.account_id, "Succeeded")
    assert expected == (
        reply.status_code,
        body["type"],
        body["location"],
        body["properties"]["accountId"],
        body["properties"]["provisioningState"],
    )


@pytest.mark.parametrize(
    ("method", "suffix", "headers", "query", "expected_status", "expected_code"),
    [
        pytest.param("GET", "", {}, API, 401, "AuthenticationFailed", id="get-no-bearer"),
        pytest.param(
            "POST",
            "/generateAccessToken",
            {},
            API,
            401,
            "AuthenticationFailed",
            id="post-no-bearer",
        ),
        pytest.param("GET", "", BEARER, {}, 400, "MissingApiVersionParameter", id="no-api-version"),
        pytest.param("GET", "x", BEARER, API, 404, "ResourceNotFound", id="unknown-account"),
    ],
)
def test_arm_errors_use_arms_error_json(
    standin: AzureStandIn,
    method: str,
    suffix: str,
    headers: dict[str, str],
    query: dict[str, str],
    expected_status: int,
    expected_code: str,
) -> None:
    """No bearer token: 401; no api-version: 400; unknown account: 404; ARM's error shape."""
    url = f"{standin.url}{WESTUS.resource_id}{suffix}"

    reply = requests.request(
        method, url, params=query, headers=headers, json=TOKEN_REQUEST, timeout=5
    )

    assert (expected_status, expected_code) == (reply.status_code, reply.json()["error"]["code"])


def test_a_configured_arm_token_rejects_any_other() -> None:
    """With arm_token set, a different bearer token is 401 and the right one passes."""
    with AzureStandIn([WESTUS], arm_token="the-token") as strict:
        url = strict.url + WESTUS.resource_id
        wrong = requests.get(url, params=API, headers={"Authorization": "Bearer other"}, timeout=5)
        right = requests.get(
            url, params=API, headers={"Authorization": "Bearer the-token"}, timeout=5
        )

    assert (401, 200) == (wrong.status_code, right.status_code)


def test_vi_lists_videos_only_for_the_account_its_token_was_issued_for(
    standin: AzureStandIn,
) -> None:
    """Own token: 200 with a page; another account's token: 401; wrong location: 404."""
    token = {"Authorization": f"Bearer {vi_token(standin, WESTUS.resource_id)}"}

    def videos(account: Any, location: str) -> requests.Response:
        url = f"{standin.url}/{location}/Accounts/{account.account_id}/Videos"
        return requests.get(url, params={"pageSize": "1"}, headers=token, timeout=5)

    own, other, elsewhere = (
        videos(WESTUS, "westus"),
        videos(EASTUS, "eastus"),
        videos(WESTUS, "eastus"),
    )

    page = {"results": [], "nextPage": {"pageSize": 1, "skip": 0, "done": True}}
    expected = (200, page, 401, 404, "ACCOUNT_NOT_FOUND")
    assert expected == (
        own.status_code,
        own.json(),
        other.status_code,
        elsewhere.status_code,
        elsewhere.json()["ErrorType"],
    )


def test_shutdown_releases_a_held_request_promptly() -> None:
    """A `hang` request held for 30 s ends as soon as the stand-in shuts down."""
    standin = AzureStandIn([WESTUS], hang_seconds=30.0)
    standin.start_in_thread()
    standin.set_behaviour(WESTUS.name, "hang")
    token = {"Authorization": f"Bearer {vi_token(standin, WESTUS.resource_id)}"}
    url = f"{standin.url}/westus/Accounts/{WESTUS.account_id}/Videos"
    outcome: list[str] = []

    def call() -> None:
        try:
            requests.get(url, headers=token, timeout=WAIT_SECONDS)
            outcome.append("answered")
        except requests.ConnectionError:
            outcome.append("connection closed")

    client = threading.Thread(target=call)
    client.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not any("/Videos" in path for _, path in standin.requests_seen):
        assert time.monotonic() < deadline, "the request never arrived"
        time.sleep(0.01)  # polling for the request's arrival, not timing a result
    started = time.monotonic()

    standin.shutdown()
    client.join(WAIT_SECONDS)

    assert (["connection closed"], True) == (outcome, time.monotonic() - started < 5)


# --- control endpoint ---------------------------------------------------------------------------


def test_the_control_endpoint_switches_and_lists_behaviours(standin: AzureStandIn) -> None:
    """POST sets one account's behaviour; GET lists every account with its behaviour."""
    control = f"{standin.url}/_standin/accounts"

    changed = requests.post(f"{control}/{WESTUS.name}", json={"behaviour": "unhealthy"}, timeout=5)
    listed = requests.get(control, timeout=5).json()

    expected = (
        200,
        {EASTUS.name: "healthy", WESTUS.name: "unhealthy"},
        {EASTUS.name: "healthy", WESTUS.name: "unhealthy"},
    )
    assert expected == (
        changed.status_code,
        {a["name"]: a["behaviour"] for a in listed["accounts"]},
        standin.behaviours(),
    )


@pytest.mark.parametrize(
    ("name", "body", "expected_status", "expected_fragment"),
    [
        pytest.param("nobody", {"behaviour": "healthy"}, 404, "no account 'nobody'", id="account"),
        pytest.param(WESTUS.name, {"behaviour": "sad"}, 400, "throttled-once", id="behaviour"),
        pytest.param(WESTUS.name, {"mood": "sad"}, 400, "behaviour", id="no-behaviour"),
    ],
)
def test_bad_control_input_is_rejected_and_changes_nothing(
    standin: AzureStandIn,
    name: str,
    body: dict[str, str],
    expected_status: int,
    expected_fragment: str,
) -> None:
    """Unknown account: 404; unknown or missing behaviour: 400 listing the allowed ones."""
    url = f"{standin.url}/_standin/accounts/{name}"

    reply = requests.post(url, json=body, timeout=5)

    expected = (expected_status, True, {EASTUS.name: "healthy", WESTUS.name: "healthy"})
    assert expected == (
        reply.status_code,
        expected_fragment in reply.json()["error"]["message"],
        standin.behaviours(),
    )


# --- CLI ---------------------------------------------------------------------------------------


def test_the_cli_sets_and_lists_behaviours(standin: AzureStandIn) -> None:
    """`set` with --url and `list` with STANDIN_URL talk to a running stand-in."""
    changed = cli("set", WESTUS.name, "throttled", "--url", standin.url)
    listed = cli("list", STANDIN_URL=standin.url)

    rows = [line.split() for line in listed.stdout.splitlines()]
    expected = (
        0,
        True,
        0,
        [[EASTUS.name, "healthy", "eastus"], [WESTUS.name, "throttled", "westus"]],
    )
    assert expected == (
        changed.returncode,
        changed.stdout.startswith(f"{WESTUS.name}: throttled"),
        listed.returncode,
        rows,
    )


@pytest.mark.parametrize(
    ("args", "expected_fragment"),
    [
        pytest.param(("set", WESTUS.name, "sad"), "unknown behaviour 'sad'", id="behaviour"),
        pytest.param(("set", "nobody", "healthy"), "no account 'nobody'", id="account"),
    ],
)
def test_the_cli_reports_bad_input_and_exits_1(
    standin: AzureStandIn, args: tuple[str, ...], expected_fragment: str
) -> None:
    """The stand-in's refusal reaches stderr and the exit code is 1."""
    result = cli(*args, "--url", standin.url)

    assert (1, True) == (result.returncode, expected_fragment in result.stderr)


def test_the_cli_says_when_no_standin_answers() -> None:
    """A URL with nothing behind it is exit code 1 and a message naming the URL."""
    url = f"http://127.0.0.1:{free_port()}"

    result = cli("list", "--url", url)

    assert (1, True) == (result.returncode, f"no stand-in answers at {url}" in result.stderr)


def test_serve_runs_the_standin_alone_until_sigterm() -> None:
    """`serve --port --config` serves the config's accounts; SIGTERM exits 0 and frees the port."""
    port = free_port()
    serve = ["serve", "--port", str(port), "--config", str(DEMO_CONFIG)]
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost.standin", *serve],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, process)
        listed = cli("list", "--url", f"http://127.0.0.1:{port}")
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert (0, 2, 0, False) == (
        listed.returncode,
        len(listed.stdout.splitlines()),
        process.returncode,
        port_accepts(port),
    )


# --- make run ----------------------------------------------------------------------------------

SETTINGS_APP = """
import json, os
import azure.functions as func
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
@app.route(route="settings", methods=["GET"])
def settings(req: func.HttpRequest) -> func.HttpResponse:
    names = ("ARM_BASE_URL", "VI_BASE_URL", "ARM_STATIC_TOKEN")
    return func.HttpResponse(json.dumps({n: os.environ.get(n) for n in names}))
"""


def test_make_run_starts_the_standin_and_points_the_app_at_it(tmp_path: Path) -> None:
    """The app gets the stand-in's URL unless set; the banner has the CLI hint; SIGTERM stops it."""
    (tmp_path / "settings_app.py").write_text(SETTINGS_APP)
    port, standin_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("ARM_BASE_URL", "VI_BASE_URL")}
    env |= {
        "FUNCTION_APP_MODULE": "settings_app",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "FailoverStorage": "UseDevelopmentStorage=true",
        "FAILOVER_CONFIG": str(DEMO_CONFIG),
        "ARM_STATIC_TOKEN": "kept-from-env",
        "STANDIN_PORT": str(standin_port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost.run", "--no-azurite", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, process)
        settings = requests.get(f"http://127.0.0.1:{port}/api/settings", timeout=5).json()
        process.send_signal(signal.SIGTERM)
        banner, _ = process.communicate(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    url = f"http://127.0.0.1:{standin_port}"
    hint = f"python -m devhost.standin set contoso-westus unhealthy --url {url}"
    expected_settings = {
        "ARM_BASE_URL": url,
        "VI_BASE_URL": url,
        "ARM_STATIC_TOKEN": "kept-from-env",
    }
    expected = (expected_settings, True, True, 0, False)
    assert expected == (
        settings,
        f"stand-in on {url}" in banner,
        hint in banner,
        process.returncode,
        port_accepts(standin_port),
    ), banner


def test_run_reads_the_standin_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """$STANDIN_PORT picks the stand-in's port; --no-standin turns it off."""
    monkeypatch.setenv("STANDIN_PORT", "8172")

    default, off = parse_args([]), parse_args(["--no-standin"])

    assert (8172, False, True) == (default.standin_port, default.no_standin, off.no_standin)
