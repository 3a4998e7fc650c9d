"""Run Azurite's Table and Queue services as one child process that can be stopped and paused."""

from __future__ import annotations

import logging
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Collection
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from devhost.paths import REPO_ROOT
from devhost.processes import die_with_parent

logger = logging.getLogger(__name__)

AZURITE = REPO_ROOT / "node_modules" / ".bin" / "azurite"
ACCOUNT_NAME = "devstoreaccount1"
# Azurite's well-known development key, published in its README; it guards nothing.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
_PORT_RETRIES = 3
_ADDRESS_IN_USE = re.compile(r"EADDRINUSE.*?:(\d+)")


class AzuriteError(RuntimeError):
    """Azurite is not installed, exited while starting, or did not listen in time."""


class PortInUseError(AzuriteError):
    """Something else already uses one of Azurite's ports."""

    def __init__(self, message: str, port: int | None = None) -> None:
        super().__init__(message)
        self.port = port  # None: Azurite did not say which


def free_port(*, besides: Collection[int] = ()) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and not one of `besides`."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port not in besides:
            return port


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on the port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Azurite:
    """Azurite's Table and Queue services on 127.0.0.1, in memory or persisted under `location`.

    One process serves both, as one storage account does, so `pause()` freezes them together.
    It serves Blob too, which nothing here uses, on a port of its own. Ports not given are
    free-picked, so stacks run side by side.

    Start it from a thread that lives as long as the child: Linux delivers the parent-death
    signal when the thread that started the child exits, not only when the process does.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        queue_port: int | None = None,
        location: Path | None = None,
        binary: Path = AZURITE,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        if port is not None and port == queue_port:
            raise ValueError(f"the table and queue services cannot share port {port}")
        self._given = {"table": port, "queue": queue_port, "blob": None}
        self._ports = self._pick_ports()
        self._location = location
        self._binary = binary
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._paused = False
        self._started_once = False

    def _pick_ports(self) -> dict[str, int]:
        """The given ports, and a distinct free one for each service given none."""
        ports = {name: port for name, port in self._given.items() if port is not None}
        for name, port in self._given.items():
            if port is None:
                ports[name] = free_port(besides=ports.values())
        return ports

    @property
    def port(self) -> int:
        """The table service's TCP port; it stays the same across restarts."""
        return self._ports["table"]

    @property
    def queue_port(self) -> int:
        """The queue service's TCP port; it stays the same across restarts."""
        return self._ports["queue"]

    @property
    def blob_port(self) -> int:
        """The blob service's TCP port (always free-picked); it stays the same across restarts."""
        return self._ports["blob"]

    @property
    def connection_string(self) -> str:
        """A connection string for the well-known devstoreaccount1 account: tables and queues."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT_NAME};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{ACCOUNT_NAME};"
        )

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start Azurite (again, on the same ports) and wait until every service listens."""
        if self._process is not None and self._process.poll() is None:
            return
        if not self._binary.exists():
            raise AzuriteError(
                f"Azurite is not installed ({self._binary} is missing): run `npm ci` "
                "in the repository root (or `make setup`)"
            )
        # Only free-picked ports may change, and only before anyone has seen them in use.
        attempts = _PORT_RETRIES if not self._started_once else 1
        try:
            for attempt in range(1, attempts + 1):
                try:
                    self._start_once()
                    break
                except PortInUseError as exc:
                    if attempt == attempts or not self._picked(exc.port):
                        raise
                    logger.info("port %s was taken meanwhile; picking others", exc.port or "?")
                    self._ports = self._pick_ports()
        except BaseException:
            self.stop()  # also on Ctrl-C mid-start: __exit__ never runs when __enter__ fails
            raise
        self._started_once = True

    def _picked(self, port: int | None) -> bool:
        """Whether `port` (None: unknown) may be one this object free-picked."""
        picked = [self._ports[name] for name, given in self._given.items() if given is None]
        return port in picked if port is not None else bool(picked)

    def _command(self) -> list[str]:
        storage = (
            ["--location", str(self._location)]
            if self._location is not None
            else ["--inMemoryPersistence"]
        )
        listen = []
        for name, port in self._ports.items():
            listen += [f"--{name}Host", "127.0.0.1", f"--{name}Port", str(port)]
        return [
            str(self._binary),
            *listen,
            "--disableTelemetry",
            "--silent",  # no access log: the queue listener polls all day
            # The SDKs send API versions newer than this Azurite knows; the calls we make are old.
            "--skipApiVersionCheck",
            *storage,
        ]

    def _describe_ports(self) -> str:
        return ", ".join(f"{name} {port}" for name, port in self._ports.items())

    def _start_once(self) -> None:
        for name, port in self._ports.items():
            if port_accepts(port):  # else that listener would pass for a started Azurite
                raise PortInUseError(f"port {port} ({name}) is already in use", port=port)
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
            preexec_fn=die_with_parent(),  # noqa: PLW1509 - only prctl runs before exec
        )
        logger.info("Azurite starting on ports %s (pid %d)", self._describe_ports(), self.pid)
        self._paused = False
        self._wait_until_listening(self._process)

    def _listening(self) -> bool:
        return all(port_accepts(port) for port in self._ports.values())

    def _wait_until_listening(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self._start_timeout
        while not (self._listening() and process.poll() is None):
            try:
                process.wait(timeout=0.05)  # doubles as the poll interval
            except subprocess.TimeoutExpired:
                if time.monotonic() < deadline:
                    continue
                self.stop()
                raise AzuriteError(
                    f"Azurite did not listen on ports {self._describe_ports()} "
                    f"within {self._start_timeout:.0f}s"
                ) from None
            output = self._read_output()
            self.stop()
            message = (
                f"Azurite exited with code {process.returncode} while starting on ports "
                f"{self._describe_ports()}:\n{output}"
            )
            taken = _ADDRESS_IN_USE.search(output)
            if taken is not None or "EADDRINUSE" in output:
                raise PortInUseError(message, port=int(taken.group(1)) if taken else None)
            raise AzuriteError(message)

    def _read_output(self) -> str:
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read().decode(errors="replace").strip()

    def stop(self) -> None:
        """Stop the child: SIGINT, then SIGKILL after the stop timeout; wait until it is gone."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            # SIGINT lets Azurite close its services, which saves a persistent database; a kill
            # loses up to 5 s of writes (its autosave interval).
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
            logger.info("Azurite on ports %s stopped", self._describe_ports())
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
