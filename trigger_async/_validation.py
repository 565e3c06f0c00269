"""Argument checks shared by the resources; every failure names the argument."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ._constants import MACHINE_PRESETS
from ._serialization import dumps_js, js_iso
from .errors import InvalidArgumentError, InvalidArgumentTypeError

_TTL_PATTERN = re.compile(r"^\d+[smhd]$")


def type_name(value: object) -> str:
    return type(value).__name__


def require_str(value: object, argument: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(argument, f"expected str, got {type_name(value)}")
    if not allow_empty and not value:
        raise InvalidArgumentError(argument, "must not be empty")
    return value


def optional_str(value: object, argument: str) -> str | None:
    return None if value is None else require_str(value, argument)


def run_id_of(value: object, argument: str = "run_id") -> str:
    """A run id given as a string or as an object with an ``id`` (a handle or a run)."""
    if isinstance(value, str):
        return require_str(value, argument)
    run_id = getattr(value, "id", None)
    if isinstance(value, Mapping):
        run_id = value.get("id")
    if isinstance(run_id, str) and run_id:
        return run_id
    raise InvalidArgumentTypeError(argument, f"expected a run id or an object with an id, got {type_name(value)}")


def optional_number(
    value: object, argument: str, *, minimum: float | None = None, integer: bool = False
) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentTypeError(argument, f"expected a number, got {type_name(value)}")
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise InvalidArgumentError(argument, f"must be a finite number, got {value!r}")
    if integer and not (isinstance(value, int) or value.is_integer()):
        raise InvalidArgumentError(argument, f"must be a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(argument, f"must be >= {minimum:g}, got {value!r}")
    return int(value) if integer else value


def required_number(
    value: object, argument: str, *, minimum: float | None = None, integer: bool = False
) -> int | float:
    number = optional_number(value, argument, minimum=minimum, integer=integer)
    if number is None:
        raise InvalidArgumentTypeError(argument, "expected a number, got None")
    return number


def seconds_of(value: object, argument: str, *, minimum: float = 0) -> int | float | None:
    """Seconds given as a number or a ``timedelta``."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
        if value.is_integer():
            value = int(value)
    return optional_number(value, argument, minimum=minimum)


def whole_seconds(delta: timedelta, argument: str) -> int:
    seconds = delta.total_seconds()
    if seconds < 0 or not seconds.is_integer():
        raise InvalidArgumentError(argument, f"must be a non-negative whole number of seconds, got {delta!r}")
    return int(seconds)


def delay_value(value: object, argument: str = "delay") -> str | None:
    """A delay as the wire wants it: a duration string, or an ISO date for a ``datetime``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return js_iso(value, argument=argument)
    if isinstance(value, timedelta):
        return f"{whole_seconds(value, argument)}s"
    if isinstance(value, str):
        return require_str(value, argument)
    raise InvalidArgumentTypeError(
        argument, f"expected a duration string, a timedelta or a datetime, got {type_name(value)}"
    )


def ttl_value(value: object, argument: str = "ttl") -> str | int | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return whole_seconds(value, argument)
    if isinstance(value, str):
        return require_str(value, argument)
    number = optional_number(value, argument, minimum=0, integer=True)
    return None if number is None else int(number)


def idempotency_ttl_value(value: object, argument: str = "idempotency_key_ttl") -> str | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return f"{whole_seconds(value, argument)}s"
    text = require_str(value, argument)
    # The server silently ignores any other spelling (and keeps the 30-day default).
    if not _TTL_PATTERN.match(text):
        raise InvalidArgumentError(argument, f"must look like '30s', '5m', '1h' or '7d', got {text!r}")
    return text


def tags_value(value: object, argument: str = "tags") -> str | list[str] | None:
    if value is None:
        return None
    tags: list[str]
    if isinstance(value, str):
        tags = [value]
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        tags = list(value)
    else:
        raise InvalidArgumentTypeError(argument, f"expected a str or a list of str, got {type_name(value)}")
    for tag in tags:
        if not isinstance(tag, str):
            raise InvalidArgumentTypeError(argument, f"tags must be str, got {type_name(tag)}")
        if len(tag) > 128:
            raise InvalidArgumentError(argument, f"a tag is at most 128 characters, got {len(tag)}")
    if len(tags) > 10:
        raise InvalidArgumentError(argument, f"a run has at most 10 tags, got {len(tags)}")
    # A single string stays a string on the wire, as the official SDK sends it.
    return value if isinstance(value, str) else tags


def machine_value(value: object, argument: str = "machine") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in MACHINE_PRESETS:
        raise InvalidArgumentError(argument, f"must be one of {', '.join(sorted(MACHINE_PRESETS))}, got {value!r}")
    return str(value)


def json_object(value: object, argument: str) -> dict[str, Any] | None:
    """A JSON object that will be sent as is (keys never renamed)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArgumentTypeError(argument, f"expected a mapping, got {type_name(value)}")
    converted: dict[str, Any] = _json_dates(dict(value), argument)
    dumps_js(converted, path=argument)  # raises naming the bad path
    return converted


def _json_dates(value: Any, where: str) -> Any:
    """Aware datetimes become ISO strings, as ``JSON.stringify`` writes a ``Date``."""
    if isinstance(value, datetime):
        return js_iso(value, argument=where)
    if isinstance(value, dict):
        return {k: _json_dates(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_dates(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def str_list(value: object, argument: str, *, allowed: frozenset[str] | None = None) -> list[str] | None:
    """A str or a sequence of str (for comma-joined filters)."""
    if value is None:
        return None
    items: list[Any]
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        items = list(value)
    else:
        raise InvalidArgumentTypeError(argument, f"expected a str or a list of str, got {type_name(value)}")
    for item in items:
        if not isinstance(item, str):
            raise InvalidArgumentTypeError(argument, f"items must be str, got {type_name(item)}")
        if not item:
            # The server would drop an empty filter and widen the listing to everything.
            raise InvalidArgumentError(argument, "must not contain empty strings")
        if allowed is not None and item not in allowed:
            raise InvalidArgumentError(argument, f"{item!r} is not one of {', '.join(sorted(allowed))}")
    return items


def check_choice(value: object, argument: str, choices: Sequence[str]) -> str | None:
    if value is None:
        return None
    if value not in choices:
        raise InvalidArgumentError(argument, f"must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def check_bool(value: object, argument: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise InvalidArgumentTypeError(argument, f"expected bool, got {type_name(value)}")
    return value
