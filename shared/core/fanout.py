"""A mass fan-out: an alert that touches many groups is accepted durably, then applied in batches.

The webhook must answer the action group within 10 s, and a regional outage can touch thousands
of groups. Above `inline_groups` touched groups, the alert's delivery does not apply the update
itself: it puts the update on a queue in batches of groups (`FanoutBatch`), records that it was
accepted (`FanoutJob`), and answers. The queue-triggered function applies each batch, and the
queue redelivers a batch whose function failed. Applying an update to a group twice is harmless
(the second time is `duplicate`), so neither a redelivered batch nor a re-sent alert repeats a
move, and a batch is only removed from the queue once it has been applied.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.core.model import Signal, SignalKind
from shared.core.signal_json import signal_from, signal_json

BATCH_GROUPS = 50  # groups per queue message at most: fewer messages, less overhead per group
# The batches taper: each holds at most 1/TAPER of the groups still to batch (and at least
# MIN_BATCH_GROUPS), so the last messages are small and the queue's consumers, taking them
# as they free up, finish together rather than one waiting on another's last big batch.
TAPER = 8
MIN_BATCH_GROUPS = 5
MESSAGE_FORMAT = 1
# A queue message holds 64 KiB, and base64 (the Functions host's default) adds a third.
MAX_MESSAGE_BYTES = 45_000


class InvalidBatchError(ValueError):
    """A queue message is not a fan-out batch this app wrote; the message says what is wrong."""


@dataclass(frozen=True)
class FanoutBatch:
    """Some of the groups one accepted update is to be applied to."""

    job: str  # the accepting delivery's id
    signal: Signal
    groups: tuple[str, ...]
    index: int  # 1-based, of `count`
    count: int


@dataclass(frozen=True)
class FanoutJob:
    """The record that one update of one incident was accepted for a set of groups."""

    job: str
    kind: SignalKind
    key: str
    update_id: str
    groups: int
    digest: str  # of the group names: the same update for other groups is another fan-out
    batches: int
    accepted_at: datetime


def groups_digest(names: Iterable[str]) -> str:
    """A short fingerprint of a set of group names."""
    joined = "\n".join(sorted(set(names)))
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


def batch_sizes(groups: int, size: int = BATCH_GROUPS) -> list[int]:
    """How many groups each batch of `groups` holds, before any split for a message's bytes:
    at most `size`, at most 1/TAPER of the groups still left, at least MIN_BATCH_GROUPS."""
    sizes = []
    left = groups
    while left > 0:
        count = min(size, left, max(MIN_BATCH_GROUPS, -(-left // TAPER)))
        sizes.append(count)
        left -= count
    return sizes


def make_batches(
    job: str, signal: Signal, groups: Sequence[str], size: int = BATCH_GROUPS
) -> list[FanoutBatch]:
    """Split the groups into batches of at most `size`, in the given order, tapering towards
    the end (TAPER), each small enough for one queue message (a batch with long group names is
    split further)."""
    pending = []
    start = 0
    for count in batch_sizes(len(groups), size):
        pending.append(tuple(groups[start : start + count]))
        start += count
    chunks: list[tuple[str, ...]] = []
    while pending:
        chunk = pending.pop(0)
        probe = FanoutBatch(job=job, signal=signal, groups=chunk, index=1, count=1)
        if len(chunk) > 1 and len(encode_batch(probe).encode()) > MAX_MESSAGE_BYTES:
            half = len(chunk) // 2
            pending[:0] = [chunk[:half], chunk[half:]]
        else:
            chunks.append(chunk)
    return [
        FanoutBatch(job=job, signal=signal, groups=chunk, index=n, count=len(chunks))
        for n, chunk in enumerate(chunks, start=1)
    ]


def encode_batch(batch: FanoutBatch) -> str:
    """The queue message text of a batch (JSON)."""
    return json.dumps(
        {
            "format": MESSAGE_FORMAT,
            "job": batch.job,
            "batch": [batch.index, batch.count],
            "groups": list(batch.groups),
            "signal": signal_json(batch.signal),
        },
        separators=(",", ":"),
    )


def decode_batch(text: str) -> FanoutBatch:
    """Parse a queue message written by `encode_batch`; InvalidBatchError names what is wrong."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise InvalidBatchError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidBatchError("not a JSON object")
    if raw.get("format") != MESSAGE_FORMAT:
        raise InvalidBatchError(f"format {raw.get('format')!r} is not {MESSAGE_FORMAT}")
    try:
        index, count = raw["batch"]
        groups = raw["groups"]
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise InvalidBatchError("groups: not a list of names")
        return FanoutBatch(
            job=_text(raw, "job"),
            signal=signal_from(raw["signal"]),
            groups=tuple(groups),
            index=int(index),
            count=int(count),
        )
    except InvalidBatchError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidBatchError(f"missing or malformed field: {exc!r}") from None


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw[name]
    if not isinstance(value, str):
        raise InvalidBatchError(f"{name}: not a string")
    return value
