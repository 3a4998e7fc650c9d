"""The operator CLI end to end: `vi-failover` against the real function app over HTTP."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

import pytest
from azure.data.tables import TableClient
from vi_failover_client.alerts import default_tracking_id, service_health_alert
from vi_failover_client.cli import main
from vi_failover_client.cli_output import Output, status_lines

from devhost.azurite import Azurite, free_port
from shared.adapters.table_store import TableStateStore
from shared.core.decide import decide
from shared.core.failover import initial_state
from tests.clientkit import StaticCredential
from tests.core import T0, group, incident
from tests.hosting import ROOT, HostProcess
from tests.receiver import Receiver, Reply

EXAMPLE = ROOT / "examples" / "servicehealth-incident-eastus.json"
FAKE_KEY = "fAkE-kEy-0123456789abcdef"  # made up; every test's output is searched for it
MASTER_KEY = "mAsTeR-kEy-fedcba9876543210"  # made up, like FAKE_KEY
ALERT_KEY = "aLeRt-kEy-13579bdf2468ace0"
ALERT_TOKEN = "aLeRt-ToKeN-2468ace013579bdf"
BEARER = "eNtRa-ToKeN-0f1e2d3c4b5a6978"
EAST_US_TRACKING_ID = default_tracking_id(["East US"], "Incident")
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def host(azurite: Azurite, table_name: str) -> Iterator[HostProcess]:
    """The demo configuration (contoso-eastus, then contoso-westus) on the suite's Azurite."""
    with HostProcess(azurite.connection_string, table_name) as running:
        yield running


@pytest.fixture
def cli(host: HostProcess, capsys: pytest.CaptureFixture[str]) -> Iterator[Run]:
    """`vi-failover --url <host> --key <fake> ARGS…` in-process: (exit code, stdout, stderr)."""
    printed: list[str] = []

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--url", host.url, "--key", FAKE_KEY, *argv])
        captured = capsys.readouterr()
        printed.extend([captured.out, captured.err])
        return code, captured.out, captured.err

    yield run
    assert [] == [text for text in printed if FAKE_KEY in text]


