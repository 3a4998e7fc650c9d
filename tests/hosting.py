"""Runs the function app under the local host as a separate process, as `make run` does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import requests

from devhost.azurite import free_port

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "devhost" / "demo-config.json"


def demo_config_in(mode: str) -> str:
    """The demo configuration with its group's `policy.mode` set, as FAILOVER_CONFIG JSON text."""
    raw = json.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    raw["groups"][0]["policy"] = {"mode": mode}
    return json.dumps(raw)


class HostProcess:
    """`python -m devhost.run --no-azurite` on a free port, against the given storage."""

    def __init__(self, connection_string: str, table: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self._env = {
            **os.environ,
            "FailoverStorage": connection_string,
            "FAILOVER_TABLE": table,
            "FAILOVER_CONFIG": str(DEMO_CONFIG),
            "STORAGE_TIMEOUT_SECONDS": "2",
            # The readiness timer fires only when a test asks (POST /admin/functions/readiness).
            "READINESS_SCHEDULE": "0 0 0 1 1 *",
            # A queue of the test's own, like its table, on the suite's shared Azurite.
            "FANOUT_QUEUE": f"fanout-{table.lower()}",
            **env,
        }
        self._process: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: nobody drains a pipe, and a full one would block the host's logging.
        self._output = tempfile.TemporaryFile()  # noqa: SIM115  lives as long as the host

    @property
    def output(self) -> str:
        """Everything the host printed and logged so far."""
        return self.log_from(0, whole_lines=False)[0]

    def log_from(self, offset: int, *, whole_lines: bool = True) -> tuple[str, int]:
        """What the host has written from byte `offset` on (only whole lines, unless told),
        and the offset after it. `pread` leaves the file's position alone: the host writes
        through the same open file, so moving it would put the host's next lines mid-file."""
        fd = self._output.fileno()
        data = os.pread(fd, max(0, os.fstat(fd).st_size - offset), offset)
        end = data.rfind(b"\n") + 1 if whole_lines else len(data)
        return data[:end].decode(errors="replace"), offset + end

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "devhost.run", "--no-azurite", "--port", str(self.port)],
            cwd=ROOT,
            env=self._env,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"host exited: {self.output}")
            try:
                requests.get(f"{self.url}/health", timeout=5)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)  # polling for start-up, not timing a result
        raise RuntimeError("host did not start within 30 s")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
