"""Reading what `vi-failover replay` replays: alert files, a folder of them, or JSON Lines."""

from __future__ import annotations

import json
from pathlib import Path

from shared.core.replay_input import Delivery, ReplayInputError, delivery_of

LINES_SUFFIXES = (".jsonl", ".ndjson")


def load_history(path: Path) -> list[Delivery]:
    """Every delivery in a folder of `*.json` files, a JSON Lines file, or one JSON file (an
    alert, or a list of alerts). ReplayInputError names the file (and line) that is wrong."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise ReplayInputError(f"{path}: the folder holds no *.json file")
        return [d for f in files for d in _json_file(f)]
    if path.suffix.lower() in LINES_SUFFIXES:
        return _lines(path)
    return _json_file(path)


def load_json(path: Path, what: str) -> object:
    """A JSON file; ReplayInputError names it when it cannot be read or decoded."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ReplayInputError(f"{what} {path}: cannot read it: {exc.strerror}") from None
    except ValueError as exc:
        raise ReplayInputError(f"{what} {path}: not valid JSON: {exc}") from None


def _json_file(path: Path) -> list[Delivery]:
    raw = load_json(path, "alert file")
    if isinstance(raw, list):
        return [delivery_of(item, f"{path.name}[{n}]") for n, item in enumerate(raw)]
    return [delivery_of(raw, path.name)]


def _lines(path: Path) -> list[Delivery]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ReplayInputError(f"history {path}: cannot read it: {exc.strerror}") from None
    found = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ReplayInputError(f"{path}:{n}: not valid JSON: {exc}") from None
        found.append(delivery_of(item, f"{path.name}:{n}"))
    if not found:
        raise ReplayInputError(f"{path}: no alert in it")
    return found
