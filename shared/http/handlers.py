"""HTTP handlers: `func.HttpRequest` in, `func.HttpResponse` out. Errors go through the one
mapping of `shared.http.errors`: a dependency's failure is 503 naming it, with Retry-After (the
action group retries); bad input is 4xx and writes nothing."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import azure.functions as func

from shared.app.controller import Controller
from shared.app.errors import StorageUnavailableError, TimeoutUnavailableError, UnavailableError
from shared.app.intake import AlertResult
from shared.core.fanout import InvalidBatchError
from shared.http.auth import AlertAuthenticator, ForbiddenError, UnauthenticatedError
from shared.http.console import console_response
from shared.http.console_query import parse_page_query
from shared.http.console_views import etag_of_page, page_view
from shared.http.errors import HANDLED, error, error_response, json_response
from shared.http.openapi import api_document
from shared.http.operators import BREAK_GLASS_ACTOR, Operator, OperatorAuthenticator
from shared.http.requests import parse_failover_request, parse_limit
from shared.http.views import (
    alert_view,
    etag_matches,
    etag_of,
    failover_view,
    history_view,
    outcomes_text,
    state_view,
)
from shared.settings import Settings

log = logging.getLogger(__name__)

MAX_ALERT_BYTES = 1024 * 1024
# Leaves the answer inside the action group's ~10 s, with room for the network.
REQUEST_BUDGET_SECONDS = 8.0
HEALTH_CACHE_SECONDS = 1.0  # an anonymous flood reads storage once a second at most
_JSON_TYPES = frozenset({"application/json", "text/json", "text/plain"})


class HttpApi:
    """The app's routes; the controller is built on first use, never at import."""

    def __init__(
        self,
        settings: Settings,
        controller: Callable[[], Controller],
        authenticator: AlertAuthenticator | None = None,
        operators: OperatorAuthenticator | None = None,
    ) -> None:
        self._settings = settings
        self._controller = controller
        self._authenticator = authenticator or AlertAuthenticator()
        self._operators = operators or OperatorAuthenticator(settings.operator_auth)
        self._workers = ThreadPoolExecutor(max_workers=32, thread_name_prefix="alert")
        self._health_lock = threading.Lock()
        self._health_at = -HEALTH_CACHE_SECONDS
        self._healthy = False

    def alerts(self, req: func.HttpRequest) -> func.HttpResponse:
        """POST /api/alerts: an action-group delivery."""
        # Before the body is even looked at: a stranger learns nothing, and nothing is written.
        refused = self._authenticate(req)
        if refused is not None:
            return refused
        declared = req.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_ALERT_BYTES:
            return error(413, "PayloadTooLarge", f"alert body exceeds {MAX_ALERT_BYTES} bytes")
        media_type = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
        if media_type and not _is_json(media_type):
            message = f"content type {media_type!r} is not JSON; send application/json"
            return error(415, "UnsupportedMediaType", message)
        body = req.get_body()
        if len(body) > MAX_ALERT_BYTES:
            return error(413, "PayloadTooLarge", f"alert body exceeds {MAX_ALERT_BYTES} bytes")
        try:
            result = self._within_budget(lambda: self._controller().handle_alert(body))
        except HANDLED as exc:
            return self._answer(exc)
        return json_response(200, alert_view(result))

    def fanout(self, message: func.QueueMessage) -> None:
        """Queue trigger: apply one batch of an accepted fan-out.

        Raising hands the message back to the queue, which redelivers it and, after the host's
        maxDequeueCount, moves it to the poison queue: storage trouble is retried, and a message
        that is not a batch is kept there for an operator rather than dropped.
        """
        text = message.get_body().decode("utf-8", errors="replace")
        try:
            self._controller().apply_batch(text)
        except InvalidBatchError as exc:
            log.error("queue message %s is not a fan-out batch: %s", message.id, exc)
            raise
        except UnavailableError as exc:
            log.warning("fan-out batch %s unfinished; the queue redelivers it: %s", message.id, exc)
            raise

    def active_account(self, req: func.HttpRequest) -> func.HttpResponse:
        """GET /api/active-account?group=: the flag apps read before every indexing call."""
        try:
            controller = self._controller()
            group = controller.group(req.params.get("group"))
            state = controller.active_state(group)
            # Apps call VI with these ids: never an empty one (ARM once per account, cached).
            group = controller.directory.resolved(group, state.active)
        except HANDLED as exc:
            return self._answer(exc)
        now = controller.now()
        etag = etag_of(state, now)
        headers = {
            "ETag": etag,
            "Cache-Control": f"max-age={self._settings.active_account_max_age}",
        }
        if etag_matches(req.headers.get("If-None-Match"), etag):
            return func.HttpResponse(status_code=304, headers=headers)
        return json_response(200, state_view(group, state, now), headers)

    def status(self, req: func.HttpRequest) -> func.HttpResponse:
        """GET /api/status: every group's active account, incidents, readiness and pin."""
        try:
            controller = self._controller()
            now = controller.now()
            groups = controller.config.groups
            states = controller.states(groups)
        except HANDLED as exc:
            return self._answer(exc)
        views = [state_view(g, s, now, detail=True) for g, s in zip(groups, states, strict=True)]
        return json_response(200, {"time": now.isoformat(), "groups": views})

    def history(self, req: func.HttpRequest) -> func.HttpResponse:
        """GET /api/history?group=&limit=: the audit trail, newest first."""
        try:
            limit = parse_limit(req.params.get("limit"))
            records = self._controller().history(req.params.get("group"), limit)
        except HANDLED as exc:
            return self._answer(exc)
        return json_response(200, history_view(records))

    def groups(self, req: func.HttpRequest) -> func.HttpResponse:
        """GET /api/groups?search=&filter=&page=&pageSize=&timeline=: one page of groups."""
        try:
            page = self._controller().group_page(parse_page_query(req.params))
        except HANDLED as exc:
            return self._answer(exc)
        view = page_view(page)
        headers = {"ETag": etag_of_page(view), "Cache-Control": "no-cache"}
        if etag_matches(req.headers.get("If-None-Match"), headers["ETag"]):
            return func.HttpResponse(status_code=304, headers=headers)
        return json_response(200, {"time": page.time.isoformat(), **view}, headers)

    def console(self, req: func.HttpRequest) -> func.HttpResponse:
        """GET /api/console: the operator console's page (it reads GET /api/groups)."""
        return console_response()

    def failover(self, req: func.HttpRequest) -> func.HttpResponse:
        """POST /api/failover: an operator's move, pin or unpin; the actor is who signed in."""
        try:
            operator = self._operators.identify(req.headers)
        except UnauthenticatedError as exc:
            log.warning("manual request refused, 401: %s", exc)
            return error(401, "Unauthorized", str(exc), {"WWW-Authenticate": "Bearer"})
        except ForbiddenError as exc:
            log.warning("manual request refused, 403: %s", exc)
            return error(403, "Forbidden", str(exc))
        except UnavailableError as exc:
            return self._answer(exc)
        return self._manual(req, operator)

    def failover_break_glass(self, req: func.HttpRequest) -> func.HttpResponse:
        """POST /api/failover/break-glass: the same request, behind the master key (the platform
        checks it: auth level admin), audited as break-glass."""
        return self._manual(req, Operator(BREAK_GLASS_ACTOR, "master-key"))

    def _manual(self, req: func.HttpRequest, operator: Operator) -> func.HttpResponse:
        try:
            controller = self._controller()
            request = parse_failover_request(req.get_body(), operator.actor, controller.now())
            decision = controller.manual(request)
        except HANDLED as exc:
            return self._answer(exc)
        log.info("manual request by %s (%s): %s", operator.actor, operator.how, decision.action)
        return json_response(200, failover_view(decision))

    def health(self, req: func.HttpRequest) -> func.HttpResponse:
        """GET /api/health: liveness and storage reachability; anonymous, so it reveals nothing
        internal and reads storage at most once per HEALTH_CACHE_SECONDS."""
        now = time.monotonic()
        with self._health_lock:
            if now - self._health_at >= HEALTH_CACHE_SECONDS:
                self._health_at, self._healthy = now, self._storage_answers()
            healthy = self._healthy
        if not healthy:
            return json_response(
                503, {"status": "unhealthy", "storage": "unreachable"}, self._retry_after()
            )
        return json_response(200, {"status": "ok", "storage": "reachable"})

    def openapi(self, req: func.HttpRequest) -> func.HttpResponse:
        """GET /api/openapi.json: the API document; anonymous, as it holds no secret."""
        return api_document().response(req.headers.get("If-None-Match"))

    def _storage_answers(self) -> bool:
        try:
            self._controller().store.ping()
        except UnavailableError as exc:
            log.warning("health: storage unreachable: %s", exc)
            return False
        return True

    def readiness_tick(self) -> None:
        """Timer: probe every account and apply what readiness decides; never raises."""
        try:
            outcomes = self._controller().readiness_tick()
        except UnavailableError as exc:
            log.warning("readiness tick skipped: %s", exc)
            return
        log.info("readiness tick done: %s", outcomes_text(outcomes))

    def _answer(self, exc: Exception) -> func.HttpResponse:
        if isinstance(exc, StorageUnavailableError):
            with self._health_lock:
                self._health_at = -HEALTH_CACHE_SECONDS  # the next health check looks again
        return error_response(exc, self._settings.retry_after_seconds)

    def _authenticate(self, req: func.HttpRequest) -> func.HttpResponse | None:
        """None when the delivery may proceed, else the 401, 403 or 503 to answer."""
        try:
            self._authenticator.check(req.params, req.headers)
        except UnauthenticatedError as exc:
            log.warning("alert refused, 401: %s", exc)
            challenge = {"WWW-Authenticate": "Bearer"} if self._authenticator.wants_bearer else None
            return error(401, "Unauthorized", str(exc), challenge)
        except ForbiddenError as exc:
            log.warning("alert refused, 403: %s", exc)
            return error(403, "Forbidden", str(exc))
        except UnavailableError as exc:
            return self._answer(exc)
        return None

    def _within_budget(self, work: Callable[[], AlertResult]) -> AlertResult:
        """Run the alert's work, giving up after REQUEST_BUDGET_SECONDS with a retryable error.

        The action group waits about 10 s. Work still running past the budget goes on; each
        group's change lands whole or not at all, and the action group's retry then finds it
        applied (`duplicate`) or applies it.
        """
        # In the caller's context, so the alert's span is a child of the invocation's, if any.
        future = self._workers.submit(contextvars.copy_context().run, work)
        try:
            return future.result(timeout=REQUEST_BUDGET_SECONDS)
        except FutureTimeout:
            raise TimeoutUnavailableError(
                f"the alert's work did not finish within {REQUEST_BUDGET_SECONDS:g} s; "
                "what finished is saved, and a retry completes the rest"
            ) from None

    def _retry_after(self) -> dict[str, str]:
        return {"Retry-After": str(self._settings.retry_after_seconds)}


def _is_json(media_type: str) -> bool:
    # text/plain: some relays re-send webhook bodies as plain text; the body is still parsed.
    return media_type in _JSON_TYPES or media_type.endswith("+json")
