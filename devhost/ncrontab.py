"""Timer schedules as the Functions host reads them: six-field NCRONTAB, or a TimeSpan interval.

`{second} {minute} {hour} {day} {month} {day-of-week}`, each field `*`, a number or name, a range
`a-b`, a step `*/n`, `a-b/n` or `a/n` (a to the field's maximum), or a comma list of those. Month
and day names are English, case-insensitive, at least three letters (`Jan`, `january`, `Mon`).
Day-of-week runs 0-6 from Sunday. Occurrences are computed in UTC.

Every error names the field at fault; 7 for Sunday is one, as in NCrontab. Where NCrontab (the
library behind the host) or the host is lenient, this parser refuses too: a backwards range
(`22-2`, which NCrontab silently reads as `2-22`), a step of 0, a name shorter than three letters
(NCrontab reads `Ju` as June), a day that never falls in the months given (30 Feb, which would
never fire), five fields (the host would read them as minute-first cron), and `24:00:00`
(24 days to .NET). When both day and day-of-week are restricted, a time must satisfy both, as in
NCrontab; classic Unix cron would accept either.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from typing import Protocol

_MONTHS = tuple(calendar.month_name[1:])
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February in a leap year
_NUMBER = re.compile(r"[0-9]+")
_TIMESPAN = re.compile(r"(?:(?P<d>[0-9]+)\.)?(?P<h>[0-9]{1,2}):(?P<m>[0-9]{1,2}):(?P<s>[0-9]{1,2})")
# Every (date, weekday) pair recurs within one 400-year Gregorian cycle, so a schedule with no
# occurrence in that span has none at all.
_SEARCH_YEARS = 400


class ScheduleSyntaxError(ValueError):
    """A schedule is neither valid NCRONTAB nor a TimeSpan; the message names the bad field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Schedule(Protocol):
    """When a timer fires."""

    @property
    def expression(self) -> str:
        """The expression as written."""
        ...

    @property
    def fires_within_a_minute(self) -> bool:
        """Whether two occurrences can fall less than a minute apart."""
        ...

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment` (timezone-aware), in UTC."""
        ...


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


_FIELDS = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 6, _DAYS),
)


@dataclass(frozen=True)
class CronSchedule:
    """A six-field NCRONTAB schedule; each field holds its allowed values in ascending order."""

    expression: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    days_of_week: tuple[int, ...]  # 0 is Sunday

    @property
    def fires_within_a_minute(self) -> bool:
        """More than one second value means two occurrences in the same minute."""
        return len(self.seconds) > 1

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment`, exact to the second, in UTC."""
        start = _whole_second_after(moment)
        first_floor = (start.hour, start.minute, start.second)
        for day in self._days_from(start.date()):
            floor = first_floor if day == start.date() else (0, 0, 0)
            found = _at_or_after((self.hours, self.minutes, self.seconds), floor)
            if found is not None:
                hour, minute, second = found
                return datetime.combine(day, time(hour, minute, second), tzinfo=UTC)
        raise ValueError(f"{self.expression!r} has no occurrence after {moment.isoformat()}")

    def _days_from(self, first: date) -> Iterator[date]:
        """Days on or after `first` whose month, day and day of week all match, in order."""
        last_year = min(first.year + _SEARCH_YEARS, MAXYEAR)
        for year in range(first.year, last_year + 1):
            for month in self.months:
                if (year, month) < (first.year, first.month):
                    continue
                length = calendar.monthrange(year, month)[1]
                for day in self.days:
                    if day > length:
                        break
                    candidate = date(year, month, day)
                    if candidate >= first and _weekday(candidate) in self.days_of_week:
                        yield candidate


@dataclass(frozen=True)
class IntervalSchedule:
    """A TimeSpan schedule (`hh:mm:ss` or `d.hh:mm:ss`): every interval, counted from the start."""

    expression: str
    interval: timedelta

    @property
    def fires_within_a_minute(self) -> bool:
        """Intervals under a minute, like the host's rule for turning off the schedule monitor."""
        return self.interval < timedelta(minutes=1)

    def next_after(self, moment: datetime) -> datetime:
        """`moment` plus the interval, in UTC."""
        _require_aware(moment)
        return moment.astimezone(UTC) + self.interval


