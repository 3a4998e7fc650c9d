"""Run Azurite's Table service as a child process that can be stopped, restarted and paused."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Self

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_TABLE = REPO_ROOT / "node_modules" / ".bin" / "azurite-table"
ACCOUNT_NAME = "devstoreaccount1"
# Azurite's well-known development key, published in its README; it guards nothing.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_PORT_RETRIES = 3


class AzuriteError(RuntimeError):
    """Azurite is not installed, exited while starting, or did not listen in time."""


class PortInUseError(AzuriteError):
    """Something else already uses the table port."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on the port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _die_with_parent() -> Callable[[], None] | None:
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


class Azurite:
    """Azurite's Table service on 127.0.0.1, in memory or persisted under `location`.

    Start it from a thread that lives as long as the child: Linux delivers the parent-death
    signal when the thread that started the child exits, not only when the process does.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        location: Path | None = None,
        binary: Path = AZURITE_TABLE,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self._picked_port = port is None
        self._port = free_port() if port is None else port
        self._location = location
        self._binary = binary
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._paused = False
        self._started_once = False

    @property
    def port(self) -> int:
        """The table service's TCP port; it stays the same across restarts."""
        return self._port

    @property
    def connection_string(self) -> str:
        """A connection string for the well-known devstoreaccount1 account."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{self._port}/{ACCOUNT_NAME};"
        )

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start Azurite (again, on the same port) and wait until it accepts connections."""
        if self._process is not None and self._process.poll() is None:
            return
        if not self._binary.exists():
            raise AzuriteError(
                f"Azurite is not installed ({self._binary} is missing): run `npm ci` "
                "in the repository root (or `make setup`)"
            )
        # Only a free-picked port may change, and only before anyone has seen it in use.
        attempts = _PORT_RETRIES if self._picked_port and not self._started_once else 1
        try:
            for attempt in range(1, attempts + 1):
                try:
                    self._start_once()
                    break
                except PortInUseError:
                    if attempt == attempts:
                        raise
                    logger.info("port %d was taken meanwhile; picking another", self._port)
                    self._port = free_port()
        except BaseException:
            self.stop()  # also on Ctrl-C mid-start: __exit__ never runs when __enter__ fails
            raise
        self._started_once = True

    def _command(self) -> list[str]:
        storage = (
            ["--location", str(self._location)]
            if self._location is not None
            else ["--inMemoryPersistence"]
        )
        return [
            str(self._binary),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(self._port),
            "--disableTelemetry",
            *storage,
        ]

    def _start_once(self) -> None:
        if port_accepts(self._port):  # else that listener would pass for a started Azurite
            raise PortInUseError(f"port {self._port} is already in use")
        if self._location is not None:
            self._location.mkdir(parents=True, exist_ok=True)
        # A file, not a pipe: a pipe nobody reads could fill up and block Azurite. It lives as
        # long as the child and stop() closes it.
        self._output = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent(),  # noqa: PLW1509 - only prctl runs before exec
        )
        logger.info("Azurite table service starting on port %d (pid %d)", self._port, self.pid)
        self._paused = False
        self._wait_until_listening(self._process)

    def _wait_until_listening(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self._start_timeout
        while not (port_accepts(self._port) and process.poll() is None):
            try:
                process.wait(timeout=0.05)  # doubles as the poll interval
            except subprocess.TimeoutExpired:
                if time.monotonic() < deadline:
                    continue
                self.stop()
                raise AzuriteError(
                    f"Azurite did not listen on port {self._port} within {self._start_timeout:.0f}s"
                ) from None
            output = self._read_output()
            self.stop()
            error = PortInUseError if "EADDRINUSE" in output else AzuriteError
            raise error(
                f"Azurite exited with code {process.returncode} while starting on port "
                f"{self._port}:\n{output}"
            )

    def _read_output(self) -> str:
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read().decode(errors="replace").strip()

    def stop(self) -> None:
        """Stop the child: SIGINT, then SIGKILL after the stop timeout; wait until it is gone."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            # SIGINT, not SIGTERM: azurite-table saves a persistent database only on SIGINT;
            # SIGTERM kills it at once and loses up to 5 s of writes (its autosave interval).
            process.send_signal(signal.SIGINT)
            if self._paused:
                process.send_signal(signal.SIGCONT)  # a stopped process handles no signal
            try:
                process.wait(timeout=self._stop_timeout)
            except subprocess.TimeoutExpired:
                logger.warning("Azurite ignored SIGINT for %.0fs; killing it", self._stop_timeout)
                process.kill()
                process.wait()
        if process is not None:
            logger.info("Azurite table service on port %d stopped", self._port)
        self._paused = False
        if self._output is not None:
            self._output.close()
            self._output = None

    def pause(self) -> None:
        """Freeze the child (SIGSTOP): connections hang, as with an unresponsive storage account."""
        self._signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """Let a paused child run again (SIGCONT)."""
        self._signal(signal.SIGCONT)
        self._paused = False

    def _signal(self, signum: signal.Signals) -> None:
        if self._process is None or self._process.poll() is not None:
            raise AzuriteError("Azurite is not running")
        self._process.send_signal(signum)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
