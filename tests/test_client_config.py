"""Misconfiguration fails fast and loudly; an unknown group after a value is held does not stop
indexing; settings come from the same VI_FAILOVER_* variables as the CLI's; secrets stay hidden.

Real parts: a local HTTP server speaking the endpoint's wire format, and the suite's Azurite.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AzureSasCredential
from vi_failover_client import (
    ActiveAccountClient,
    ActiveAccountUnavailableError,
    ConfigurationError,
    InsecureURLError,
    Problem,
    Secret,
    Settings,
    TableSource,
    UnknownGroupError,
)

from devhost.azurite import Azurite
from tests.activeaccount_server import ActiveAccountServer, view
from tests.clientkit import FakeClock, dead_table, dead_url

FUNCTION_KEY = "fk-config-5b1c9e2d7a3f4e60"
SAS_SIGNATURE = "c2VjcmV0LXNhcy1zaWduYXR1cmU"


@pytest.fixture
def endpoint() -> Iterator[ActiveAccountServer]:
    """The active-account endpoint's wire format on a local port: contoso-eastus, version 1."""
    with ActiveAccountServer() as server:
        yield server


def started(**options: Any) -> ActiveAccountClient:
    """A client for group default that never draws jitter."""
    return ActiveAccountClient(group="default", draw=lambda: 0.0, **options)


# --- at start: a configuration error naming the source -----------------------------------------


def test_a_refused_key_at_start_is_a_configuration_error_naming_the_endpoint(
    endpoint: ActiveAccountServer, tmp_path: Path
) -> None:
    """401 at start raises ConfigurationError, even with a last-known-good file to fall back on."""
    lkg = tmp_path / "active.json"
    with started(endpoints=[endpoint.url], last_known_good=lkg) as writer:
        writer.get()  # writes the file
    endpoint.serve(status=401)
    client = started(endpoints=[endpoint.url], function_key=FUNCTION_KEY, last_known_good=lkg)

    with pytest.raises(ConfigurationError) as raised:
        client.get()
    client.close()

    assert [(f"endpoint:{endpoint.url}", "answered 401")] == [
        (source, why[: len("answered 401")]) for source, why in raised.value.problems
    ]
    assert "VI_FAILOVER_KEY" in str(raised.value)
    assert FUNCTION_KEY not in str(raised.value)


def test_a_url_without_the_api_route_is_a_configuration_error(
    endpoint: ActiveAccountServer,
) -> None:
    """A base URL whose active-account route answers 404 (not UnknownGroup) names the URL."""
    wrong = endpoint.url.removesuffix("/api") + "/functions"
    client = started(endpoints=[wrong])

    with pytest.raises(ConfigurationError) as raised:
        client.wait_until_ready(10)
    client.close()

    assert f"endpoint:{wrong}: answered 404: no active-account route here" in str(raised.value)


def test_a_wrong_table_name_at_start_fails_even_when_the_endpoint_answers(
    endpoint: ActiveAccountServer, azurite: Azurite, table_name: str
) -> None:
    """A table that does not exist is found at start, though the endpoint would have answered."""
    table = TableSource.from_connection_string(azurite.connection_string, table_name=table_name)
    client = started(endpoints=[endpoint.url], table=table)

    with pytest.raises(ConfigurationError) as raised:
        client.wait_until_ready(10)
    status = client.status()
    client.close()

    assert [("table:primary", True)] == [
        (source, why.startswith("no such table")) for source, why in raised.value.problems
    ]
    assert (False, ["misconfigured"]) == (status.ready, [p.kind for p in status.problems])


def test_an_unknown_group_at_start_names_the_source(endpoint: ActiveAccountServer) -> None:
    """404 UnknownGroup at start raises UnknownGroupError, a ConfigurationError, naming it."""
    client = ActiveAccountClient(group="tenant-b", endpoints=[endpoint.url])

    with pytest.raises(UnknownGroupError) as raised:
        client.get()
    with pytest.raises(UnknownGroupError) as again:
        client.get()
    client.close()

    assert isinstance(raised.value, ConfigurationError)
    assert f"endpoint:{endpoint.url}: unknown group 'tenant-b'" in str(raised.value)
    assert again.value is not raised.value


# --- after a value is held: loud, but indexing goes on -----------------------------------------