def parse_schedule(expression: str) -> CronSchedule | IntervalSchedule:
    """Parse an NCRONTAB expression, or a TimeSpan when it holds a colon (as the host decides)."""
    text = expression.strip()
    if ":" in text:
        return _parse_timespan(text)
    parts = text.split()
    if len(parts) != len(_FIELDS):
        hint = f"; did you mean '0 {text}'?" if len(parts) == 5 else ""
        raise ScheduleSyntaxError(
            f"{expression!r} has {len(parts)} fields; an NCRONTAB schedule has 6: "
            f"{{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}{hint}"
        )
    values = [_parse_field(part, spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    seconds, minutes, hours, days, months, days_of_week = values
    if not any(day <= _LONGEST_MONTH[month - 1] for day in days for month in months):
        raise ScheduleSyntaxError(
            f"day field {parts[3]!r}: no such day in month {parts[4]!r}, so it would never fire",
            field="day",
        )
    return CronSchedule(text, seconds, minutes, hours, days, months, days_of_week)


def _parse_field(text: str, spec: _Field) -> tuple[int, ...]:
    values: set[int] = set()
    for item in text.split(","):
        values.update(_parse_item(item, text, spec))
    return tuple(sorted(values))


def _parse_item(item: str, text: str, spec: _Field) -> range:
    def fail(problem: str) -> ScheduleSyntaxError:
        return ScheduleSyntaxError(f"{spec.name} field {text!r}: {problem}", field=spec.name)

    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not _NUMBER.fullmatch(step_text) or int(step_text) == 0:
            raise fail(f"the step in {item!r} must be a whole number above 0")
        step = int(step_text)
    if base == "*":
        low, high = spec.low, spec.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _parse_value(first, text, spec), _parse_value(last, text, spec)
        if low > high:
            raise fail(f"the range {base!r} runs backwards; ranges do not wrap around")
    else:
        low = _parse_value(base, text, spec)
        high = spec.high if slash else low  # NCrontab: `a/n` runs from a to the field's end
    return range(low, high + 1, step)


def _parse_value(token: str, text: str, spec: _Field) -> int:
    def fail(problem: str) -> ScheduleSyntaxError:
        return ScheduleSyntaxError(f"{spec.name} field {text!r}: {problem}", field=spec.name)

    if not token:
        raise fail("an empty value (two commas, or a dash or slash with nothing beside it)")
    if _NUMBER.fullmatch(token):
        value = int(token)
        if spec.name == "day-of-week" and value == 7:
            raise fail("7 is not a day of the week in NCRONTAB; Sunday is 0")
        if not spec.low <= value <= spec.high:
            raise fail(f"{value} is outside {spec.low}-{spec.high}")
        return value
    if not spec.names:
        raise fail(f"{token!r} is not a number from {spec.low} to {spec.high}")
    lowered = token.lower()
    for index, name in enumerate(spec.names):
        if len(lowered) >= 3 and name.lower().startswith(lowered):
            return spec.low + index
    raise fail(
        f"{token!r} is neither a number from {spec.low} to {spec.high} nor a name "
        f"such as {spec.names[0][:3]} or {spec.names[0]}"
    )


def _parse_timespan(text: str) -> IntervalSchedule:
    def fail(problem: str) -> ScheduleSyntaxError:
        return ScheduleSyntaxError(f"interval {text!r}: {problem}", field="interval")

    found = _TIMESPAN.fullmatch(text)
    if found is None:
        raise fail("a TimeSpan schedule is hh:mm:ss or d.hh:mm:ss")
    hours, minutes, seconds = int(found["h"]), int(found["m"]), int(found["s"])
    if hours >= 24:
        # .NET reads `24:00:00` as 24 days (dd:hh:mm): refuse rather than guess which was meant.
        raise fail(f"hours must be under 24 (the host reads {hours}:… as days); use d.hh:mm:ss")
    if minutes >= 60 or seconds >= 60:
        raise fail("minutes and seconds must be under 60")
    days = int(found["d"] or 0)
    interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if not interval:
        raise fail("the interval must be longer than zero")
    return IntervalSchedule(text, interval)


def _require_aware(moment: datetime) -> None:
    if moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; schedules run in UTC")


def _whole_second_after(moment: datetime) -> datetime:
    _require_aware(moment)
    return moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)


def _weekday(day: date) -> int:
    return day.isoweekday() % 7  # NCRONTAB counts from Sunday = 0


def _at_or_after(
    fields: tuple[tuple[int, ...], ...], floor: tuple[int, ...]
) -> tuple[int, ...] | None:
    """The smallest combination of field values at or after `floor`, comparing left to right."""
    values, rest = fields[0], fields[1:]
    for value in values:
        if value < floor[0]:
            continue
        if value > floor[0]:
            return (value, *(field[0] for field in rest))
        if not rest:
            return (value,)
        tail = _at_or_after(rest, floor[1:])
        if tail is not None:
            return (value, *tail)
    return None
