"""`make run`: Azurite, a stand-in for ARM and the VI API, and the function app, in the foreground.

Ctrl-C, SIGINT or SIGTERM stops everything and leaves no process behind. Environment: `PORT`
(7071), `HOST` (127.0.0.1), `AZURITE_TABLE_PORT` and `AZURITE_QUEUE_PORT` (free-picked),
`STANDIN_PORT` (7072, or a free one when 7072 is taken), `FUNCTION_APP_MODULE` ("function_app"),
and the app's own settings; `FailoverStorage`, `FAILOVER_CONFIG`, `ARM_BASE_URL`, `VI_BASE_URL`
and `ARM_STATIC_TOKEN` get local defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Sequence

from devhost.app import LOCAL_SETTING_DEFAULTS, AppLoadError, app_module_name, load_app
from devhost.azurite import Azurite, AzuriteError
from devhost.banner import banner, standin_lines
from devhost.host import LocalFunctionsHost
from devhost.hostjson import read_route_prefix
from devhost.keys import KeySettingError
from devhost.paths import DEMO_CONFIG, HOST_JSON, REPO_ROOT
from devhost.processes import die_with_parent, ignore_stop_signals, interrupt_on_stop_signals
from devhost.queue_functions import QueueTriggerError
from devhost.queue_options import QueueOptionsError, read_queue_options
from devhost.standin import DEFAULT_PORT as STANDIN_DEFAULT_PORT
from devhost.standin import AzureStandIn
from devhost.timer_functions import TimerScheduleError

logger = logging.getLogger(__name__)

STORAGE_CONNECTION = "FailoverStorage"
STORAGE_SETTINGS = (STORAGE_CONNECTION, f"{STORAGE_CONNECTION}__tableServiceUri")
# The stand-in takes any bearer token, so this one guards nothing.
DEV_ARM_TOKEN = "local-dev-token"  # noqa: S105
MAX_QUEUE_INSTANCES = 8
QUEUE_INSTANCE_STOP_SECONDS = 45.0  # a running batch may take a while to finish
EXIT_STOPPED = 0  # a requested stop is success
EXIT_ENVIRONMENT = 1  # Azurite or the port: nothing wrong with the app
EXIT_APP_FAILED = 2  # the app does not import, e.g. invalid configuration


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command line over environment over defaults."""
    parser = argparse.ArgumentParser(prog="python -m devhost.run", description=__doc__)
    parser.add_argument("--port", type=int, help="HTTP port (default: $PORT or 7071)")
    parser.add_argument("--host", help="interface to listen on (default: $HOST or 127.0.0.1)")
    parser.add_argument(
        "--no-azurite",
        action="store_true",
        help="start no Azurite; use the storage already configured in the environment",
    )
    parser.add_argument(
        "--no-standin",
        action="store_true",
        help="start no ARM/VI stand-in; use ARM_BASE_URL and VI_BASE_URL from the environment",
    )
    args = parser.parse_args(argv)
    args.port = args.port if args.port is not None else _env_int(parser, "PORT") or 7071
    args.host = args.host or os.environ.get("HOST", "127.0.0.1")
    args.azurite_port = _env_int(parser, "AZURITE_TABLE_PORT")
    args.azurite_queue_port = _env_int(parser, "AZURITE_QUEUE_PORT")
    args.standin_port = _env_int(parser, "STANDIN_PORT")
    raw = os.environ.get("LOCAL_QUEUE_INSTANCES", "").strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_QUEUE_INSTANCES:
        parser.error(f"LOCAL_QUEUE_INSTANCES must be 1 to {MAX_QUEUE_INSTANCES}, got {raw!r}")
    args.queue_instances = int(raw)
    return args


