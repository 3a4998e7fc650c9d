"""The audit trail keeps each alert's signal, bounded, and `history --export` turns it back into
alerts that the app's parser reads as the same signal."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from vi_failover_client.history_export import alert_of, export_lines, readiness_events

from shared.adapters.table_records import audit_entity, audit_from
from shared.core.alerts import parse_alert
from shared.core.limits import MAX_STRING_UNITS, utf16_units
from shared.core.model import Signal
from shared.core.replay_input import delivery_of, readiness_windows
from shared.core.signal_json import SIGNAL_UNITS, signal_json, signal_text, watched_first
from shared.core.state import AuditRecord
from tests import alertfactory as af
from tests.core import T0

HISTORY = Path(__file__).resolve().parent.parent / "examples" / "replay"
FILES = sorted(HISTORY.glob("*.json"))


def parsed(payload: object) -> Signal:
    signal = parse_alert(payload)
    assert isinstance(signal, Signal)
    return signal


@pytest.mark.parametrize("file", FILES, ids=[f.stem for f in FILES])
def test_an_exported_alert_parses_back_into_the_signal_it_came_from(file: Path) -> None:
    """Service Health and Resource Health, common, legacy, test-button and exported events."""
    signal = parsed(delivery_of(json.loads(file.read_text("utf-8")), file.name).payload)

    again = parsed(alert_of(signal_json(signal), "2026-03-02T09:12:41+00:00"))

    assert signal == again


def test_an_audit_line_keeps_its_signal_through_the_table_entity() -> None:
    """What the store writes and reads back is the signal as parsed."""
    signal = parsed(af.service_health(stage="Resolved"))
    record = AuditRecord("default", T0, "recorded", "a", "a", "why", "alert", "d.recorded")

    again = audit_from(audit_entity(replace(record, signal=signal)))

    assert signal == again.signal


def test_a_huge_signal_is_cut_to_fit_keeping_the_watched_service() -> None:
    """65 services in 60 regions and a 40,000-character title: kept within 32 KiB, marked cut,
    Video Indexer (listed first by the app) kept with East US."""
    big = parsed(af.big_service_health())
    signal = watched_first(replace(big, title="T" * 40_000), ["video indexer"])

    text = signal_text(signal)

    kept = json.loads(text)
    assert utf16_units(text) <= SIGNAL_UNITS < MAX_STRING_UNITS
    assert True is kept["cut"]
    assert ("Azure AI Video Indexer", "East US") == (
        kept["services"][0]["name"],
        kept["services"][0]["regions"][0],
    )


def test_a_signal_that_fits_is_kept_whole() -> None:
    """No marker, nothing cut."""
    signal = parsed(af.service_health())

    assert "cut" not in json.loads(signal_text(signal))


def test_export_writes_each_update_once_oldest_first_when_first_received() -> None:
    """One update audited for two groups, then re-delivered: one line, at its first receipt;
    lines without a kept signal (readiness, manual moves) are left out."""
    signal = signal_json(parsed(af.service_health()))
    times = ["10:00:00", "09:00:01", "09:00:00.2", "09:00:00.1"]  # newest first, as served
    kept = [signal, None, signal, signal]
    records = [
        {"time": f"2026-03-02T{t}+00:00", "evidence": {"parsed": p}}
        for t, p in zip(times, kept, strict=True)
    ]

    lines = export_lines(records)

    assert ["2026-03-02T09:00:00.1+00:00"] == [line["receivedAt"] for line in lines]


def test_readiness_windows_are_exported_from_the_timers_audit_lines() -> None:
    """Two groups audit the same probes: one window per failing spell, closed by the next
    change, the last one open; replay reads the file as its readiness events."""
    lines = [
        ("09:20:00.2", "g2", "contoso-westus: unreachable → healthy: VI GET /Videos → 200"),
        ("09:20:00.1", "g1", "contoso-westus: unreachable → healthy: VI GET /Videos → 200"),
        ("09:10:00.1", "g1", "contoso-westus: degraded → unreachable: VI GET /Videos → 503"),
        ("09:05:00.2", "g2", "contoso-westus: healthy → degraded: VI GET /Videos → 200 in 4 s"),
        ("09:05:00.1", "g1", "contoso-westus: healthy → degraded: VI GET /Videos → 200 in 4 s"),
        ("09:00:00.1", "g1", "contoso-eastus: unknown → unauthorized: ARM → 403"),
    ]
    records = [
        {"time": f"2026-03-02T{t}+00:00", "group": g, "action": "readiness", "reason": r}
        for t, g, r in lines
    ]

    events = readiness_events(records)

    assert [
        ("contoso-eastus", "09:00:00.1", None, "unauthorized"),
        ("contoso-westus", "09:05:00.1", "09:10:00.1", "degraded"),
        ("contoso-westus", "09:10:00.1", "09:20:00.1", "unreachable"),
    ] == [
        (e["account"], e["from"][11:21], e.get("to", "")[11:21] or None, e["status"])
        for e in events
    ]
    windows = readiness_windows({"events": events}, "r.json", ["contoso-eastus", "contoso-westus"])
    assert "VI GET /Videos → 503" == windows[2].evidence
