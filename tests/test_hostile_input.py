"""Hostile input at POST /api/alerts: mutated real-shaped payloads, junk, oversized, deeply
nested, huge strings, wrong content types, invalid UTF-8 and duplicate keys. Never a 500,
never a state change from an invalid alert."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters.memory_store import InMemoryStateStore
from shared.app.controller import Controller
from shared.core.model import Config
from shared.http.handlers import HttpApi
from shared.settings import Settings, StorageSettings
from tests import alertfactory as af
from tests.apicontract import checked
from tests.core import FakeClock, group

ROOT = Path(__file__).resolve().parent.parent
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
SEEDS = [
    af.service_health(),
    af.service_health(schema="legacy", impacted_as="string"),
    af.service_health(stage="Resolved", communication_id="9"),
    af.resource_health(),
    af.resource_health(schema="legacy"),
    af.metric_alert(),
    af.budget_alert(),
]


class Endpoint:
    """The alert handler over an in-memory store; remembers nothing between examples."""

    def __init__(self) -> None:
        self.store = InMemoryStateStore()
        config = Config(groups=(group(),))
        self.controller = Controller(config, self.store, FakeClock())
        settings_ = Settings(config=config, storage=StorageSettings(connection_string="x=y"))
        self.api = HttpApi(settings_, lambda: self.controller)

    def post(self, body: bytes, content_type: str = "application/json") -> func.HttpResponse:
        request = func.HttpRequest(
            method="POST",
            url="http://127.0.0.1:7071/api/alerts",
            headers={"content-type": content_type, "content-length": str(len(body))},
            params={},
            route_params={},
            body=body,
        )
        return checked(request, self.api.alerts(request))

    def snapshot(self) -> tuple[object, ...]:
        return (
            self.store.load_group("default"),
            self.store.history(["default"], 1000, unmatched=True),
        )


def mutate(payload: dict[str, Any], path: list[str | int], value: object, delete: bool) -> bytes:
    """The payload with the node at `path` (clipped to what exists) replaced or deleted."""
    node: Any = copy.deepcopy(payload)
    root = node
    for step in path[:-1]:
        keys = (
            list(node)
            if isinstance(node, dict)
            else list(range(len(node)))
            if isinstance(node, list)
            else []
        )
        if not keys:
            break
        node = node[keys[hash(step) % len(keys)]]
    if isinstance(node, dict) and node:
        key = list(node)[hash(path[-1]) % len(node)] if path else next(iter(node))
        if delete:
            del node[key]
        else:
            node[key] = value
    return json.dumps(root).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEEDS),
    st.lists(st.text(max_size=8) | st.integers(0, 9), min_size=1, max_size=6),
    JSON,
    st.booleans(),
)
def test_mutated_real_payloads_never_500_and_invalid_ones_change_nothing(
    seed: dict[str, Any], path: list[str | int], value: object, delete: bool
) -> None:
    """A real-shaped payload with a field replaced or deleted: 200 or 400; a 400 writes nothing."""
    endpoint = Endpoint()
    before = endpoint.snapshot()

    response = endpoint.post(mutate(seed, path, value, delete))

    assert response.status_code in (200, 400), response.get_body()
    if response.status_code == 400:
        assert before == endpoint.snapshot()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048) | JSON.map(lambda v: json.dumps(v).encode()))
def test_junk_bodies_never_500(body: bytes) -> None:
    """Arbitrary bytes or JSON: 200 (ignored) or 400, never a server error."""
    endpoint = Endpoint()

    response = endpoint.post(body)

    assert response.status_code in (200, 400)


HOSTILE = {
    "deep nesting": (b"[" * 100_000 + b"]" * 100_000, 400),
    "huge string": (json.dumps({"schemaId": "x" * 900_000}).encode(), 200),
    "invalid utf-8": (b'{"schemaId": "\xff\xfe"}', 400),
    "duplicate keys": (b'{"schemaId": "azureMonitorCommonAlertSchema", "schemaId": "other"}', 400),
    "nul bytes": (b'{"schemaId": "\\u0000"}', 200),
    "empty": (b"", 400),
    "over 1 MiB": (b"{" + b" " * (1024 * 1024) + b"}", 413),
}


@pytest.mark.parametrize(("body", "status"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_bodies_get_the_right_4xx_and_write_nothing(body: bytes, status: int) -> None:
    """Each hostile body gets its documented status; none but the ignored ones writes a line."""
    endpoint = Endpoint()

    response = endpoint.post(body)

    assert status == response.status_code
    if status != 200:
        assert (None, []) == endpoint.snapshot()


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json; charset=utf-8", 200),
        ("text/plain", 200),
        ("application/vnd.example+json", 200),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/xml", 415),
    ],
)
def test_content_types(content_type: str, status: int) -> None:
    """JSON-ish content types are read; forms, multipart and XML are 415 and write nothing."""
    endpoint = Endpoint()

    response = endpoint.post(af.to_body(af.metric_alert()), content_type)

    assert status == response.status_code
    if status == 415:
        assert (None, []) == endpoint.snapshot()


def test_declared_oversize_is_refused_before_the_body_is_read() -> None:
    """A Content-Length above 1 MiB is 413 whatever the body holds."""
    endpoint = Endpoint()
    request = func.HttpRequest(
        method="POST",
        url="http://127.0.0.1:7071/api/alerts",
        headers={"content-type": "application/json", "content-length": str(64 * 1024 * 1024)},
        params={},
        route_params={},
        body=b"{}",
    )

    response = endpoint.api.alerts(request)

    assert 413 == response.status_code


def test_atheris_fuzzes_the_parser_without_a_crash(tmp_path: Path) -> None:
    """Coverage-guided fuzzing (atheris/libFuzzer) of parse_alert_body finds no unhandled error."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n, seed in enumerate(SEEDS):
        (corpus / f"seed{n}.json").write_bytes(af.to_body(seed))
    runs = os.environ.get("FUZZ_RUNS", "100000")

    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "fuzz_alerts.py"),
            f"-runs={runs}",
            "-max_len=8192",
            "-rss_limit_mb=2048",
            str(corpus),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert 0 == result.returncode, result.stderr[-3000:]
    assert f"Done {runs} runs" in result.stderr
