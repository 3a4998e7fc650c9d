"""Timer triggers in the local host: NCRONTAB, %SETTING% schedules, the scheduler, the admin API."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import azure.functions as func
import pytest

from devhost.app_settings import resolve_settings
from devhost.host import LocalFunctionsHost
from devhost.ncrontab import ScheduleSyntaxError, parse_schedule
from devhost.timer_functions import TimerFunction, TimerScheduleError
from devhost.timers import MANUAL_REASON, Timer, TimerScheduler, UnknownTimerError
from tests import devhost_timer_app as sample
from tests.logwatch import LogWatch, watching

WAIT_SECONDS = sample.WAIT_SECONDS
START = datetime(2024, 5, 1, 11, 58, 30, tzinfo=UTC)  # a Wednesday
SAMPLE_ENV = {sample.RECORD_SETTING: "0 0 6 * * *"}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- helpers -----------------------------------------------------------------------------------


class FakeClock:
    """A UTC clock that moves only when a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def logs() -> Iterator[LogWatch]:
    with watching("devhost.timers", WAIT_SECONDS) as watch:
        yield watch


@pytest.fixture(autouse=True)
def fresh_sample() -> Iterator[None]:
    sample.RUNS.clear()
    sample.GATE.clear()
    yield
    sample.GATE.set()  # a test that failed midway must not leave `slow` holding a thread


def timer(
    name: str, expression: str, handler: Callable[[func.TimerRequest], None]
) -> TimerFunction:
    parsed = parse_schedule(expression)
    return TimerFunction(
        name=name,
        schedule=expression,
        expression=expression,
        parsed=parsed,
        handler=handler,
        use_monitor=not parsed.fires_within_a_minute,
    )


def recording(name: str, runs: sample.RunLog, clock: FakeClock) -> Callable[..., None]:
    """A timer function that logs each run with the fake time it started at."""

    def handler(timer: func.TimerRequest) -> None:
        runs.add(f"{name}@{clock().time().isoformat()}", timer)

    return handler


@pytest.fixture
def schedulers() -> Iterator[Callable[..., TimerScheduler]]:
    started: list[TimerScheduler] = []

    def start(timers: list[TimerFunction], clock: FakeClock) -> TimerScheduler:
        scheduler = TimerScheduler(timers, clock=clock)
        scheduler.start()
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        scheduler.stop()


def tick(scheduler: TimerScheduler, clock: FakeClock, moment: datetime) -> None:
    clock.now = moment
    scheduler.wake()


@pytest.fixture
def hosts() -> Iterator[Callable[..., LocalFunctionsHost]]:
    built: list[LocalFunctionsHost] = []

    def build(**options: Any) -> LocalFunctionsHost:
        options = {"environ": SAMPLE_ENV, "clock": FakeClock(START), **options}
        host = LocalFunctionsHost(sample.app, port=0, **options)
        built.append(host)
        return host

    yield build
    for host in built:
        host.shutdown()


