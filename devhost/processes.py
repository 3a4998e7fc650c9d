"""Process plumbing for the local stack: children that die with us, and stopping on a signal."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when this process dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    # Looked up before fork: the child between fork and exec should only make the call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return preexec


def interrupt_on_stop_signals() -> None:
    """Make SIGTERM take the same clean path as Ctrl-C: a KeyboardInterrupt in the main thread."""
    on_stop_signals(_interrupt)


def ignore_stop_signals() -> None:
    """Ignore SIGINT and SIGTERM, so a second Ctrl-C cannot cut a clean-up short."""
    on_stop_signals(signal.SIG_IGN)


def on_stop_signals(handler: Callable[[int, FrameType | None], object] | int) -> None:
    """Handle SIGINT and SIGTERM alike with `handler`."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
