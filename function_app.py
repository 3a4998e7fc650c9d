"""The Azure Functions app: routes and their delegations. All logic lives in `shared/`."""

import azure.functions as func

from shared.wiring import build_api

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
api = build_api()


@app.function_name("alerts")
@app.route(route="alerts", methods=["POST"])
def alerts(req: func.HttpRequest) -> func.HttpResponse:
    """Action-group webhook for Service Health and Resource Health alerts."""
    return api.alerts(req)


@app.function_name("active_account")
@app.route(route="active-account", methods=["GET"])
def active_account(req: func.HttpRequest) -> func.HttpResponse:
    """The active account of a group: what apps read before every indexing call."""
    return api.active_account(req)


@app.function_name("status")
@app.route(route="status", methods=["GET"])
def status(req: func.HttpRequest) -> func.HttpResponse:
    """Every group's active account, open incidents and pin."""
    return api.status(req)


@app.function_name("history")
@app.route(route="history", methods=["GET"])
def history(req: func.HttpRequest) -> func.HttpResponse:
    """The audit trail, newest first."""
    return api.history(req)


@app.function_name("groups")
@app.route(route="groups", methods=["GET"])
def groups(req: func.HttpRequest) -> func.HttpResponse:
    """One page of groups, searched and filtered, each with its recent timeline."""
    return api.groups(req)


@app.function_name("console")
@app.route(route="console", methods=["GET"])
def console(req: func.HttpRequest) -> func.HttpResponse:
    """The operator console: an HTML page that reads the groups route."""
    return api.console(req)


@app.function_name("failover")
@app.route(route="failover", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
def failover(req: func.HttpRequest) -> func.HttpResponse:
    """Operator's manual move, pin or unpin; the app checks the operator's sign-in."""
    return api.failover(req)


@app.function_name("failover_break_glass")
@app.route(route="failover/break-glass", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def failover_break_glass(req: func.HttpRequest) -> func.HttpResponse:
    """The same, behind the master key, audited as break-glass."""
    return api.failover_break_glass(req)


@app.function_name("health")
@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness and storage reachability."""
    return api.health(req)


@app.function_name("openapi")
@app.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI 3.1 document of every route."""
    return api.openapi(req)


@app.function_name("readiness")
@app.timer_trigger(schedule="%READINESS_SCHEDULE%", arg_name="timer", use_monitor=True)
def readiness(timer: func.TimerRequest) -> None:
    """Probe every account, record readiness, make due moves (pending failover, auto failback)."""
    api.readiness_tick()


@app.function_name("fanout")
@app.queue_trigger(arg_name="msg", queue_name="%FANOUT_QUEUE%", connection="FailoverStorage")
def fanout(msg: func.QueueMessage) -> None:
    """Apply one batch of a fan-out that an alert touching many groups accepted."""
    api.fanout(msg)