def post(port: int, path: str, body: bytes = b'{"input": ""}') -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_SECONDS)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- NCRONTAB ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 */5 * * * *", utc(2024, 5, 1, 12, 3, 10), utc(2024, 5, 1, 12, 5)),
        ("0 */5 * * * *", utc(2024, 5, 1, 12, 5), utc(2024, 5, 1, 12, 10)),
        ("0 */5 * * * *", datetime(2024, 5, 1, 12, 4, 59, 999_000, UTC), utc(2024, 5, 1, 12, 5)),
        ("*/20 * * * * *", utc(2024, 5, 1, 12, 0, 41), utc(2024, 5, 1, 12, 1)),
        ("30 * * * * *", utc(2024, 5, 1, 12, 0, 30), utc(2024, 5, 1, 12, 1, 30)),
        ("0 0 9-17/4 * * *", utc(2024, 5, 1, 10), utc(2024, 5, 1, 13)),
        ("0 0 9-17/4 * * *", utc(2024, 5, 1, 17, 0, 1), utc(2024, 5, 2, 9)),
        ("0 10/20 * * * *", utc(2024, 5, 1, 12, 31), utc(2024, 5, 1, 12, 50)),
        ("0 0 6,12,18 * * *", utc(2024, 5, 1, 12), utc(2024, 5, 1, 18)),
        ("0 0 0 1 Jan,jul *", utc(2024, 2, 10), utc(2024, 7, 1)),
        ("0 0 12 * * MONDAY", utc(2024, 5, 1), utc(2024, 5, 6, 12)),
        ("0 30 9 * * Mon-Fri", utc(2024, 5, 3, 10), utc(2024, 5, 6, 9, 30)),
        ("0 0 0 * * 0", utc(2024, 5, 1), utc(2024, 5, 5)),
        ("0 0 0 31 * *", utc(2024, 4, 1), utc(2024, 5, 31)),
        ("0 0 0 1 1 *", utc(2024, 12, 31, 23, 59, 59), utc(2025, 1, 1)),
        ("0 0 0 29 2 *", utc(2023, 6, 1), utc(2024, 2, 29)),
        ("0 0 0 29 2 *", utc(2024, 3, 1), utc(2028, 2, 29)),
        ("0 0 0 13 * Fri", utc(2024, 1, 1), utc(2024, 9, 13)),
        (
            "0 0 12 * * *",
            datetime(2024, 5, 1, 13, 30, tzinfo=timezone(timedelta(hours=2))),
            utc(2024, 5, 1, 12),
        ),
        ("01:00:00", utc(2024, 5, 1, 12, 0, 0), utc(2024, 5, 1, 13)),
        ("1.12:00:00", utc(2024, 5, 1), utc(2024, 5, 2, 12)),
    ],
    ids=[
        "every 5 minutes",
        "strictly after an occurrence",
        "a fraction of a second before",
        "every 20 s across a minute",
        "second 30 of every minute",
        "hour range with a step",
        "range with a step, after its end",
        "a/n runs from a to the end",
        "list",
        "month names in any case",
        "full day name",
        "weekday range by name",
        "Sunday is 0",
        "day 31 skips short months",
        "new year",
        "leap day, next year",
        "leap day, four years on",
        "day and weekday must both match (Friday 13th)",
        "another time zone is converted to UTC",
        "TimeSpan: every hour",
        "TimeSpan with days",
    ],
)
def test_next_after(expression: str, after: datetime, expected: datetime) -> None:
    """The next occurrence is the first one strictly after the given moment, in UTC."""
    assert expected == parse_schedule(expression).next_after(after)


@pytest.mark.parametrize(
    ("expression", "field", "fragment"),
    [
        ("0 0 0 * * 7", "day-of-week", "Sunday is 0"),
        ("0 60 * * * *", "minute", "60 is outside 0-59"),
        ("0 0 24 * * *", "hour", "24 is outside 0-23"),
        ("0 0 0 0 * *", "day", "0 is outside 1-31"),
        ("0 0 0 1 13 *", "month", "13 is outside 1-12"),
        ("*/0 * * * * *", "second", "above 0"),
        ("0 0 22-2 * * *", "hour", "runs backwards"),
        ("0 0 0 30 Feb *", "day", "never fire"),
        ("0 0 0 1 Ju *", "month", "'Ju'"),
        ("0 0 0 * * Funday", "day-of-week", "'Funday'"),
        ("0 1,,2 * * * *", "minute", "empty value"),
        ("0 */5 * * *", None, "did you mean '0 0 */5 * * *'"),
        ("", None, "has 0 fields"),
        ("24:00:00", "interval", "d.hh:mm:ss"),
        ("00:00:00", "interval", "longer than zero"),
        ("01:30", "interval", "hh:mm:ss"),
    ],
    ids=[
        "7 is not Sunday",
        "minute too big",
        "hour too big",
        "day 0",
        "month 13",
        "step 0",
        "backwards range",
        "30 February",
        "ambiguous short name",
        "unknown name",
        "empty list item",
        "five fields",
        "empty",
        "24 hours is 24 days in .NET",
        "zero interval",
        "TimeSpan without seconds",
    ],
)
def test_an_invalid_schedule_names_the_field(
    expression: str, field: str | None, fragment: str
) -> None:
    """A bad expression is refused with the name of the field at fault and what is wrong."""
    with pytest.raises(ScheduleSyntaxError) as raised:
        parse_schedule(expression)

    assert (field, True) == (raised.value.field, fragment in str(raised.value))


