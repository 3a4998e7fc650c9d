"""A small FunctionApp whose timers the local-host timer tests run; RUNS logs every run."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import azure.functions as func
from azure.functions.timer import TimerRequest

WAIT_SECONDS = 5.0
RECORD_SETTING = "RECORD_SCHEDULE"

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@dataclass(frozen=True)
class Run:
    """One run of a timer function, as the function saw it."""

    name: str
    past_due: bool
    schedule_status: dict[str, str]
    schedule: dict[str, bool]


class RunLog:
    """Runs in the order they started; tests wait on it instead of sleeping."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._runs: list[Run] = []

    def add(self, name: str, timer: func.TimerRequest) -> None:
        """Record that `name` started with this request."""
        if not isinstance(timer, TimerRequest):  # the worker's concrete type, not just the ABC
            raise TypeError(f"{name} got a {type(timer).__name__}")
        run = Run(name, timer.past_due, dict(timer.schedule_status), dict(timer.schedule))
        with self._changed:
            self._runs.append(run)
            self._changed.notify_all()

    def wait_for(self, count: int) -> list[Run]:
        """The runs so far, once there are at least `count`; fail after WAIT_SECONDS."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._runs) >= count, WAIT_SECONDS):
                raise AssertionError(f"{count} runs expected, got {self._runs}")
            return list(self._runs)

    def clear(self) -> None:
        """Forget every run (each test starts from none)."""
        with self._changed:
            self._runs.clear()


RUNS = RunLog()
# `slow` holds its run open until a test sets this, to prove nothing waits for it.
GATE = threading.Event()


@app.function_name("record")
@app.timer_trigger(schedule=f"%{RECORD_SETTING}%", arg_name="myTimer")
def record(myTimer: func.TimerRequest) -> None:
    """A timer whose schedule is an app setting, bound under another name than `timer`."""
    RUNS.add("record", myTimer)


@app.function_name("startup")
@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=True)
def startup(timer: func.TimerRequest) -> None:
    """A yearly timer that also runs when the host starts."""
    RUNS.add("startup", timer)


@app.function_name("fail")
@app.timer_trigger(schedule="0 0 * * * *", arg_name="timer")
def fail(timer: func.TimerRequest) -> None:
    """A timer that always fails."""
    RUNS.add("fail", timer)
    raise RuntimeError("timer kaboom")


@app.function_name("slow")
@app.timer_trigger(schedule="0 0 * * * *", arg_name="timer")
def slow(timer: func.TimerRequest) -> None:
    """A timer that runs until GATE opens, and logs its end as `slow finished`."""
    RUNS.add("slow", timer)
    GATE.wait(WAIT_SECONDS)
    RUNS.add("slow finished", timer)


@app.function_name("pulse")
@app.timer_trigger(schedule="00:00:30", arg_name="timer")
async def pulse(timer: func.TimerRequest) -> None:
    """An async timer on a TimeSpan schedule: the host must await it."""
    await asyncio.sleep(0)
    RUNS.add("pulse", timer)


@app.function_name("ping")
@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    """An HTTP function: the admin API refuses it."""
    return func.HttpResponse("pong")