def run_module(*argv: str, url: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """`python -m vi_failover_client.cli ARGS…`, with the URL and keys in the environment only."""
    env = {**os.environ, "VI_FAILOVER_URL": url, "VI_FAILOVER_KEY": FAKE_KEY, **extra}
    command = [sys.executable, "-m", "vi_failover_client.cli", *argv]
    return subprocess.run(command, check=False, capture_output=True, text=True, env=env, timeout=30)


def row(output: str, first: str) -> list[str]:
    """The words of the first output line whose first word is `first`."""
    return next(line.split() for line in output.splitlines() if line.split()[:1] == [first])


def test_status_shows_each_group_for_people_and_the_raw_json(cli: Run) -> None:
    """status: a block per group with each account's readiness, no colours off a TTY; --json."""
    code, human, _ = cli("status")
    json_code, raw, _ = cli("status", "--json")

    assert 0 == code
    assert "active:    contoso-eastus (primary), v1" in human
    assert "incidents: none open" in human
    assert ["*", "contoso-eastus", "primary", "eastus", "unknown", "-"] == row(human, "*")
    assert "\x1b[" not in human
    assert 0 == json_code
    assert ["contoso-eastus", "contoso-westus"] == [
        a["name"] for a in json.loads(raw)["groups"][0]["accounts"]
    ]


def test_a_generated_incident_fails_over_and_its_resolution_is_recorded(cli: Run) -> None:
    """send-alert --region "East US": failed_over, active names West US; --resolve: recorded."""
    code, sent, _ = cli("send-alert", "--region", "East US")
    _, active, _ = cli("active")
    resolve_code, resolved, _ = cli("send-alert", "--region", "East US", "--resolve")
    _, status, _ = cli("status", "--json")

    assert 0 == code
    assert f"sent Incident {EAST_US_TRACKING_ID} (Active)" in sent
    assert ["default", "failed_over", "contoso-eastus", "→", "contoso-westus"] == row(
        sent, "default"
    )[:5]
    assert active.startswith("default: contoso-westus (secondary, westus, v2) since ")
    assert f"is impacted by {EAST_US_TRACKING_ID}; moved to contoso-westus" in active
    assert 0 == resolve_code
    assert "outcome: recorded" in resolved
    group = json.loads(status)["groups"][0]
    assert ([], [EAST_US_TRACKING_ID]) == (
        group["openIncidents"],
        [i["key"] for i in group["closedIncidents"]],
    )


def test_a_legacy_envelope_alert_is_understood_too(cli: Run) -> None:
    """send-alert --schema legacy: the activity-log envelope fails over just the same."""
    code, sent, _ = cli("send-alert", "--region", "East US", "--schema", "legacy", "--json")

    assert (0, "failed_over") == (code, json.loads(sent)["outcome"])


def test_send_alert_posts_a_file_as_it_is(cli: Run) -> None:
    """send-alert FILE: the example's own tracking id reaches the audit trail."""
    code, sent, _ = cli("send-alert", str(EXAMPLE))
    _, history, _ = cli("history", "--json")

    assert 0 == code
    assert "outcome: failed_over" in sent
    assert [("failed_over", "VT0X-1AB")] == [
        (r["action"], r["evidence"]["trackingId"]) for r in json.loads(history)["records"]
    ]


def test_history_is_a_table_cut_to_the_terminal_width(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """history: newest first, one row per record, reasons cut to COLUMNS; --json has it whole."""
    cli("send-alert", "--region", "East US")
    cli("send-alert", "--region", "East US", "--resolve")
    monkeypatch.setenv("COLUMNS", "100")

    code, table, _ = cli("history", "--limit", "5")
    _, raw, _ = cli("history", "--group", "default", "--json")

    lines = table.splitlines()
    assert 0 == code
    assert ["TIME", "GROUP", "ACTION", "FROM", "→", "TO", "REASON"] == lines[0].split()
    assert ["recorded", "failed_over"] == [line.split()[3] for line in lines[1:]]
    assert [] == [line for line in lines if len(line) > 100]
    assert lines[2].endswith("…")
    assert ["recorded", "failed_over"] == [r["action"] for r in json.loads(raw)["records"]]


def test_a_pinned_failover_holds_until_unpinned(cli: Run) -> None:
    """failover --pin-minutes: moved and pinned; unpin: unpinned; each with its new version."""
    code, moved, _ = cli(
        "failover", "--group", "default", "--to", "contoso-westus", "--reason", "drill",
        "--pin-minutes", "30",
    )  # fmt: skip
    _, pinned, _ = cli("active", "--json")
    unpin_code, unpinned, _ = cli("unpin", "--group", "default", "--reason", "drill over")
    _, after, _ = cli("active", "--json")

    assert 0 == code
    assert moved.startswith("moved: default contoso-eastus → contoso-westus, pinned until 20")
    assert "(v2)\n  moved by developer (local, unauthenticated): drill\n" in moved
    assert (True, 2) == (json.loads(pinned)["pinned"], json.loads(pinned)["version"])
    assert 0 == unpin_code
    assert unpinned.startswith("unpinned: default on contoso-westus (v3)")
    assert (False, 3) == (json.loads(after)["pinned"], json.loads(after)["version"])


@pytest.mark.parametrize(
    "argv",
    [
        ["active", "--group", "nope"],
        ["history", "--group", "nope"],
        ["failover", "--group", "nope", "--to", "contoso-westus", "--reason", "x"],
        ["failover", "--group", "default", "--to", "contoso-nope", "--reason", "x"],
    ],
    ids=["active-group", "history-group", "failover-group", "failover-account"],
)
def test_an_unknown_group_or_account_exits_4(cli: Run, argv: list[str]) -> None:
    """404 UnknownGroup (and 400 UnknownAccount) exit 4 with the server's error and message."""
    code, out, err = cli(*argv)

    assert (4, "") == (code, out)
    assert err.startswith("vi-failover: error: 40")
    assert "Unknown" in err
    assert "nope" in err


def test_a_move_into_an_impacted_account_needs_force(cli: Run) -> None:
    """Moving back into impacted East US: 409 exits 5 and suggests --force; with --force, 0."""
    cli("send-alert", "--region", "East US")
    back = ["failover", "--group", "default", "--to", "contoso-eastus", "--reason", "back"]

    code, _, err = cli(*back)
    forced_code, forced, _ = cli(*back, "--force")

    assert 5 == code
    assert f"409 UnsafeTarget: contoso-eastus is impacted by {EAST_US_TRACKING_ID}" in err
    assert "hint: add --force" in err
    assert 0 == forced_code
    assert forced.startswith("moved: default contoso-westus → contoso-eastus (v3)")


def test_a_server_that_is_not_there_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening on the port: exit 3, saying it cannot reach the URL."""
    url = f"http://127.0.0.1:{free_port()}/api"

    code = main(["status", "--url", url, "--key", FAKE_KEY, "--request-timeout", "5"])

    err = capsys.readouterr().err
    assert 3 == code
    assert f"vi-failover: error: cannot reach {url}" in err
    assert FAKE_KEY not in err


def test_storage_down_is_a_503_that_exits_3_with_retry_after(
    table_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The app answers 503 StorageUnavailable when its table is unreachable: exit 3, Retry-After."""
    dead = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"TableEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;"
        f"QueueEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;"
    )
    with HostProcess(dead, table_name) as host:
        code = main(["--url", host.url, "active"])

    err = capsys.readouterr().err
    assert 3 == code
    assert "503 StorageUnavailable" in err
    assert "(Retry-After: 10 s)" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["history", "--limit", "0"],
        ["failover", "--group", "default", "--reason", "no target"],
        ["send-alert"],
        ["send-alert", str(EXAMPLE), "--region", "East US"],
        ["send-alert", "--region", "East US", "--incident-type", "Outage"],
        ["watch", "--interval", "-1"],
    ],
    ids=["none", "unknown", "limit", "no-to", "no-alert", "file-and-region", "type", "interval"],
)
def test_invalid_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Usage errors exit 2 before any request (the URL names a port nobody listens on)."""
    code = main(["--url", f"http://127.0.0.1:{free_port()}/api", *argv])

    assert (2, "") == (code, capsys.readouterr().out)


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--url", f"https://app.example/api?code={FAKE_KEY}"],
        ["status", "--url", "http://127.0.0.1:1/api", "--kye", FAKE_KEY],
        ["status", "--url", "http://127.0.0.1:1/api", f"--key={FAKE_KEY}", "surplus"],
    ],
    ids=["key-in-url", "misspelt-option", "surplus-argument"],
)
def test_a_usage_error_never_echoes_the_key(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A key in the URL or after a misspelt option is refused with exit 2, and never printed."""
    code = main(argv)

    captured = capsys.readouterr()
    assert 2 == code
    assert FAKE_KEY not in captured.out + captured.err