def test_a_time_without_a_zone_is_refused() -> None:
    """Schedules run in UTC, so a naive datetime is an error rather than a guess."""
    with pytest.raises(ValueError, match="no time zone"):
        parse_schedule("0 */5 * * * *").next_after(datetime(2024, 5, 1))


# --- %SETTING% ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "defaults", "expected"),
    [
        ({"S": "0 */1 * * * *"}, {}, "0 */1 * * * *"),
        ({"S": "0 */1 * * * *"}, {"S": "0 0 * * * *"}, "0 */1 * * * *"),
        ({}, {"S": "0 0 * * * *"}, "0 0 * * * *"),
        ({"S": "  "}, {"S": "0 0 * * * *"}, "0 0 * * * *"),
    ],
    ids=["from the environment", "the environment beats the default", "default", "blank is unset"],
)
def test_a_setting_schedule_is_resolved(
    environ: dict[str, str], defaults: dict[str, str], expected: str
) -> None:
    """`%S%` takes the setting's value, or its default when it is unset or blank."""
    assert expected == resolve_settings("%S%", environ, defaults)


def test_settings_inside_a_schedule_are_resolved_too() -> None:
    """Like the host, every `%NAME%` in the text is replaced, not only a whole-value one."""
    assert "0 15 */2 * * *" == resolve_settings("0 %M% */%H% * * *", {"M": "15", "H": "2"}, {})


def test_a_missing_setting_fails_the_host_naming_function_and_setting() -> None:
    """An unset setting with no default stops the host being built, not its first tick."""
    with pytest.raises(TimerScheduleError) as raised:
        LocalFunctionsHost(sample.app, port=0, environ={})

    expected = (
        "timer 'record': schedule '%RECORD_SCHEDULE%': "
        "app setting RECORD_SCHEDULE is not set and has no default"
    )
    assert expected == str(raised.value)


def test_a_setting_default_stands_in_for_a_missing_setting(
    hosts: Callable[..., LocalFunctionsHost],
) -> None:
    """`setting_defaults` supplies the schedule of an unset setting."""
    host = hosts(environ={}, setting_defaults={sample.RECORD_SETTING: "0 0 7 * * *"})

    record = next(t for t in host.timers if t.function_name == "record")

    expected = ("%RECORD_SCHEDULE%", "0 0 7 * * *", utc(2024, 5, 2, 7))
    assert expected == (record.schedule, record.expression, record.next_run)


def test_an_invalid_setting_fails_the_host_naming_function_setting_and_field() -> None:
    """A setting that holds a bad expression is reported with the function, setting and field."""
    environ = {sample.RECORD_SETTING: "0 0 6 * * 7"}

    with pytest.raises(TimerScheduleError) as raised:
        LocalFunctionsHost(sample.app, port=0, environ=environ)

    message = str(raised.value)
    expected = (True, True, True)
    assert expected == (
        message.startswith("timer 'record': schedule '%RECORD_SCHEDULE%'"),
        "(from app setting RECORD_SCHEDULE)" in message,
        "day-of-week field '7'" in message,
    )


# --- the scheduler, on a fake clock ------------------------------------------------------------


def test_due_timers_fire_in_time_order(
    schedulers: Callable[..., TimerScheduler], logs: LogWatch
) -> None:
    """Stepping the clock to each next run fires exactly the timers due then, in time order."""
    clock, runs = FakeClock(START), sample.RunLog()
    scheduler = schedulers(
        [
            timer("five", "0 */5 * * * *", recording("five", runs, clock)),
            timer("fast", "*/20 * * * * *", recording("fast", runs, clock)),
        ],
        clock,
    )

    for count in (1, 2, 3, 4, 6):  # both fire at 12:00:00
        tick(scheduler, clock, min(t.next_run for t in scheduler.timers))
        runs.wait_for(count)
        scheduler.wait_idle(WAIT_SECONDS)

    seen = [(run.name, run.past_due) for run in runs.wait_for(6)]
    expected = [
        ("fast@11:58:40", False),
        ("fast@11:59:00", False),
        ("fast@11:59:20", False),
        ("fast@11:59:40", False),
        ("fast@12:00:00", False),
        ("five@12:00:00", False),
    ]
    reasons = [
        message.partition(", Id=")[0]
        for message in logs.messages()
        if message.startswith("Executing 'Functions.five'")
    ]
    expected_reasons = [
        "Executing 'Functions.five' (Reason='Timer fired at 2024-05-01T12:00:00+00:00'"
    ]
    assert (expected, expected_reasons) == (sorted(seen), reasons)


