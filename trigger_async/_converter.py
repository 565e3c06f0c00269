"""The one cattrs converter: camelCase wire objects to snake_case attrs models."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, TypeVar

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


converter = cattrs.Converter(forbid_extra_keys=False)
converter.register_structure_hook(datetime, parse_datetime)


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