def test_send_alert_carries_the_alerts_key_and_token_never_the_readers_key() -> None:
    """send-alert sends VI_FAILOVER_ALERT_KEY as x-functions-key and the shared secret as
    ?token=; the readers' key stays home; a 503 prints Retry-After but no secret."""
    secrets = {"VI_FAILOVER_ALERT_KEY": ALERT_KEY, "VI_FAILOVER_ALERT_TOKEN": ALERT_TOKEN}
    with Receiver(Reply(503, retry_after="7")) as receiver:
        done = run_module("send-alert", "--region", "East US", url=receiver.url, **secrets)
        sent = receiver.requests

    assert 3 == done.returncode
    assert "(Retry-After: 7 s)" in done.stderr
    assert [] == [s for s in (FAKE_KEY, ALERT_KEY, ALERT_TOKEN) if s in done.stdout + done.stderr]
    assert [(f"/api/alerts?token={ALERT_TOKEN}", ALERT_KEY)] == [
        (r.path, r.headers["x-functions-key"]) for r in sent
    ]


def test_reads_take_the_readers_key_and_never_the_master_key(
    azurite: Azurite,
    table_name: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keys enforced: no key is 401 (exit 1, hinting VI_FAILOVER_KEY); the readers' key reads;
    with only the master key set, reads still go without it, so they are refused."""
    keys = {"LOCAL_FUNCTION_KEY": FAKE_KEY, "LOCAL_MASTER_KEY": MASTER_KEY}
    with HostProcess(azurite.connection_string, table_name, **keys) as host:
        monkeypatch.setenv("VI_FAILOVER_URL", host.url)
        codes = [main(["active"])]
        monkeypatch.setenv("VI_FAILOVER_KEY", FAKE_KEY)
        codes += [main(["active"]), main(["status", "--group", "default"])]
        monkeypatch.delenv("VI_FAILOVER_KEY")
        monkeypatch.setenv("VI_FAILOVER_MASTER_KEY", MASTER_KEY)
        codes.append(main(["history"]))

    captured = capsys.readouterr()
    assert [1, 0, 0, 1] == codes
    assert 2 == captured.err.count("error: 401 Unauthorized\nhint: check VI_FAILOVER_KEY")
    assert [] == [k for k in (FAKE_KEY, MASTER_KEY) if k in captured.out + captured.err]


MOVE = ["failover", "--group", "default", "--to", "contoso-westus", "--reason", "drill"]


def test_an_operator_moves_with_an_entra_id_token_for_the_audience(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With VI_FAILOVER_AUDIENCE, failover asks the credential for <audience>/.default and sends
    it as a bearer to POST /api/failover; neither key goes along, and the token is not printed."""
    credential = StaticCredential(BEARER)
    monkeypatch.setenv("VI_FAILOVER_AUDIENCE", "api://vi-failover")
    monkeypatch.setenv("VI_FAILOVER_MASTER_KEY", MASTER_KEY)
    with Receiver(Reply(200)) as receiver:
        code = main(["--url", receiver.url, "--key", FAKE_KEY, *MOVE], credential=credential)
        sent = receiver.requests

    printed = capsys.readouterr()
    assert 0 == code
    assert [("api://vi-failover/.default",)] == credential.scopes
    assert [("/api/failover", f"Bearer {BEARER}", None)] == [
        (r.path, r.headers.get("Authorization"), r.headers.get("x-functions-key")) for r in sent
    ]
    assert {"group": "default", "to": "contoso-westus", "reason": "drill", "force": False} == (
        sent[0].body
    )
    assert BEARER not in printed.out + printed.err


def test_the_master_key_is_break_glass_on_its_own_route(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an audience, VI_FAILOVER_MASTER_KEY sends pin and unpin to
    POST /api/failover/break-glass with the master key, and a 401 hints at signing in."""
    monkeypatch.setenv("VI_FAILOVER_MASTER_KEY", MASTER_KEY)
    with Receiver(Reply(200), Reply(401)) as receiver:
        codes = [
            main(["--url", receiver.url, "pin", "--group", "default", "--reason", "hold"]),
            main(["--url", receiver.url, "unpin", "--group", "default", "--reason", "done"]),
        ]
        sent = receiver.requests

    err = capsys.readouterr().err
    assert [0, 1] == codes
    assert [("/api/failover/break-glass", MASTER_KEY)] * 2 == [
        (r.path, r.headers.get("x-functions-key")) for r in sent
    ]
    assert [
        {"group": "default", "reason": "hold", "pin": True},
        {"group": "default", "reason": "done", "pin": False},
    ] == [r.body for r in sent]
    assert "hint: set VI_FAILOVER_AUDIENCE" in err
    assert MASTER_KEY not in err


def test_a_key_over_plain_http_to_another_host_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """http to a host other than loopback with a key: exit 2, naming the setting; nothing sent."""
    code = main(["--url", "http://app.example/api", "--key", FAKE_KEY, "status"])

    err = capsys.readouterr().err
    assert 2 == code
    assert "VI_FAILOVER_URL: https is required to send a key or token to app.example" in err


def test_errors_under_json_are_one_json_object(cli: Run) -> None:
    """--json: an unknown group is {"error": "UnknownGroup", "exitCode": 4, …} on stderr."""
    code, out, err = cli("active", "--group", "nope", "--json")
    status_code, _, status_err = cli("status", "--group", "nope", "--json")

    error = json.loads(err)
    assert (4, "") == (code, out)
    assert ("UnknownGroup", 4, 404) == (error["error"], error["exitCode"], error["status"])
    assert "nope" in error["message"]
    assert (4, "UnknownGroup") == (status_code, json.loads(status_err)["error"])


def test_status_takes_a_group_and_pin_holds_it_in_place(cli: Run) -> None:
    """status --group: that group only; pin --minutes pins the active account without a move."""
    code, human, _ = cli("status", "--group", "default")
    pin_code, pinned, _ = cli("pin", "--group", "default", "--minutes", "30", "--reason", "hold")
    _, active, _ = cli("active", "--json")

    assert (0, 0) == (code, pin_code)
    assert "group default" in human
    assert pinned.startswith("pinned: default on contoso-eastus, pinned until 20")
    assert (True, "contoso-eastus") == (
        json.loads(active)["pinned"],
        json.loads(active)["account"]["name"],
    )


def test_active_reads_the_table_when_the_api_does_not_answer(
    azurite: Azurite,
    table_name: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """VI_FAILOVER_STORAGE: with the API down, `active` reads the entity and says so; with no
    URL at all it reads the table directly."""
    grp = group()
    state = decide(incident(), grp, initial_state(grp, T0), T0, "1").new_state
    assert state is not None
    table = TableClient.from_connection_string(azurite.connection_string, table_name)
    TableStateStore(table).save(grp, None, state, [])
    monkeypatch.setenv("VI_FAILOVER_STORAGE", azurite.connection_string)
    monkeypatch.setenv("VI_FAILOVER_TABLE", table_name)
    monkeypatch.setenv("VI_FAILOVER_GROUP", "default")
    down = f"http://127.0.0.1:{free_port()}/api"

    fallback = main(["--url", down, "active"])
    fallback_out = capsys.readouterr()
    direct = main(["active", "--json"])
    direct_out = capsys.readouterr()

    assert (0, 0) == (fallback, direct)
    assert fallback_out.out.startswith("default: contoso-westus (secondary, westus, v2)")
    assert f"cannot reach {down}" in fallback_out.err
    assert "read from table:primary instead" in fallback_out.err
    assert ("table:primary", 2) == (
        json.loads(direct_out.out)["source"],
        json.loads(direct_out.out)["version"],
    )
    assert "AccountKey" not in fallback_out.err + direct_out.err


def test_version_names_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints `vi-failover <version>` and exits 0 without a URL."""
    code = main(["--version"])

    assert (0, f"vi-failover {version('vi-failover-client')}\n") == (code, capsys.readouterr().out)


def test_the_module_runs_as_a_program_with_the_url_from_the_environment(
    host: HostProcess,
) -> None:
    """python -m vi_failover_client.cli active: VI_FAILOVER_URL is enough; --help lists exits."""
    done = run_module("active", url=host.url)
    helped = run_module("--help", url=host.url)

    assert (0, "") == (done.returncode, done.stderr)
    assert done.stdout.startswith("default: contoso-eastus (primary, eastus, v1) since ")
    assert 0 == helped.returncode
    assert "5  refused as unsafe (409 UnsafeTarget)" in helped.stdout


def test_watch_prints_a_change_made_while_it_runs(
    host: HostProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    """watch --count 1: the start line, then the failover a concurrent send-alert makes; exit 0."""
    env = {**os.environ, "VI_FAILOVER_URL": host.url, "VI_FAILOVER_KEY": FAKE_KEY}
    command = [sys.executable, "-m", "vi_failover_client.cli", "watch", "--interval", "0.1"]
    codes: list[int] = []
    sender = threading.Thread(
        target=lambda: codes.append(main(["--url", host.url, "send-alert", "--region", "East US"]))
    )
    with subprocess.Popen(
        [*command, "--count", "1", "--timeout", "15"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as watch:
        assert watch.stdout is not None
        start = watch.stdout.readline()  # the watch has its starting point: now change it
        sender.start()
        rest, err = watch.communicate(timeout=20)
    sender.join(timeout=20)

    assert [0] == codes
    assert (0, "") == (watch.returncode, err)
    assert "default: contoso-eastus (primary, eastus, v1)" in start
    change = "default: contoso-eastus → contoso-westus (secondary, westus, v2) — contoso-eastus"
    reason = f" is impacted by {EAST_US_TRACKING_ID}; moved to contoso-westus"
    assert [change + reason] == [line.split("Z  ", 1)[1] for line in rest.splitlines()]
    assert FAKE_KEY not in start + rest + err + capsys.readouterr().out


def test_a_resolution_is_a_later_update_of_the_same_incident() -> None:
    """--resolve builds the same tracking id, stage and status Resolved, a later update id."""
    opened_at = datetime(2026, 11, 20, 10, 4, 17, 339184, tzinfo=UTC)
    opened = service_health_alert(regions=["East US"], now=opened_at)
    closed = service_health_alert(
        regions=["east us"], now=opened_at + timedelta(minutes=90), resolve=True
    )

    before, after = (json.loads(json.dumps(a))["data"]["alertContext"] for a in (opened, closed))
    assert (EAST_US_TRACKING_ID, EAST_US_TRACKING_ID) == (
        before["properties"]["trackingId"],
        after["properties"]["trackingId"],
    )
    assert ("Active", "Resolved", "Resolved") == (
        before["status"],
        after["status"],
        after["properties"]["stage"],
    )
    assert "2026-11-20T10:04:17.3391840Z" == before["eventTimestamp"]
    assert int(after["properties"]["communicationId"]) > int(
        before["properties"]["communicationId"]
    )


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        """Yes."""
        return True


@pytest.mark.parametrize(
    ("stream", "no_color", "expected"),
    [
        (_Terminal(), False, "\x1b[33mfailed_over\x1b[0m"),
        (_Terminal(), True, "failed_over"),
        (io.StringIO(), False, "failed_over"),
    ],
    ids=["terminal", "no-color", "pipe"],
)
def test_colours_only_on_a_terminal_without_no_color(
    stream: io.StringIO, no_color: bool, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outcomes are coloured on a terminal; NO_COLOR or a pipe gets plain text."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")

    Output(stream, stream).line(Output(stream, stream).paint("failed_over", "failed_over"))

    assert expected + "\n" == stream.getvalue()


def test_status_of_a_shadow_group_says_where_the_controller_would_have_put_it() -> None:
    """mode shadow: the line names the would-be account and since when apps differ from it;
    when both agree it says so; an active group has no mode line."""
    stream = io.StringIO()
    out = Output(stream, stream)
    base = {"group": "g", "account": {"name": "east"}, "role": "primary", "version": 1}
    apart = {
        **base,
        "mode": "shadow",
        "wouldBeAccount": "west",
        "apartSince": "2030-01-01T00:00:00Z",
    }
    agree = {**base, "mode": "shadow", "wouldBeAccount": "east", "apartSince": None}
    body = {"time": "2030-01-01T00:05:00Z", "groups": [apart, agree, {**base, "mode": "active"}]}

    modes = [line.strip() for line in status_lines(body, out) if "mode:" in line]

    assert [
        "mode:      shadow (would be on west since 2030-01-01 00:00:00Z, 5m ago; nothing moved)",
        "mode:      shadow (would also be on east)",
    ] == modes
