"""A FunctionApp with one route per auth level and a timer, for the local host's key tests."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.function_name("work")
@app.route(route="work", methods=["GET", "POST"])
def work(req: func.HttpRequest) -> func.HttpResponse:
    """A function-level route, the app's default."""
    return func.HttpResponse("work done")


@app.function_name("report")
@app.route(route="report", methods=["GET"])
def report(req: func.HttpRequest) -> func.HttpResponse:
    """A second function-level route, so a key of one function can be tried on another."""
    return func.HttpResponse("reported")


@app.function_name("operate")
@app.route(route="operate", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
def operate(req: func.HttpRequest) -> func.HttpResponse:
    """An admin-level route."""
    return func.HttpResponse("operated")


@app.function_name("ping")
@app.route(route="ping", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def ping(req: func.HttpRequest) -> func.HttpResponse:
    """An anonymous route."""
    return func.HttpResponse("pong")


@app.function_name("nightly")
@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=False)
def nightly(timer: func.TimerRequest) -> None:
    """A timer that only runs when asked through /admin/functions/nightly."""