def test_a_monitored_timer_sees_the_schedule_status(
    schedulers: Callable[..., TimerScheduler],
) -> None:
    """A timer gets Last/Next/LastUpdated from the run before; a sub-minute one gets none."""
    clock, runs = FakeClock(START), sample.RunLog()
    scheduler = schedulers(
        [
            timer("minute", "0 * * * * *", recording("minute", runs, clock)),
            timer("fast", "*/30 * * * * *", recording("fast", runs, clock)),
        ],
        clock,
    )

    tick(scheduler, clock, utc(2024, 5, 1, 11, 59))
    runs.wait_for(2)
    scheduler.wait_idle(WAIT_SECONDS)
    tick(scheduler, clock, utc(2024, 5, 1, 12, 0))
    seen = {run.name: run.schedule_status for run in runs.wait_for(4)}

    expected = {
        "minute@11:59:00": {
            "Last": "0001-01-01T00:00:00",
            "Next": "2024-05-01T11:59:00+00:00",
            "LastUpdated": "0001-01-01T00:00:00",
        },
        "minute@12:00:00": {
            "Last": "2024-05-01T11:59:00+00:00",
            "Next": "2024-05-01T12:00:00+00:00",
            "LastUpdated": "2024-05-01T11:59:00+00:00",
        },
        "fast@11:59:00": {},
        "fast@12:00:00": {},
    }
    assert expected == seen


def test_a_failing_timer_is_logged_and_keeps_its_schedule(
    schedulers: Callable[..., TimerScheduler], logs: LogWatch
) -> None:
    """A run that raises is logged with its traceback as Failed, and the next run still comes."""
    clock, runs = FakeClock(START), sample.RunLog()

    def explode(timer: func.TimerRequest) -> None:
        runs.add("explode", timer)
        raise RuntimeError("boom")

    scheduler = schedulers([timer("explode", "*/20 * * * * *", explode)], clock)

    tick(scheduler, clock, utc(2024, 5, 1, 11, 58, 40))
    logs.wait_for("Executed 'Functions.explode' (Failed", 1)
    scheduler.wait_idle(WAIT_SECONDS)
    tick(scheduler, clock, utc(2024, 5, 1, 11, 59, 0))
    failures = logs.wait_for("Executed 'Functions.explode' (Failed", 2)

    expected = (2, [RuntimeError, RuntimeError])
    assert expected == (
        len(runs.wait_for(2)),
        [r.exc_info[0] if r.exc_info else None for r in failures],
    )


def test_an_occurrence_during_a_run_is_skipped_and_the_next_run_is_past_due(
    schedulers: Callable[..., TimerScheduler], logs: LogWatch
) -> None:
    """A timer never overlaps itself: the occurrence is skipped and logged, the next run past
    due; meanwhile another timer keeps its schedule."""
    clock, runs, release = FakeClock(START), sample.RunLog(), threading.Event()
    others = sample.RunLog()

    def hold(timer: func.TimerRequest) -> None:
        runs.add("hold", timer)
        release.wait(WAIT_SECONDS)

    scheduler = schedulers(
        [
            timer("hold", "*/20 * * * * *", hold),
            timer("other", "0 * * * * *", recording("other", others, clock)),
        ],
        clock,
    )

    tick(scheduler, clock, utc(2024, 5, 1, 11, 58, 40))
    runs.wait_for(1)
    tick(scheduler, clock, utc(2024, 5, 1, 11, 59, 0))
    skipped = logs.wait_for("Skipped 'Functions.hold'")
    others_meanwhile = [run.name for run in others.wait_for(1)]
    release.set()
    idle = scheduler.wait_idle(WAIT_SECONDS)
    tick(scheduler, clock, utc(2024, 5, 1, 11, 59, 20))

    expected = (
        True,
        [False, True],
        "Skipped 'Functions.hold' at 2024-05-01T11:59:00+00:00: ",
        ["other@11:59:00"],
    )
    assert expected == (
        idle,
        [run.past_due for run in runs.wait_for(2)],
        skipped[0].getMessage()[: len(expected[2])],
        others_meanwhile,
    )


