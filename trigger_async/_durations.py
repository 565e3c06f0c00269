"""Time spans written as text (``"15m"``, ``"2 hours"``, ``"1d"``), as token expiries take them."""

from __future__ import annotations

import math
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
    if sign and suffix:
        # As the official SDK's JWT library: a sign and "ago"/"from now" together are refused.
        raise InvalidArgumentError(argument, f"invalid time span {text!r}: a sign and a suffix together")
    unit = unit.lower()
    key = "m" if unit.startswith("mi") or unit == "m" else unit[0]
    # Math.round: halves go up (Python's round() would go to even).
    seconds = math.floor(float(amount) * _UNIT_SECONDS[key] + 0.5)
    if sign == "-" or (suffix or "").lower() == "ago":
        return -seconds
    return seconds
