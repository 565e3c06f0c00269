"""The one cattrs converter: camelCase wire objects to snake_case attrs models."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .errors import ApiSchemaValidationError

__all__ = ["converter", "structure", "to_camel"]

_T = TypeVar("_T")
_CAMEL = re.compile(r"_([a-z0-9])")


def to_camel(name: str) -> str:
    """``task_identifier`` → ``taskIdentifier``; a trailing ``_`` is dropped (``from_``)."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name.rstrip("_"))


def parse_datetime(value: Any, _: Any = None) -> datetime:
    """An ISO-8601 string (``Z`` or offset; zone-less means UTC) as an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO-8601 string, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10 accepts only 3 or 6 fractional digits.
    match = re.match(r"^(.*?\.)(\d+)(.*)$", text)
    if match and len(match.group(2)) not in (3, 6):
        digits = (match.group(2) + "000000")[:6]
        text = f"{match.group(1)}{digits}{match.group(3)}"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _strict_str(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _strict_bool(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {type(value).__name__}")
    return value


def _strict_int(value: Any, _: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise TypeError(f"expected an integer, got {value!r}")
    return int(value)


def _strict_float(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _is_list(type_: Any) -> bool:
    return get_origin(type_) is list or type_ is list


def make_strict(target: cattrs.Converter) -> None:
    """Refuse JSON of the wrong type instead of converting it (``"false"`` is not ``False``,
    ``null`` is not ``"None"``, ``"abc"`` is not a list of letters)."""
    target.register_structure_hook(str, _strict_str)
    target.register_structure_hook(bool, _strict_bool)
    target.register_structure_hook(int, _strict_int)
    target.register_structure_hook(float, _strict_float)
    target.register_structure_hook(datetime, parse_datetime)

    def list_hook(type_: Any) -> Any:
        args = get_args(type_)
        item_type = args[0] if args else Any
        item_hook = target.get_structure_hook(item_type)

        def structure_list(value: Any, _: Any) -> list[Any]:
            if not isinstance(value, list):
                raise TypeError(f"expected a list, got {type(value).__name__}")
            return [item_hook(item, item_type) for item in value]

        return structure_list

    target.register_structure_hook_factory(_is_list, list_hook)


converter = cattrs.Converter(forbid_extra_keys=False)
make_strict(converter)


def _attrs_hook(cls: type[Any]) -> Any:
    renames = {
        field.name: override(rename=field.metadata.get("wire", to_camel(field.name))) for field in attrs.fields(cls)
    }
    return make_dict_structure_fn(cls, converter, **renames)  # type: ignore[arg-type]


converter.register_structure_hook_factory(attrs.has, _attrs_hook)


def structure(response_body: Any, cls: type[_T], *, status: int = 200, headers: Any = None) -> _T:
    """Build ``cls`` from a response body; a mismatch raises ``ApiSchemaValidationError``."""
    try:
        return converter.structure(response_body, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError, AttributeError) as error:
        problem = _describe(error)
        raise ApiSchemaValidationError(status, headers or {}, response_body, problem) from error


def _describe(error: BaseException) -> str:
    if isinstance(error, cattrs.BaseValidationError):
        notes = cattrs.transform_error(error)
        return "; ".join(notes) if notes else str(error)
    return str(error) or type(error).__name__


def parse(response: Any, cls: type[_T]) -> _T:
    """Build ``cls`` from a transport ``Response`` (its body, status and headers)."""
    return structure(response.body, cls, status=response.status, headers=response.headers)
