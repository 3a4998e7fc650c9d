"""`vi-failover replay`: the client's CLI replays alert histories offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from vi_failover_client.cli import main

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "examples" / "replay"
DEMO = ROOT / "devhost" / "demo-config.json"
AUTO = ROOT / "examples" / "config-auto-failback.json"
READINESS = ROOT / "examples" / "replay-readiness.json"


def python(script: str, *path: Path) -> subprocess.CompletedProcess[str]:
    """`script` in a fresh interpreter, importing from `path` (the client first)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in path)}
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT / "client",
        timeout=60,
        check=False,
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["replay", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            ["--readiness", str(READINESS)],
            [
                "group default",
                "2026-03-02 09:12  blocked     on contoso-eastus                  "
                "ServiceHealth RPL4-8QK Incident (active)  [01-incident-eastus.json]",
                "2026-03-02 09:20  failed_over contoso-eastus → contoso-westus    readiness tick",
                "summary: 2 moves (2 failovers, 0 automatic failbacks); time on contoso-eastus "
                "4h 54m, contoso-westus 3d 16h 51m; blocked 1h 41m; ends on contoso-eastus",
                "synthetic test alert that names no configured account",
            ],
        ),
        (
            ["--compare", str(AUTO)],
            [
                "automatic failbacks                0                                1   ≠",
                "where they differ (2):",
                "config-auto-failback.json: failed_back contoso-westus → contoso-eastus",
                "demo-config.json: failed_over contoso-westus → contoso-eastus",
            ],
        ),
    ],
    ids=["timeline-with-a-standby-down", "compare-manual-and-auto-failback"],
)
def test_replay_prints_timelines_with_reasons_and_summaries_or_two_policies_side_by_side(
    capsys: pytest.CaptureFixture[str], extra: list[str], expected: list[str]
) -> None:
    """The standby down at first blocks the failover and the tick after it completes it; with
    --compare, manual failback against automatic failback on the same history."""
    code, out, _ = run(capsys, str(HISTORY), "--config", str(DEMO), *extra)

    assert (0, []) == (code, [line for line in expected if line not in out])


def test_replay_json_gives_tools_the_timeline_and_the_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--json: per group, the summary and every step with its reason."""
    code, out, _ = run(capsys, str(HISTORY), "--config", str(DEMO), "--json")

    body = json.loads(out)
    group = body["groups"][0]
    assert 0 == code
    assert {
        "active": "contoso-eastus",
        "moves": 2,
        "failovers": 2,
        "automaticFailbacks": 0,
        "minutesOn": {"contoso-eastus": 274.2, "contoso-westus": 5337.8},
        "minutesBlocked": 93.9,
    } == {k: v for k, v in group["summary"].items() if k != "incidents"}
    moves = [(s["source"], s["to"]) for s in group["timeline"] if s["action"] == "failed_over"]
    assert [
        ("01-incident-eastus.json", "contoso-westus"),
        ("06-westus-unavailable.json", "contoso-eastus"),
    ] == moves
    assert ["03-test-button.json"] == [s["source"] for s in body["unmatched"]]


def test_compare_json_lists_the_differences(capsys: pytest.CaptureFixture[str]) -> None:
    """--compare --json: both runs, and the differing decisions paired."""
    code, out, _ = run(
        capsys, str(HISTORY), "--config", str(DEMO), "--compare", str(AUTO), "--json"
    )

    body = json.loads(out)
    assert 0 == code
    assert [("tick", None, "failed_back"), ("06-westus-unavailable.json", "failed_over",
            "recorded")] == [
        (d["source"], (d["first"] or {}).get("action"), (d["second"] or {}).get("action"))
        for d in body["differences"]
    ]  # fmt: skip
    assert ("demo-config.json", "config-auto-failback.json") == (
        body["first"]["config"],
        body["second"]["config"],
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.jsonl", "--config", str(DEMO)], "missing.jsonl: cannot read it"),
        ([str(HISTORY), "--config", str(ROOT / "README.md")], "config"),
        ([str(HISTORY), "--config", str(DEMO), "--readiness", str(DEMO)], "expected a list"),
        ([str(ROOT / "devhost"), "--config", str(DEMO)], "neither an alert"),
        ([str(HISTORY), "--config", str(DEMO), "--tick-minutes", "7"], "divide 60"),
    ],
    ids=["no-history", "config-not-json", "readiness-not-events", "not-alerts", "tick-of-7"],
)
def test_input_replay_cannot_read_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Nothing is replayed; stderr says which file and what is wrong."""
    code, out, err = run(capsys, *argv)

    assert (2, "") == (code, out)
    assert message in err


def test_a_bad_config_key_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The config is validated as the app does it: the bad key is named."""
    raw = json.loads(DEMO.read_text(encoding="utf-8"))
    raw["policy"]["failbak"] = "auto"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")

    code, _, err = run(capsys, str(HISTORY), "--config", str(bad))

    assert 2 == code
    assert "policy.failbak: unknown key" in err


def test_replay_loads_no_app_dependency_and_opens_no_connection() -> None:
    """Run in a fresh interpreter: the function app's SDKs and the app's shell stay unloaded,
    and an audit hook that refuses every socket connection is never tripped."""
    script = textwrap.dedent(
        f"""
        import json, sys
        def refuse(event, args):
            if event in ("socket.connect", "socket.getaddrinfo"):
                raise RuntimeError(f"replay opened a connection: {{args!r}}")
        sys.addaudithook(refuse)
        from vi_failover_client.cli import main
        code = main(["replay", {str(HISTORY)!r}, "--config", {str(DEMO)!r}, "--json"])
        banned = ("azure.functions", "azure.identity", "azure.mgmt", "jwt", "shared.adapters",
                  "shared.app", "shared.http", "shared.wiring", "shared.settings")
        loaded = sorted(m for m in sys.modules if m.startswith(banned))
        print(json.dumps({{"code": code, "loaded": loaded}}), file=sys.stderr)
        """
    )

    result = python(script, ROOT / "client", ROOT)

    assert {"code": 0, "loaded": []} == json.loads(result.stderr.strip().splitlines()[-1])
    assert '"group": "default"' in result.stdout


def test_without_the_core_package_replay_says_what_to_install() -> None:
    """A client installed alone: the other commands' parser still loads, and replay exits 2
    naming the package (the core made unimportable, as Python does for a module set to None)."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["shared"] = None
        from vi_failover_client.cli import main
        sys.exit(main(["replay", {str(HISTORY)!r}, "--config", {str(DEMO)!r}]))
        """
    )

    result = python(script, ROOT / "client")

    assert (2, "") == (result.returncode, result.stdout)
    assert "pip install ./core" in result.stderr


def test_send_alert_history_refuses_an_unreadable_history_and_a_mixed_request(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`send-alert --history` reads the history before posting anything: a broken line is
    exit 2 naming it, and --history beside FILE or --region is a usage error (nothing sent:
    the URL answers nothing)."""
    broken = tmp_path / "history.jsonl"
    broken.write_text("\nnot json\n")  # line 1 blank, line 2 broken
    url = "http://127.0.0.1:9/api"  # the discard port: a request would fail, not hang

    codes = [
        main(["--url", url, "send-alert", "--history", str(broken)]),
        main(["--url", url, "send-alert", "--history", str(HISTORY), "--region", "East US"]),
    ]
    err = capsys.readouterr().err

    assert [2, 2] == codes
    assert "history.jsonl:2: not valid JSON" in err
    assert "give --history alone, without FILE or --region" in err
