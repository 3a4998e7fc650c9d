"""A small FunctionApp that the local-host tests serve: it reports what each function received."""

from __future__ import annotations

import asyncio
import json
import os
import threading

import azure.functions as func

CONCURRENCY = 8
# Every request to `barrier` waits here until CONCURRENCY of them run at once; a host that
# serialised requests would break the barrier at the timeout instead.
BARRIER = threading.Barrier(CONCURRENCY, timeout=10)

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


def _json(value: object, status_code: int = 200) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(value), status_code=status_code, mimetype="application/json"
    )


@app.function_name("echo")
@app.route(route="echo", methods=["GET", "POST", "PUT"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    """Report the request exactly as the function sees it."""
    return _json(
        {
            "method": req.method,
            "url": req.url,
            "params": dict(req.params),
            "route_params": dict(req.route_params),
            "headers": dict(req.headers),
            "body_hex": req.get_body().hex(),
        }
    )


@app.function_name("get_item")
@app.route(route="items/{id:int}", methods=["GET"])
def get_item(req: func.HttpRequest) -> func.HttpResponse:
    """A route parameter with a constraint."""
    return _json({"route_params": dict(req.route_params)})


@app.function_name("special_item")
@app.route(route="items/special", methods=["GET"])
def special_item(req: func.HttpRequest) -> func.HttpResponse:
    """A literal route registered after the parameter route it overlaps."""
    return _json({"special": True})


@app.function_name("greet")
@app.route(route="greet/{name?}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def greet(req: func.HttpRequest) -> func.HttpResponse:
    """An optional route parameter."""
    return _json({"route_params": dict(req.route_params)})


@app.function_name("upload")
@app.route(route="upload", methods=["POST"])
def upload(req: func.HttpRequest) -> func.HttpResponse:
    """Send the body back as is, with a status and header of its own."""
    body = req.get_body()
    return func.HttpResponse(
        body,
        status_code=201,
        headers={"X-Body-Length": str(len(body))},
        mimetype="application/octet-stream",
    )


@app.function_name("shout")
@app.route(route="shout/{word}", methods=["GET"])
async def shout(req: func.HttpRequest) -> func.HttpResponse:
    """An async function: the host must await it."""
    await asyncio.sleep(0)
    return func.HttpResponse(req.route_params["word"].upper())


@app.function_name("boom")
@app.route(route="boom", methods=["GET"])
def boom(req: func.HttpRequest) -> func.HttpResponse:
    """A function that fails."""
    raise RuntimeError("kaboom")


@app.function_name("barrier")
@app.route(route="barrier", methods=["GET"])
def barrier(req: func.HttpRequest) -> func.HttpResponse:
    """Succeed only when CONCURRENCY requests are in flight together."""
    BARRIER.wait()
    return _json({"passed": True})


@app.function_name("settings")
@app.route(route="settings", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def settings(req: func.HttpRequest) -> func.HttpResponse:
    """The settings `python -m devhost.run` gives the app."""
    names = ("FAILOVER_CONFIG", "FailoverStorage")
    return _json({name: os.environ.get(name) for name in names})


@app.function_name("tick")
@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    """A timer: it has no URL and the host must skip it."""
