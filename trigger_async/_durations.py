"""Time spans written as text (``"15m"``, ``"2 hours"``, ``"1d"``), as token expiries take them."""

from __future__ import annotations

import re

from .errors import InvalidArgumentError

_SPAN = re.compile(
    r"^(\+|-)? ?(\d+|\d+\.\d+) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d"
    r"|weeks?|w|years?|yrs?|y)(?: (ago|from now))?$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31557600}


def parse_time_span(text: str, argument: str) -> int:
    """Whole seconds of a span in the syntax the official SDK's JWT library accepts."""
    match = _SPAN.match(text.strip())
    if match is None:
        raise InvalidArgumentError(argument, f"invalid time span {text!r}; use e.g. '15m', '2h', '7d'")
    sign, amount, unit, suffix = match.groups()
    unit = unit.lower()
    key = "m" if unit.startswith("mi") or unit == "m" else unit[0]
    seconds = round(float(amount) * _UNIT_SECONDS[key])
    if sign == "-" or (suffix or "").lower() == "ago":
        if sign == "-" and (suffix or "").lower() == "ago":
            raise InvalidArgumentError(argument, f"invalid time span {text!r}")
        return -seconds
    return seconds