def test_a_clock_that_jumps_past_occurrences_runs_once_past_due(
    schedulers: Callable[..., TimerScheduler],
) -> None:
    """After a jump (a suspended laptop) the timer runs once, past due, not once per miss."""
    clock, runs = FakeClock(START), sample.RunLog()
    scheduler = schedulers([timer("five", "0 */5 * * * *", recording("five", runs, clock))], clock)

    tick(scheduler, clock, utc(2024, 5, 1, 12, 12, 30))
    seen = runs.wait_for(1)
    scheduler.wait_idle(WAIT_SECONDS)

    expected = ([("five@12:12:30", True)], utc(2024, 5, 1, 12, 15))
    assert expected == ([(r.name, r.past_due) for r in seen], scheduler.timers[0].next_run)


def test_stop_is_immediate_when_the_next_run_is_hours_away(
    schedulers: Callable[..., TimerScheduler],
) -> None:
    """stop() wakes the sleeping scheduler at once rather than after its wait."""
    clock = FakeClock(START)
    scheduler = schedulers([timer("daily", "0 0 6 * * *", lambda timer: None)], clock)

    started = time.monotonic()
    scheduler.stop()
    elapsed = time.monotonic() - started

    assert elapsed < 1.0, f"stop() took {elapsed:.2f}s"


# --- the host ----------------------------------------------------------------------------------


def test_the_host_lists_its_timers_with_their_next_run(
    hosts: Callable[..., LocalFunctionsHost],
) -> None:
    """`timers` names each timer function, its schedule as declared and resolved, its next run."""
    host = hosts()

    expected = (
        Timer("record", "%RECORD_SCHEDULE%", "0 0 6 * * *", utc(2024, 5, 2, 6), False),
        Timer("startup", "0 0 0 1 1 *", "0 0 0 1 1 *", utc(2025, 1, 1), True),
        Timer("fail", "0 0 * * * *", "0 0 * * * *", utc(2024, 5, 1, 12), False),
        Timer("slow", "0 0 * * * *", "0 0 * * * *", utc(2024, 5, 1, 12), False),
        Timer("pulse", "00:00:30", "00:00:30", START + timedelta(seconds=30), False),
    )
    assert expected == host.timers


def test_run_on_startup_runs_the_timer_when_the_host_starts(
    hosts: Callable[..., LocalFunctionsHost],
) -> None:
    """A `run_on_startup` timer runs as serving begins, not past due; the others wait."""
    host = hosts()

    host.start_in_thread()
    seen = sample.RUNS.wait_for(1)

    expected = [("startup", False)]
    assert expected == [(run.name, run.past_due) for run in seen]


def test_run_timer_now_runs_it_once_with_the_bound_name(
    hosts: Callable[..., LocalFunctionsHost], logs: LogWatch
) -> None:
    """run_timer_now passes a TimerRequest by the binding's name, and logs the run as Azure does."""
    host = hosts()

    host.run_timer_now("RECORD")

    run = sample.RUNS.wait_for(1)[0]
    messages = logs.messages()
    expected = (
        ("record", False, {"AdjustForDST": True}),
        f"Executing 'Functions.record' (Reason='{MANUAL_REASON}', Id=",
        "Executed 'Functions.record' (Succeeded, Id=",
    )
    assert expected == (
        (run.name, run.past_due, run.schedule),
        messages[0][: len(expected[1])],
        messages[1][: len(expected[2])],
    )


def test_only_timers_slower_than_a_minute_see_the_schedule_status(
    hosts: Callable[..., LocalFunctionsHost],
) -> None:
    """As on Azure, the 30-second `pulse` gets no schedule status even by default; `record` does."""
    host = hosts()

    host.run_timer_now("record")
    host.run_timer_now("pulse")

    seen = {run.name: sorted(run.schedule_status) for run in sample.RUNS.wait_for(2)}
    expected = {"record": ["Last", "LastUpdated", "Next"], "pulse": []}
    assert expected == seen


