"""Timer-triggered functions from their metadata: schedules resolved and parsed, as the host does.

`%SETTING%` references are resolved once, when the host is built, so a missing setting or a bad
expression stops the start rather than the first tick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from azure.functions.decorators.function_app import Function
from azure.functions.decorators.timer import TimerTrigger

from devhost.app_settings import AppSettings, SettingError
from devhost.discovery import Binding, triggered_by
from devhost.ncrontab import Schedule, ScheduleSyntaxError, parse_schedule


class TimerScheduleError(ValueError):
    """A timer's schedule names an app setting that is unset, or is not a valid expression."""


@dataclass(frozen=True)
class TimerFunction:
    """One timer-triggered function as the host schedules it."""

    name: str
    schedule: str  # as declared, e.g. "%READINESS_SCHEDULE%"
    expression: str  # after %SETTING% resolution
    parsed: Schedule = field(repr=False)
    handler: Callable[..., Any] = field(repr=False)
    arg_name: str = "timer"  # the worker passes the TimerRequest by the binding's name
    run_on_startup: bool = False
    use_monitor: bool = True  # whether the function sees schedule_status


def _load_timer(binding: Binding, trigger: TimerTrigger, settings: AppSettings) -> TimerFunction:
    name, schedule = binding.name, str(trigger.schedule)
    try:
        expression = settings.resolve(schedule)
    except SettingError as exc:
        raise TimerScheduleError(f"timer {name!r}: schedule {schedule!r}: {exc}") from exc
    try:
        parsed = parse_schedule(expression)
    except ScheduleSyntaxError as exc:
        source = settings.describe_sources(schedule)
        raise TimerScheduleError(f"timer {name!r}: schedule {schedule!r}{source}: {exc}") from exc
    # Like the host, no schedule status for timers that can fire twice a minute, even if asked.
    use_monitor = trigger.use_monitor is not False and not parsed.fires_within_a_minute
    return TimerFunction(
        name=name,
        schedule=schedule,
        expression=parsed.expression,
        parsed=parsed,
        handler=binding.handler,
        arg_name=binding.arg_name,
        run_on_startup=bool(trigger.run_on_startup),
        use_monitor=use_monitor,
    )


def timers_from_functions(
    functions: Iterable[Function], settings: AppSettings
) -> tuple[TimerFunction, ...]:
    """The timer-triggered functions among `functions`, their schedules resolved and parsed."""
    return tuple(_load_timer(b, t, settings) for b, t in triggered_by(functions, TimerTrigger))
