"""The tests' host process: reading its log while it writes never moves what it writes."""

from __future__ import annotations

import subprocess
import sys

from tests.hosting import HostProcess

LINES = 100_000


def test_reading_the_log_while_the_process_writes_leaves_every_line_in_place() -> None:
    """A child writes numbered lines into the host's log file while `output` and `log_from`
    are read over and over: afterwards every line is there, once, in order."""
    host = HostProcess("UseDevelopmentStorage=true", "t")
    writer = subprocess.Popen(
        [sys.executable, "-c", f"for n in range({LINES}): print(n)"],
        stdout=host._output,  # the file the host itself would write into
    )
    offset, seen = 0, 0
    while writer.poll() is None:
        _ = host.output
        text, offset = host.log_from(offset)
        seen += text.count("\n")
    writer.wait()
    text, offset = host.log_from(offset)

    assert [str(n) for n in range(LINES)] == host.output.split()
    assert LINES == seen + text.count("\n")