def test_an_unknown_group_after_a_value_is_held_keeps_serving_it_marked(
    endpoint: ActiveAccountServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A config deploy that drops the group: the held value serves on, group_unknown, with an
    error log, a problem callback and status; the last-known-good file is kept."""
    clock, problems = FakeClock(), list[Problem]()
    lkg = tmp_path / "active.json"
    client = started(
        endpoints=[endpoint.url], last_known_good=lkg, clock=clock, on_problem=problems.append
    )
    first = client.get()
    saved = lkg.read_text()
    endpoint.serve(view(group="someone-else"))

    clock.advance(11)
    client.refresh()
    marked = client.get()
    status = client.status()
    clock.advance(11)
    client.refresh()
    endpoint.serve(view("contoso-eastus", 1))
    clock.advance(11)
    client.refresh()
    known_again = client.get()
    client.close()

    assert (first.name, first.version, True) == (marked.name, marked.version, marked.group_unknown)
    assert (True, ["unknown-group"]) == (status.group_unknown, [p.kind for p in status.problems])
    assert [("unknown-group", f"endpoint:{endpoint.url}")] == [(p.kind, p.source) for p in problems]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert 1 == len(errors)
    assert "serving the last value held" in errors[0]
    assert saved == lkg.read_text() or json.loads(lkg.read_text())["version"] == 1
    assert not known_again.group_unknown


def test_a_key_refused_after_a_value_is_held_is_reported_not_fatal(
    endpoint: ActiveAccountServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A rotated key: the held value serves on; one error log and one problem, not one per try."""
    clock, problems = FakeClock(), list[Problem]()
    client = started(endpoints=[endpoint.url], clock=clock, on_problem=problems.append)
    client.get()
    endpoint.serve(status=403)

    for _ in range(3):
        clock.advance(11)
        client.refresh()
    held = client.get()
    client.close()

    assert "contoso-eastus" == held.name
    assert ["misconfigured", "unavailable"] == [p.kind for p in problems]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert 1 == len(errors)
    assert "answered 403: the function key was refused" in errors[0]


# --- the last-known-good file belongs to its source and group ----------------------------------


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        pytest.param(
            {"writer": {"source": "endpoint:https://staging.example/api", "group": "default"}},
            "not used: written from endpoint:https://staging.example/api",
            id="another source",
        ),
        pytest.param(
            {"writer": {"source": "<same>", "group": "tenant-b"}},
            "not used: written for group 'tenant-b'",
            id="another group",
        ),
        pytest.param({"format": 1}, "not used: format 1", id="an older client's file"),
    ],
)
def test_a_last_known_good_file_from_another_source_or_group_is_not_used(
    tmp_path: Path, edit: dict[str, Any], reason: str
) -> None:
    """With every source down at start, a file another source or group wrote is refused."""
    lkg = tmp_path / "active.json"
    down = dead_url()
    with (
        ActiveAccountServer() as healthy,
        started(endpoints=[healthy.url], last_known_good=lkg) as writer,
    ):
        writer.get()
    body = json.loads(lkg.read_text())
    if edit.get("writer", {}).get("source") == "<same>":
        edit = {"writer": {**edit["writer"], "source": f"endpoint:{down}"}}
    lkg.write_text(json.dumps({**body, **edit}))

    refusing = started(endpoints=[down], last_known_good=lkg)
    with pytest.raises(ActiveAccountUnavailableError) as raised:
        refusing.wait_until_ready(10)
    refusing.close()
    body["writer"]["source"] = f"endpoint:{down}"
    lkg.write_text(json.dumps(body))
    with started(endpoints=[down], last_known_good=lkg) as same_source:
        accepted = same_source.get()

    assert raised.value.failures[-1][1].startswith(reason)
    assert ("last-known-good", True) == (accepted.source, accepted.stale)


# --- construction, settings and secrets --------------------------------------------------------


def test_a_key_over_plain_http_to_another_host_is_refused() -> None:
    """The function key or a table credential may travel over http to loopback only."""
    with pytest.raises(InsecureURLError) as endpoint_error:
        started(endpoints=["http://app.example/api"], function_key=FUNCTION_KEY)
    with pytest.raises(InsecureURLError) as table_error:
        TableSource(primary_endpoint="http://acct.example", credential=AzureSasCredential("s"))
    keyless = started(endpoints=["http://app.example/api"], timeout=0.1)
    keyless.close()

    assert "https is required" in str(endpoint_error.value)
    assert "VI_FAILOVER_URL" in str(endpoint_error.value)
    assert "table primary_endpoint" in str(table_error.value)