def _env_int(parser: argparse.ArgumentParser, name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        parser.error(f"{name} must be a port number, got {raw!r}")
    return int(raw)


def main(argv: Sequence[str] | None = None) -> int:
    """Run until stopped; return the process exit code."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The SDK logs every storage request with its headers at INFO, drowning the access log.
    logging.getLogger("azure").setLevel(logging.WARNING)
    interrupt_on_stop_signals()
    with contextlib.ExitStack() as cleanup:
        try:
            return _run(args, cleanup)
        except KeyboardInterrupt:
            logger.info("Stop requested; shutting down")
            return EXIT_STOPPED
        finally:
            # A second Ctrl-C must not cut the clean-up short and orphan Azurite.
            ignore_stop_signals()


def _run(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> int:
    storage = "from the environment (--no-azurite)"
    if not args.no_azurite:
        try:
            azurite = cleanup.enter_context(
                Azurite(port=args.azurite_port, queue_port=args.azurite_queue_port)
            )
        except AzuriteError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ENVIRONMENT
        storage = _use_azurite_storage(azurite)
    config = os.environ.setdefault("FAILOVER_CONFIG", str(DEMO_CONFIG))
    # On a laptop nobody signs in: every operator request is "developer (local, ...)". The app
    # refuses this setting when it runs in Azure.
    os.environ.setdefault("OPERATOR_AUTH", "local")
    standin = ["  ARM + VI API     from the environment (--no-standin)"]
    if not args.no_standin:
        try:
            standin = _start_standin(config, args.standin_port, cleanup)
        except ValueError as exc:  # FAILOVER_CONFIG is invalid: the app would refuse it too
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_APP_FAILED
        except OSError as exc:
            print(f"error: cannot start the ARM/VI stand-in: {exc}", file=sys.stderr)
            return EXIT_ENVIRONMENT
    try:
        app = load_app(app_module_name(os.environ))
    except Exception as exc:  # noqa: BLE001 - whatever the import raises, the app cannot start
        if not isinstance(exc, ValueError | ImportError | AppLoadError):
            traceback.print_exc()  # a bug, not a setting: show where
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_APP_FAILED
    try:
        host = LocalFunctionsHost(
            app,
            route_prefix=read_route_prefix(HOST_JSON),
            host=args.host,
            port=args.port,
            setting_defaults=LOCAL_SETTING_DEFAULTS,
            queue_options=read_queue_options(HOST_JSON),
        )
    except (TimerScheduleError, QueueTriggerError, QueueOptionsError, KeySettingError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_APP_FAILED
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    cleanup.callback(host.shutdown)
    for _ in range(args.queue_instances - 1):
        cleanup.enter_context(_queue_instance())
    print(banner(host, storage, config, standin), flush=True)
    host.serve_forever()
    return EXIT_STOPPED


@contextlib.contextmanager
def _queue_instance() -> Iterator[None]:
    """One more process consuming the app's queues (devhost/queue_worker.py), stopped after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost.queue_worker"],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        preexec_fn=die_with_parent(),  # noqa: PLW1509 - only prctl runs before exec
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=QUEUE_INSTANCE_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _use_azurite_storage(azurite: Azurite) -> str:
    """Point the app at Azurite unless storage is configured already; describe the outcome."""
    if any(name in os.environ for name in STORAGE_SETTINGS):
        return f"from the environment (Azurite on port {azurite.port} unused)"
    os.environ[STORAGE_CONNECTION] = azurite.connection_string
    return (
        f"Azurite on 127.0.0.1: tables on port {azurite.port}, queues on port "
        f"{azurite.queue_port} (in memory)"
    )


def _start_standin(config: str, port: int | None, cleanup: contextlib.ExitStack) -> list[str]:
    """Serve ARM and the VI API for the configured accounts; point the app at it; banner lines."""
    try:
        standin = AzureStandIn.from_config(
            config, port=STANDIN_DEFAULT_PORT if port is None else port
        )
    except OSError:
        if port is not None:
            raise  # asked for explicitly: say it is taken rather than move elsewhere
        standin = AzureStandIn.from_config(config, port=0)
    standin.start_in_thread()
    cleanup.callback(standin.shutdown)
    defaults = {
        "ARM_BASE_URL": standin.url,
        "VI_BASE_URL": standin.url,
        "ARM_STATIC_TOKEN": DEV_ARM_TOKEN,
    }
    kept = [name for name in defaults if name in os.environ]
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    return standin_lines(standin, kept)


if __name__ == "__main__":
    sys.exit(main())
