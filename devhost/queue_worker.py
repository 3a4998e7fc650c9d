"""A local host process that runs only the app's queue triggers, for `make run`.

Flex Consumption scales a queue-triggered function out by adding instances when its queue
has a backlog; each instance competes for the same messages. `LOCAL_QUEUE_INSTANCES=<n>`
makes `make run` start n-1 of these processes beside the main host, which already listens,
so a large fan-out is applied by n consumers on n CPU cores, as in Azure it is by several
instances. They read the environment the main host prepared (storage, stand-in, settings),
log to the same output, and stop with it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from types import FrameType

from devhost.app import LOCAL_SETTING_DEFAULTS, app_module_name, load_app
from devhost.app_settings import AppSettings
from devhost.discovery import functions_of
from devhost.paths import HOST_JSON
from devhost.processes import on_stop_signals
from devhost.queue_functions import queues_from_functions
from devhost.queue_options import read_queue_options
from devhost.queues import QueueListeners

logger = logging.getLogger("devhost.queue_worker")
_stop = threading.Event()


def main() -> int:
    """Listen until SIGTERM or SIGINT; return the exit code."""
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s %(name)s[{os.getpid()}]: %(message)s",
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    on_stop_signals(_stop_requested)
    app = load_app(app_module_name(os.environ))
    settings = AppSettings(os.environ, LOCAL_SETTING_DEFAULTS)
    functions = queues_from_functions(functions_of(app), settings)
    listeners = QueueListeners(functions, read_queue_options(HOST_JSON))
    listeners.start()
    logger.info("queue instance %d listening on %s", os.getpid(), [f.queue for f in functions])
    _stop.wait()
    listeners.stop()
    return 0


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    _stop.set()


if __name__ == "__main__":
    sys.exit(main())
