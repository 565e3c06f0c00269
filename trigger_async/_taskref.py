"""Typed references to tasks: the payload and output types travel with the task id."""

from __future__ import annotations

import dataclasses
from typing import Any, Generic, TypeVar

import attrs
import cattrs

from ._converter import make_strict

__all__ = ["TaskRef", "structure_output"]

P = TypeVar("P")
O = TypeVar("O")  # noqa: E741


@attrs.frozen
class TaskRef(Generic[P, O]):
    """A task id with the types of its payload (``P``) and output (``O``).

    ``TaskRef[Order, Receipt]("process-order", output_type=Receipt)``: type checkers then
    reject a trigger with a payload that is not an ``Order``, and ``runs.retrieve(handle)``
    returns the output as a ``Receipt`` (an attrs class or dataclass, built with its field
    names unchanged).
    """

    id: str
    output_type: type[O] | None = attrs.field(default=None, kw_only=True, repr=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            from .errors import InvalidArgumentError

            raise InvalidArgumentError("TaskRef.id", "must be a non-empty task id")


# User data keeps its own key names, so outputs get a converter with no renaming.
_user_converter = cattrs.Converter(forbid_extra_keys=False)
make_strict(_user_converter)


def structure_output(value: Any, output_type: type[Any] | None) -> Any:
    """``value`` as ``output_type`` when that is an attrs class or dataclass."""
    if value is None or output_type is None:
        return value
    if not (attrs.has(output_type) or dataclasses.is_dataclass(output_type)):
        return value
    return _user_converter.structure(value, output_type)