def test_run_timer_now_awaits_an_async_timer(hosts: Callable[..., LocalFunctionsHost]) -> None:
    """A coroutine timer function is run to completion before run_timer_now returns."""
    host = hosts()

    host.run_timer_now("pulse")

    expected = ["pulse"]
    assert expected == [run.name for run in sample.RUNS.wait_for(1)]


def test_run_timer_now_raises_what_the_function_raised(
    hosts: Callable[..., LocalFunctionsHost],
) -> None:
    """A failing timer's exception reaches the caller of run_timer_now (a drill must see it)."""
    host = hosts()

    with pytest.raises(RuntimeError, match="timer kaboom"):
        host.run_timer_now("fail")


def test_run_timer_now_refuses_a_name_that_is_not_a_timer(
    hosts: Callable[..., LocalFunctionsHost],
) -> None:
    """An HTTP function or an unknown name is not a timer."""
    host = hosts()

    with pytest.raises(UnknownTimerError, match="'ping'"):
        host.run_timer_now("ping")


def test_the_admin_api_runs_a_timer_and_answers_202(
    hosts: Callable[..., LocalFunctionsHost],
) -> None:
    """POST /admin/functions/{name} answers 202 at once and the timer runs in the background."""
    host = hosts()
    host.start_in_thread()
    sample.RUNS.wait_for(1)  # the startup timer

    status, body = post(host.port, "/admin/functions/record")

    expected = (202, b"", ["startup", "record"])
    assert expected == (status, body, [run.name for run in sample.RUNS.wait_for(2)])


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("POST", "/admin/functions/nothing", 404, "No function named 'nothing'"),
        ("POST", "/admin/functions/ping", 400, "ping is HTTP-triggered; call /api/ping instead"),
        ("GET", "/admin/functions/record", 405, "/admin/functions/record allows POST"),
    ],
    ids=["unknown", "http function", "not POST"],
)
def test_the_admin_api_refuses_what_it_cannot_run(
    hosts: Callable[..., LocalFunctionsHost], method: str, path: str, status: int, message: str
) -> None:
    """Unknown names are 404, HTTP functions 400 and other methods 405, in the JSON error shape."""
    host = hosts()
    host.start_in_thread()
    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=WAIT_SECONDS)
    try:
        connection.request(method, path, body=b'{"input": ""}')
        response = connection.getresponse()
        reply = (response.status, json.loads(response.read())["message"])
    finally:
        connection.close()

    assert (status, message) == reply


def test_a_slow_timer_holds_up_neither_http_nor_other_timers(
    hosts: Callable[..., LocalFunctionsHost],
) -> None:
    """While `slow` runs, HTTP requests are served and another timer runs to completion."""
    host = hosts()
    host.start_in_thread()
    sample.RUNS.wait_for(1)  # the startup timer
    post(host.port, "/admin/functions/slow")
    sample.RUNS.wait_for(2)

    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=WAIT_SECONDS)
    try:
        connection.request("GET", "/api/ping")
        pong = connection.getresponse().read()
    finally:
        connection.close()
    host.run_timer_now("record")
    meanwhile = [run.name for run in sample.RUNS.wait_for(3)]
    sample.GATE.set()

    expected = (b"pong", ["startup", "slow", "record"], "slow finished")
    assert expected == (pong, meanwhile, sample.RUNS.wait_for(4)[-1].name)


def test_shutdown_is_prompt_when_the_next_run_is_hours_away(
    hosts: Callable[..., LocalFunctionsHost],
) -> None:
    """shutdown() interrupts the scheduler's wait, so host and timers stop in under a second."""
    host = hosts()
    host.start_in_thread()
    sample.RUNS.wait_for(1)

    started = time.monotonic()
    host.shutdown()
    elapsed = time.monotonic() - started

    schedulers_left = [t for t in threading.enumerate() if t.name == "devhost-timers"]
    assert ([], True) == (schedulers_left, elapsed < 1.0), f"shutdown() took {elapsed:.2f}s"