def test_settings_come_from_the_same_variables_and_url_rules_as_the_cli(tmp_path: Path) -> None:
    """from_env: VI_FAILOVER_URL (a bare host gets /api), _KEY, _GROUP, _STORAGE, _TABLE, …"""
    environ = {
        "VI_FAILOVER_URL": "https://app-a.example, https://app-b.example/api/",
        "VI_FAILOVER_KEY": FUNCTION_KEY,
        "VI_FAILOVER_GROUP": "default",
        "VI_FAILOVER_STORAGE": (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;"
            "EndpointSuffix=core.windows.net"
        ),
        "VI_FAILOVER_TABLE": "State",
        "VI_FAILOVER_LAST_KNOWN_GOOD": str(tmp_path / "lkg.json"),
        "VI_FAILOVER_TTL": "30",
    }

    settings = Settings.from_env(environ)
    arguments = settings.client_arguments()
    client = ActiveAccountClient.from_env(environ, timeout=0.1)

    assert ("https://app-a.example/api", "https://app-b.example/api") == settings.urls
    assert (FUNCTION_KEY, "default", 30.0) == (
        arguments["function_key"],
        arguments["group"],
        arguments["ttl"],
    )
    assert ("https://acct.table.core.windows.net", "State") == (
        arguments["table"].primary_endpoint,
        arguments["table"].table_name,
    )
    assert FUNCTION_KEY not in repr(settings) + repr(client)
    assert "a2V5" not in repr(settings)
    client.close()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("VI_FAILOVER_URL", "https://app.example/api?code=secret", "leave the key out"),
        ("VI_FAILOVER_TTL", "soon", "VI_FAILOVER_TTL"),
        ("VI_FAILOVER_ARM_URL", "http://arm.example", "https is required"),
        ("VI_FAILOVER_ARM_TOKEN", "t", "local ARM stand-in only"),
        ("VI_FAILOVER_API_VERSION", "latest", "VI_FAILOVER_API_VERSION"),
    ],
)
def test_a_bad_setting_fails_naming_the_variable(name: str, value: str, message: str) -> None:
    """A bad VI_FAILOVER_* value raises at once, naming it, without echoing a secret."""
    with pytest.raises(ValueError, match=message) as raised:
        Settings.from_env({name: value})

    assert "secret" not in str(raised.value)


def test_secrets_stay_out_of_reprs_errors_and_logs(
    endpoint: ActiveAccountServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The function key and a SAS are never in a repr, an error, a failure reason or a log."""
    caplog.set_level(logging.DEBUG)
    endpoint.serve(status=503)
    sas = f"sv=2025-01-05&ss=t&srt=o&sp=r&se=2030-01-01T00%3A00%3A00Z&sig={SAS_SIGNATURE}"
    table = dead_table(credential=AzureSasCredential(sas))
    client = started(endpoints=[endpoint.url], function_key=FUNCTION_KEY, table=table)

    with pytest.raises(ActiveAccountUnavailableError) as raised:
        client.get()
    text = " ".join(
        [
            *(str(raised.value), str(raised.value.failures), caplog.text),
            *(repr(client), repr(table), repr(client.status())),
            *(repr(Secret(FUNCTION_KEY)), str(Secret(FUNCTION_KEY))),
        ]
    )
    client.close()

    assert FUNCTION_KEY == endpoint.seen[0].headers.get("x-functions-key")  # it was sent
    assert FUNCTION_KEY not in text
    assert SAS_SIGNATURE not in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"table": dead_table()}, "group", id="table without group"),
        pytest.param({}, "at least one live source", id="no source"),
        pytest.param({"last_known_good": "f.json"}, "live source", id="only a file"),
        pytest.param({"endpoints": "http://x/api"}, "list of base URLs", id="one string"),
        pytest.param({"endpoints": ["http://x/api"], "ttl": -1}, "ttl", id="negative ttl"),
        pytest.param({"endpoints": ["ftp://x/api"]}, "give the API base", id="not http"),
    ],
)
def test_a_bad_configuration_fails_at_construction(kwargs: dict[str, Any], message: str) -> None:
    """Mistakes in the client's arguments surface when it is built, naming the argument."""
    with pytest.raises((ValueError, TypeError)) as raised:
        ActiveAccountClient(**kwargs)

    assert message in str(raised.value)
