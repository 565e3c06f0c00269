"""Clock, durations and dates, parsed with the grammars the real server uses.

All instants are integer epoch milliseconds: the API's timestamps and cursors have millisecond
precision, and comparing integers keeps list ordering and cursors exact.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import re
import time
from typing import Final

SECOND: Final = 1000
MINUTE: Final = 60 * SECOND
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR
WEEK: Final = 7 * DAY


class Clock:
    """Wall clock in epoch ms that tests can move forward (DELAYED, TTL, idempotency expiry)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def now_ms(self) -> int:
        """Current emulator time."""
        return int(time.time() * 1000) + self.offset_ms

    def advance(self, seconds: float) -> None:
        """Move emulator time forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        self.offset_ms += round(seconds * 1000)


def iso(ms: int) -> str:
    """``Date.toISOString()``: UTC, three fractional digits, ``Z``."""
    moment = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso_naive(ms: int) -> str:
    """A database timestamp as Electric sends it: UTC, three fractional digits, no zone."""
    return iso(ms)[:-1]


def js_date_string(ms: int) -> str:
    """``String(date)`` on a server running in UTC (used in a reschedule error message)."""
    moment = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.timezone.utc)
    return moment.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")


# The run engine's duration grammar (delay, ttl): units may be combined, e.g. "2h30m".
_DURATION = re.compile(r"^(\d+(w|d|hr|h|m|s))+$")
_DURATION_PART = re.compile(r"(\d+)(w|d|hr|h|m|s)")
_UNIT_MS: Final = {"w": WEEK, "d": DAY, "hr": HOUR, "h": HOUR, "m": MINUTE, "s": SECOND}


def parse_duration_ms(text: str) -> int | None:
    """Milliseconds of a duration like ``1h`` / ``2h30m`` / ``1w2d``; ``None`` if not one."""
    if len(text) > 100 or not _DURATION.match(text):
        return None
    return sum(int(n) * _UNIT_MS[unit] for n, unit in _DURATION_PART.findall(text))


_IDEMPOTENCY_TTL = re.compile(r"^(\d+)([smhd])$")


def parse_idempotency_ttl_ms(text: str | None) -> int | None:
    """``idempotencyKeyTTL``: strictly ``^\\d+[smhd]$``; anything else means "use the default"."""
    if text is None:
        return None
    match = _IDEMPOTENCY_TTL.match(text)
    if not match:
        return None
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def stringify_duration(seconds: float) -> str | None:
    """A TTL given in seconds as the duration string the server stores (90 -> ``1m30s``)."""
    total = int(seconds)
    if total <= 0:
        return None
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


# parse-duration (used for `filter[createdAt][period]`) accepts decimals and many unit names.
_PERIOD_PART = re.compile(r"(-?\d*\.?\d+(?:e[-+]?\d+)?)\s*([a-zµμ]*)", re.IGNORECASE)
_PERIOD_UNITS: Final = {
    "ms": 1.0,
    "millisecond": 1.0,
    "milliseconds": 1.0,
    "s": SECOND,
    "sec": SECOND,
    "secs": SECOND,
    "second": SECOND,
    "seconds": SECOND,
    "m": MINUTE,
    "min": MINUTE,
    "mins": MINUTE,
    "minute": MINUTE,
    "minutes": MINUTE,
    "h": HOUR,
    "hr": HOUR,
    "hrs": HOUR,
    "hour": HOUR,
    "hours": HOUR,
    "d": DAY,
    "day": DAY,
    "days": DAY,
    "w": WEEK,
    "wk": WEEK,
    "week": WEEK,
    "weeks": WEEK,
    "b": DAY * 365.25 / 12,
    "month": DAY * 365.25 / 12,
    "months": DAY * 365.25 / 12,
    "y": DAY * 365.25,
    "yr": DAY * 365.25,
    "year": DAY * 365.25,
    "years": DAY * 365.25,
}


def parse_period_ms(text: str) -> int | None:
    """A list-filter period such as ``1d``, ``7d``, ``3h`` or ``1.5h``; ``None`` if invalid."""
    stripped = text.replace(",", "").strip()
    if not stripped:
        return None
    total = 0.0
    position = 0
    for match in _PERIOD_PART.finditer(stripped):
        if stripped[position : match.start()].strip():
            return None
        unit = match.group(2).lower() or "ms"
        if unit not in _PERIOD_UNITS:
            return None
        total += float(match.group(1)) * _PERIOD_UNITS[unit]
        position = match.end()
    if position == 0 or stripped[position:].strip():
        return None
    return round(total)


_ISO = re.compile(
    r"^([+-]\d{6}|\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_js_date(text: str) -> int | None:
    """Epoch ms of a string that JavaScript's ``new Date(text)`` understands, else ``None``.

    Covers ISO 8601 (date-only and zone-less forms are read as UTC, the server's zone) and
    RFC 2822 dates; JavaScript's looser legacy formats are not attempted.
    """
    text = text.strip()
    match = _ISO.match(text)
    if match:
        year_s, month_s, day_s, hour_s, minute_s, second_s, fraction, zone = match.groups()
        try:
            moment = _dt.datetime(
                int(year_s),
                int(month_s or 1),
                int(day_s or 1),
                int(hour_s or 0),
                int(minute_s or 0),
                int(second_s or 0),
                tzinfo=_dt.timezone.utc,
            )
        except ValueError:
            return None
        millis = int((fraction or "0")[:3].ljust(3, "0"))
        offset = 0
        if zone and zone not in ("Z", "z"):
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0))
        epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        delta = moment - epoch
        return (delta.days * 86400 + delta.seconds) * 1000 + millis - offset * MINUTE
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return int(parsed.timestamp() * 1000)
