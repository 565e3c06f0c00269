"""Cron expressions for schedules: validation, the next run time and a readable description.

Validation follows the server: more than five space-separated fields means seconds (not
allowed), an empty expression is required, and the rest must parse as cron-parser 4
parses it (right-aligned fields, ``*``/``?``, lists, ranges, steps, month and weekday
names, ``L`` and ``#``). Error texts are cron-parser's. Next times are computed in the
schedule's timezone at minute resolution.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Sequence
from typing import Final
from zoneinfo import ZoneInfo

import attrs

_PREDEFINED: Final = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
    "@minutely": "0 * * * * *",
    "@secondly": "* * * * * *",
    "@weekdays": "0 0 0 * * 1-5",
    "@weekends": "0 0 0 * * 0,6",
}
_DEFAULTS: Final = ("0", "*", "*", "*", "*", "*")
# (name, minimum, maximum) for second, minute, hour, day of month, month, day of week
_FIELDS: Final = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("dayOfMonth", 1, 31),
    ("month", 1, 12),
    ("dayOfWeek", 0, 7),
)
_MONTHS: Final = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_VALID_CHARS: Final = {
    "dayOfMonth": re.compile(r"^[\d/*,\-?LW]+$"),
    "dayOfWeek": re.compile(r"^[\d/*,\-?L#]+$"),
}
_PLAIN_CHARS: Final = re.compile(r"^[\d/*,\-?]+$")
_SEARCH_DAYS: Final = 366 * 5


class CronError(ValueError):
    """An expression cron-parser rejects; ``str(error)`` is its message."""


@attrs.frozen
class CronSchedule:
    """A parsed expression: allowed values per field, plus the day-matching specials."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    last_day: bool = False
    last_weekdays: frozenset[int] = frozenset()
    nth_weekdays: frozenset[tuple[int, int]] = frozenset()
    days_wildcard: bool = True
    weekdays_wildcard: bool = True

    def _day_matches(self, day: _dt.date) -> bool:
        if day.month not in self.months:
            return False
        weekday = (day.weekday() + 1) % 7  # cron: Sunday is 0
        next_month = (day.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)
        last = (next_month - _dt.timedelta(days=1)).day
        dom = day.day in self.days or (self.last_day and day.day == last)
        dow = (
            weekday in self.weekdays
            or (weekday in self.last_weekdays and day.day + 7 > last)
            or (weekday, (day.day - 1) // 7 + 1) in self.nth_weekdays
        )
        if self.days_wildcard and self.weekdays_wildcard:
            return True
        if self.days_wildcard:
            return dow
        if self.weekdays_wildcard:
            return dom
        return dom or dow

    def next_after(self, after_ms: int, timezone: str) -> int | None:
        """Epoch ms of the first occurrence strictly after ``after_ms``, in ``timezone``."""
        zone = ZoneInfo(timezone)
        start = _dt.datetime.fromtimestamp(after_ms / 1000, tz=zone)
        day = start.date()
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    if day == start.date() and hour < start.hour:
                        continue
                    for minute in sorted(self.minutes):
                        local = _dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                        moment = int(local.timestamp()) * 1000
                        if moment > after_ms:
                            return moment
            day += _dt.timedelta(days=1)
        return None


def _resolve_aliases(field: str, value: str) -> str:
    names = _MONTHS if field == "month" else _WEEKDAYS if field == "dayOfWeek" else None
    if names is None:
        return value

    def replace(match: re.Match[str]) -> str:
        name = match.group(0).lower()
        if name not in names:
            raise CronError(f'Validation error, cannot resolve alias "{name}"')
        return str(names.index(name) + (1 if field == "month" else 0))

    return re.sub(r"[a-zA-Z]{3}", replace, value)


def _number(text: str, low: int, high: int) -> int:
    if not text.isdigit():
        raise CronError(f"Constraint error, got value {text} expected range {low}-{high}")
    number = int(text)
    if number < low or number > high:
        raise CronError(f"Constraint error, got value {number} expected range {low}-{high}")
    return number


def _parse_part(part: str, low: int, high: int) -> set[int]:
    base, _, step_text = part.partition("/")
    step = 1
    if step_text or part.endswith("/"):
        if not step_text.isdigit() or int(step_text) == 0:
            raise CronError(f"Constraint error, cannot repeat at every {step_text} time.")
        step = int(step_text)
    if base in ("*", "?"):
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _number(first, low, high), _number(last, low, high)
        if start > end:
            raise CronError(f"Invalid range: {base}")
    else:
        start = _number(base, low, high)
        end = high if step_text else start
    return set(range(start, end + 1, step))


def parse_cron(expression: str) -> CronSchedule:
    """Parse like cron-parser 4's ``parseExpression``; raises ``CronError``."""
    expression = _PREDEFINED.get(expression, expression)
    atoms = expression.strip().split()
    if len(atoms) > len(_DEFAULTS):
        raise CronError("Invalid cron expression")
    values = list(_DEFAULTS)
    for offset, atom in enumerate(atoms):
        values[len(_DEFAULTS) - len(atoms) + offset] = atom
    parsed: dict[str, set[int]] = {}
    specials: dict[str, object] = {"last_day": False, "last_weekdays": set(), "nth_weekdays": set()}
    for (field, low, high), raw in zip(_FIELDS, values, strict=True):
        value = _resolve_aliases(field, raw)
        pattern = _VALID_CHARS.get(field, _PLAIN_CHARS)
        if not pattern.match(value):
            raise CronError(f"Invalid characters, got value: {value}")
        allowed: set[int] = set()
        for part in value.split(","):
            if field == "dayOfMonth" and part == "L":
                specials["last_day"] = True
            elif field == "dayOfWeek" and part.endswith("L") and part[:-1].isdigit():
                last_weekdays = specials["last_weekdays"]
                assert isinstance(last_weekdays, set)
                last_weekdays.add(_number(part[:-1], low, high) % 7)
            elif field == "dayOfWeek" and "#" in part:
                day_text, _, nth_text = part.partition("#")
                nth = int(nth_text) if nth_text.isdigit() else 0
                if not 1 <= nth <= 5:
                    raise CronError("Constraint error, invalid dayOfWeek occurrence number (#)")
                nth_weekdays = specials["nth_weekdays"]
                assert isinstance(nth_weekdays, set)
                nth_weekdays.add((_number(day_text, low, high) % 7, nth))
            elif "L" in part or "W" in part or "#" in part:
                raise CronError(f"Constraint error, got value {part} expected range {low}-{high}")
            else:
                allowed |= _parse_part(part, low, high)
        if field == "dayOfWeek":
            allowed = {day % 7 for day in allowed}
        parsed[field] = allowed
    last_weekdays = specials["last_weekdays"]
    nth_weekdays = specials["nth_weekdays"]
    assert isinstance(last_weekdays, set) and isinstance(nth_weekdays, set)
    return CronSchedule(
        minutes=frozenset(parsed["minute"]),
        hours=frozenset(parsed["hour"]),
        days=frozenset(parsed["dayOfMonth"]),
        months=frozenset(parsed["month"]),
        weekdays=frozenset(parsed["dayOfWeek"]),
        last_day=bool(specials["last_day"]),
        last_weekdays=frozenset(last_weekdays),
        nth_weekdays=frozenset(nth_weekdays),
        days_wildcard=values[3] in ("*", "?"),
        weekdays_wildcard=values[5] in ("*", "?"),
    )


def cron_problem(expression: str) -> str | None:
    """The server's reason to reject a schedule's cron, or ``None`` when it is valid."""
    if len(expression.split(" ")) > 5:
        return "CRON expressions with seconds are not allowed"
    if expression == "":
        return "CRON expression is required"
    try:
        parse_cron(expression)
    except CronError as exc:
        return str(exc)
    return None


# descriptions ------------------------------------------------------------------------------

_DAY_NAMES: Final = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _clock(hour: int, minute: int) -> str:
    suffix = "AM" if hour < 12 else "PM"
    shown = hour % 12 or 12
    return f"{shown:02d}:{minute:02d} {suffix}"


def _join(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def _named(field: str, names: Sequence[str], offset: int) -> str | None:
    parts: list[str] = []
    for part in field.split(","):
        if "/" in part:
            return None
        first, dash, last = part.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            return None
        if dash:
            parts.append(f"{names[int(first) - offset]} through {names[int(last) - offset]}")
        else:
            parts.append(names[int(first) - offset])
    return _join(parts)


def _time_part(minute: str, hour: str) -> str:
    if minute.isdigit() and hour.isdigit():
        return f"At {_clock(int(hour), int(minute))}"
    if minute == "*" and hour == "*":
        return "Every minute"
    if minute.startswith("*/") and hour == "*":
        return f"Every {minute[2:]} minutes"
    if minute.isdigit() and hour == "*":
        return "Every hour" if minute == "0" else f"At {minute} minutes past the hour"
    if minute.isdigit() and hour.startswith("*/"):
        return f"At {minute} minutes past the hour, every {hour[2:]} hours"
    if minute.isdigit() and "," in hour and all(h.isdigit() for h in hour.split(",")):
        return "At " + _join([_clock(int(h), int(minute)) for h in hour.split(",")])
    minute_text = "every minute" if minute == "*" else f"minute {minute}"
    hour_text = "" if hour == "*" else f", past hour {hour}"
    return f"At {minute_text}{hour_text}"


def describe_cron(expression: str) -> str:
    """A readable description of a valid five-field expression (cronstrue's wording for the
    common forms, e.g. ``0 9 * * 1-5`` is ``At 09:00 AM, Monday through Friday``)."""
    atoms = _PREDEFINED.get(expression, expression).split()
    atoms = ["*"] * (5 - len(atoms)) + atoms if len(atoms) < 5 else atoms[-5:]
    minute, hour, dom, month, dow = atoms
    text = _time_part(minute, hour)
    if dom == "L":
        text += ", on the last day of the month"
    elif dom not in ("*", "?"):
        text += f", on day {dom.replace(',', ' and ')} of the month"
    if dow not in ("*", "?"):
        try:
            named = _named(_resolve_aliases("dayOfWeek", dow), _DAY_NAMES, 0)
        except CronError:
            named = None
        if named is None:
            text += f", day {dow} of the week"
        elif "through" in named:
            text += f", {named}"
        else:
            text += f", only on {named}"
    if month not in ("*", "?"):
        try:
            named = _named(_resolve_aliases("month", month), _MONTH_NAMES, 1)
        except CronError:
            named = None
        if named is None:
            text += f", month {month}"
        elif "through" in named:
            text += f", {named}"
        else:
            text += f", only in {named}"
    return text
