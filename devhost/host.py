"""Serve a `func.FunctionApp`'s HTTP routes and run its timer and queue functions as the host does.

For local runs only. Routes come from the functions' own metadata (route template, methods, auth
level) under the `routePrefix` of host.json, and are served as `devhost.http_handler` says.
Timer functions run on their schedules (see `devhost.timers`), and `POST /admin/functions/{name}`
runs one at once, as on Azure. Queue functions run on each message of their Storage queue (see
`devhost.queues`). With `LOCAL_FUNCTION_KEY` or `LOCAL_MASTER_KEY` set, routes demand keys by
their auth level, as on Azure; with neither, nothing is checked.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import azure.functions as func

from devhost.app_settings import AppSettings
from devhost.discovery import functions_of
from devhost.hostjson import DEFAULT_ROUTE_PREFIX
from devhost.http_handler import FunctionsHandler, ServedFunctions
from devhost.keys import FUNCTION_KEY_SETTING, FUNCTION_KEYS_SETTING, MASTER_KEY_SETTING, HostKeys
from devhost.queue_functions import QueueFunction, queues_from_functions
from devhost.queue_options import QueueOptions
from devhost.queues import QueueListeners
from devhost.routes import Route, RouteTable, routes_from_functions
from devhost.server import LocalServer
from devhost.timer_functions import timers_from_functions
from devhost.timers import Clock, Timer, TimerScheduler, utc_now

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024  # the Functions host's own request size limit


class LocalFunctionsHost:
    """Serves a FunctionApp's HTTP functions on a local port and runs its timer and queue functions.

    `environ` (default `os.environ`) resolves `%SETTING%` in timer schedules and queue names,
    falling back to `setting_defaults` for blank settings, holds the queues' connection strings and
    the keys (`HostKeys.from_environ`); `clock` returns aware UTC datetimes for the scheduler;
    `queue_options` are host.json's `extensions.queues` (see `devhost.queue_options`).
    """

    def __init__(
        self,
        app: func.FunctionApp,
        *,
        route_prefix: str = DEFAULT_ROUTE_PREFIX,
        host: str = "127.0.0.1",
        port: int = 7071,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        environ: Mapping[str, str] | None = None,
        setting_defaults: Mapping[str, str] | None = None,
        clock: Clock = utc_now,
        queue_options: QueueOptions | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        functions = functions_of(app)
        self._routes = routes_from_functions(functions, route_prefix.strip("/"))
        # Before binding the port, so a bad schedule or queue setting leaves nothing open behind.
        settings = AppSettings(environ, setting_defaults or {})
        timers = timers_from_functions(functions, settings)
        queues = queues_from_functions(functions, settings)
        self._queues = QueueListeners(queues, queue_options or QueueOptions())
        self._keys = HostKeys.from_environ(environ)
        _log_keys(self._keys)
        self._scheduler = TimerScheduler(timers, clock=clock)
        # Binds now, so port 0 works.
        served = ServedFunctions(
            RouteTable(self._routes), max_body_bytes, self._scheduler, self._keys
        )
        self._server = LocalServer((host, port), FunctionsHandler, served, logger)

    @property
    def keys_enforced(self) -> bool:
        """Whether any LOCAL_*_KEY(S) setting is set, so routes demand keys."""
        return self._keys.enforced

    @property
    def routes(self) -> tuple[Route, ...]:
        """The served routes in registration order."""
        return tuple(self._routes)

    @property
    def timers(self) -> tuple[Timer, ...]:
        """The timer functions in registration order, each with its next scheduled run."""
        return self._scheduler.timers

    @property
    def queue_functions(self) -> tuple[QueueFunction, ...]:
        """The queue functions in registration order, each with its resolved queue name."""
        return self._queues.functions

    def run_timer_now(self, name: str) -> None:
        """Run a timer function once in this thread; its exception, if any, propagates.

        Waits for a run already in progress, so the timer still never overlaps itself. Raises
        `UnknownTimerError` when no timer function has that name (ignoring case).
        """
        self._scheduler.run_now(name)

    @property
    def port(self) -> int:
        """The bound port (the free one picked when constructed with port 0)."""
        return self._server.port

    @property
    def url(self) -> str:
        """Base URL of the host, without the route prefix."""
        return f"http://{self._server.authority}"

    def serve_forever(self) -> None:
        """Serve, run timers and listen on queues until `shutdown()` is called from another
        thread or an exception interrupts."""
        self._scheduler.start()
        self._queues.start()
        try:
            self._server.serve()
        finally:
            self._scheduler.stop()
            self._queues.stop()

    def start_in_thread(self) -> int:
        """Serve from a daemon thread, timers scheduled and queues polled before this returns;
        return the port."""
        self._scheduler.start()
        self._queues.start()
        self._server.serve_in_thread("devhost", target=self.serve_forever)
        return self.port

    def shutdown(self) -> None:
        """Stop the timers, the queue listeners and accepting, end open connections and release
        the port.

        Timer runs in progress finish in their own threads, as HTTP requests in flight do; queue
        invocations in progress are waited for (up to the queue options' drain timeout).
        """
        self._scheduler.stop()
        self._queues.stop()
        self._server.close()


def _log_keys(keys: HostKeys) -> None:
    if not keys.enforced:
        return
    # Which keys are set, never their values.
    named = ", ".join(
        f"{function}: {'/'.join(sorted(names))}"
        for function, names in sorted(keys.per_function.items())
    )
    logger.info(
        "function keys enforced: %s %s, %s %s, %s %s",
        FUNCTION_KEY_SETTING,
        "set" if keys.function_key else "unset",
        FUNCTION_KEYS_SETTING,
        f"({named})" if named else "unset",
        MASTER_KEY_SETTING,
        "set" if keys.master_key else "unset",
    )
    if keys.master_key is None:
        logger.warning(
            "%s is not set: admin routes and /admin/functions answer 401", MASTER_KEY_SETTING
        )
