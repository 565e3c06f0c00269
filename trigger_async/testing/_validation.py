"""A small schema validator that reports problems the way the real server does.

The Trigger.dev webapp validates with zod 3 and turns body issues into one string with
zod-validation-error; query, header and parameter issues are returned as raw zod issue objects.
SDK tests compare those answers verbatim, so this module reproduces zod's semantics that
shape the output: the order issues are found in, the "dirty" versus "aborted" distinction
that decides whether a union reports one branch or all of them, default messages, and the
issue objects' fields.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

PathItem = str | int
Path = tuple[PathItem, ...]


class _Missing:
    """JavaScript's ``undefined``: a key that is absent, as opposed to present and ``null``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


class Status(enum.IntEnum):
    """Outcome of parsing one value, ordered from best to worst as zod merges them."""

    VALID = 0
    DIRTY = 1  # the type was right but a check failed: unions report only this branch
    ABORTED = 2  # the type was wrong: unions keep looking and may report every branch


@attrs.frozen
class Issue:
    """One zod issue: ``fields`` are the code-specific members, in zod's order."""

    code: str
    message: str
    path: Path
    fields: tuple[tuple[str, Any], ...] = ()
    union_errors: tuple[tuple[Issue, ...], ...] = ()

    def to_zod(self) -> dict[str, Any]:
        """The issue as zod serialises it inside a ``details`` array (zod's key order)."""
        out: dict[str, Any] = {}
        if self.code == "invalid_enum_value":
            out["received"] = dict(self.fields)["received"]
        out["code"] = self.code
        out.update(self.fields)
        if self.union_errors:
            out["unionErrors"] = [
                {"issues": [i.to_zod() for i in errs], "name": "ZodError"} for errs in self.union_errors
            ]
        # Checks and refinements carry their message in the issue data, so it precedes path.
        if self.code in ("custom", "too_big", "too_small"):
            out["message"] = self.message
        out["path"] = list(self.path)
        out["message"] = self.message
        return out


Result = tuple[Status, Any]


def js_type(value: Any) -> str:
    """zod's name for the type of a decoded JSON value (``received`` in issues)."""
    if value is MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return "nan"
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def js_number_text(value: float) -> str:
    """Format a number as JavaScript's ``String(n)`` does for the values that reach messages."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _type_issue(expected: str, value: Any, path: Path) -> Issue:
    received = js_type(value)
    message = "Required" if value is MISSING else f"Expected {expected}, received {received}"
    return Issue("invalid_type", message, path, (("expected", expected), ("received", received)))


class Schema:
    """Base class: ``parse`` appends issues and returns the status and the parsed value."""

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        raise NotImplementedError

    def optional(self) -> Schema:
        """Accept an absent value."""
        return Optional(self)

    def nullish(self) -> Schema:
        """Accept an absent value or ``null``."""
        return Optional(self, allow_null=True)


class AnyValue(Schema):
    """``z.any()``: everything, including absence."""

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        return Status.VALID, value


@attrs.frozen
class Optional(Schema):
    """``.optional()`` / ``.nullish()``."""

    inner: Schema
    allow_null: bool = False

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        if value is MISSING or (self.allow_null and value is None):
            return Status.VALID, value
        return self.inner.parse(value, path, issues)


@attrs.frozen
class String(Schema):
    """``z.string()`` with optional length checks and custom messages."""

    min_length: int | None = None
    max_length: int | None = None
    max_message: str | None = None
    min_message: str | None = None

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        if not isinstance(value, str):
            issues.append(_type_issue("string", value, path))
            return Status.ABORTED, value
        status = Status.VALID
        # JavaScript counts UTF-16 code units.
        length = len(value.encode("utf-16-le")) // 2
        if self.min_length is not None and length < self.min_length:
            issues.append(
                Issue(
                    "too_small",
                    self.min_message or f"String must contain at least {self.min_length} character(s)",
                    path,
                    (
                        ("minimum", self.min_length),
                        ("type", "string"),
                        ("inclusive", True),
                        ("exact", False),
                    ),
                )
            )
            status = Status.DIRTY
        if self.max_length is not None and length > self.max_length:
            issues.append(
                Issue(
                    "too_big",
                    self.max_message or f"String must contain at most {self.max_length} character(s)",
                    path,
                    (
                        ("maximum", self.max_length),
                        ("type", "string"),
                        ("inclusive", True),
                        ("exact", False),
                    ),
                )
            )
            status = Status.DIRTY
        return status, value


_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_JS_WHITESPACE = " \t\n\r\v\f\u00a0\ufeff\u2028\u2029"


def js_to_number(value: Any) -> float:
    """JavaScript ``Number(value)`` for the JSON and header values the server coerces."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if value is None:
        return 0.0
    if isinstance(value, str):
        text = value.strip(_JS_WHITESPACE)
        if text == "":
            return 0.0
        if _DECIMAL.fullmatch(text):
            return float(text)
        lowered = text.lower()
        for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
            if lowered.startswith(prefix):
                try:
                    return float(int(text[2:], base))
                except ValueError:
                    return math.nan
        if text in ("Infinity", "+Infinity"):
            return math.inf
        if text == "-Infinity":
            return -math.inf
    return math.nan


@attrs.frozen
class Number(Schema):
    """``z.number()`` / ``z.coerce.number()`` with ``int``, ``min``, ``max`` checks."""

    integer: bool = False
    minimum: float | None = None
    min_inclusive: bool = True
    maximum: float | None = None
    max_inclusive: bool = True
    coerce: bool = False

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        if self.coerce:
            value = js_to_number(value)
            if value.is_integer() and abs(value) < 2**53:
                value = int(value)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (isinstance(value, float) and math.isnan(value))
        ):
            issues.append(_type_issue("number", value, path))
            return Status.ABORTED, value
        status = Status.VALID
        if self.integer and not (isinstance(value, int) or value.is_integer()):
            issues.append(
                Issue(
                    "invalid_type",
                    "Expected integer, received float",
                    path,
                    (("expected", "integer"), ("received", "float")),
                )
            )
            status = Status.DIRTY
        if self.minimum is not None and (value < self.minimum or (not self.min_inclusive and value == self.minimum)):
            bound = js_number_text(self.minimum)
            relation = "greater than or equal to" if self.min_inclusive else "greater than"
            issues.append(
                Issue(
                    "too_small",
                    f"Number must be {relation} {bound}",
                    path,
                    (
                        ("minimum", self.minimum),
                        ("type", "number"),
                        ("inclusive", self.min_inclusive),
                        ("exact", False),
                    ),
                )
            )
            status = Status.DIRTY
        if self.maximum is not None and (value > self.maximum or (not self.max_inclusive and value == self.maximum)):
            bound = js_number_text(self.maximum)
            relation = "less than or equal to" if self.max_inclusive else "less than"
            issues.append(
                Issue(
                    "too_big",
                    f"Number must be {relation} {bound}",
                    path,
                    (
                        ("maximum", self.maximum),
                        ("type", "number"),
                        ("inclusive", self.max_inclusive),
                        ("exact", False),
                    ),
                )
            )
            status = Status.DIRTY
        return status, value


class Boolean(Schema):
    """``z.boolean()``."""

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        if not isinstance(value, bool):
            issues.append(_type_issue("boolean", value, path))
            return Status.ABORTED, value
        return Status.VALID, value


@attrs.frozen
class Enum(Schema):
    """``z.enum([...])`` of strings."""

    values: tuple[str, ...]

    def _joined(self) -> str:
        return " | ".join(f"'{v}'" for v in self.values)

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        if not isinstance(value, str):
            issues.append(_type_issue(self._joined(), value, path))
            return Status.ABORTED, value
        if value not in self.values:
            issues.append(
                Issue(
                    "invalid_enum_value",
                    f"Invalid enum value. Expected {self._joined()}, received '{value}'",
                    path,
                    (("received", value), ("options", list(self.values))),
                )
            )
            return Status.ABORTED, value
        return Status.VALID, value


@attrs.frozen
class Array(Schema):
    """``z.array(item)``, optionally ``.min(n)``."""

    item: Schema
    min_length: int | None = None

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        if not isinstance(value, list):
            issues.append(_type_issue("array", value, path))
            return Status.ABORTED, value
        status = Status.VALID
        if self.min_length is not None and len(value) < self.min_length:
            issues.append(
                Issue(
                    "too_small",
                    f"Array must contain at least {self.min_length} element(s)",
                    path,
                    (
                        ("minimum", self.min_length),
                        ("type", "array"),
                        ("inclusive", True),
                        ("exact", False),
                    ),
                )
            )
            status = Status.DIRTY
        out: list[Any] = []
        for index, element in enumerate(value):
            element_status, parsed = self.item.parse(element, (*path, index), issues)
            status = max(status, element_status)
            out.append(parsed)
        return status, out


@attrs.frozen
class Object(Schema):
    """``z.object({...})``: unknown keys are stripped, absent optional keys stay absent."""

    fields: Mapping[str, Schema]

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        if not isinstance(value, dict):
            issues.append(_type_issue("object", value, path))
            return Status.ABORTED, value
        status = Status.VALID
        out: dict[str, Any] = {}
        for name, schema in self.fields.items():
            field_status, parsed = schema.parse(value.get(name, MISSING), (*path, name), issues)
            status = max(status, field_status)
            if parsed is not MISSING:
                out[name] = parsed
        return status, out


@attrs.frozen
class Record(Schema):
    """``z.record(value)``: an object whose values all match ``value``."""

    value: Schema

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        if not isinstance(value, dict):
            issues.append(_type_issue("object", value, path))
            return Status.ABORTED, value
        status = Status.VALID
        out: dict[str, Any] = {}
        for key, element in value.items():
            element_status, parsed = self.value.parse(element, (*path, key), issues)
            status = max(status, element_status)
            out[key] = parsed
        return status, out


@attrs.frozen
class OneOf(Schema):
    """``a.or(b)``: the first valid branch wins; a dirty branch is reported on its own."""

    options: tuple[Schema, ...]

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        branch_issues: list[tuple[Issue, ...]] = []
        dirty: tuple[Result, list[Issue]] | None = None
        for option in self.options:
            found: list[Issue] = []
            status, parsed = option.parse(value, path, found)
            if status is Status.VALID:
                return status, parsed
            if status is Status.DIRTY and dirty is None:
                dirty = ((status, parsed), found)
            branch_issues.append(tuple(found))
        if dirty is not None:
            issues.extend(dirty[1])
            return dirty[0]
        issues.append(Issue("invalid_union", "Invalid input", path, union_errors=tuple(branch_issues)))
        return Status.ABORTED, value


class Never(Schema):
    """``z.never()``: any present value is an error."""

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        issues.append(_type_issue("never", value, path))
        return Status.ABORTED, value


@attrs.frozen
class Discriminated(Schema):
    """``z.discriminatedUnion(key, [...])`` of objects told apart by a string literal."""

    key: str
    options: Mapping[str, Schema]

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        if not isinstance(value, dict):
            issues.append(_type_issue("object", value, path))
            return Status.ABORTED, value
        tag = value.get(self.key)
        option = self.options.get(tag) if isinstance(tag, str) else None
        if option is None:
            expected = " | ".join(f"'{name}'" for name in self.options)
            issues.append(
                Issue(
                    "invalid_union_discriminator",
                    f"Invalid discriminator value. Expected {expected}",
                    (*path, self.key),
                    (("options", list(self.options)),),
                )
            )
            return Status.ABORTED, value
        return option.parse(value, path, issues)


class CoerceDate(Schema):
    """``z.coerce.date()``: numbers are epoch milliseconds; returns epoch ms or fails."""

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        from ._timeutil import parse_js_date

        millis: float | None
        if value is None or isinstance(value, (bool, int, float)):
            millis = js_to_number(value)
        elif isinstance(value, str):
            millis = parse_js_date(value)
        else:
            millis = None
        if millis is None or math.isnan(millis) or abs(millis) > 8.64e15:
            issues.append(Issue("invalid_date", "Invalid date", path))
            return Status.ABORTED, value
        return Status.VALID, int(millis)


@attrs.frozen
class Refine(Schema):
    """``.superRefine``: ``check`` runs unless the inner value was aborted and yields issues."""

    inner: Schema
    check: Callable[[Any, Path], Iterable[Issue]]

    def parse(self, value: Any, path: Path, issues: list[Issue]) -> Result:
        status, parsed = self.inner.parse(value, path, issues)
        if status is Status.ABORTED:
            return status, parsed
        extra = list(self.check(parsed, path))
        if extra:
            issues.extend(extra)
            return Status.ABORTED, parsed
        return status, parsed


def custom_issue(message: str, path: Path) -> Issue:
    """A ``code: "custom"`` issue, as ``ctx.addIssue`` in a refinement creates."""
    return Issue("custom", message, path)


def validate(schema: Schema, value: Any) -> tuple[Any, list[Issue]]:
    """Parse ``value``; returns the parsed value and the issues (empty when valid)."""
    issues: list[Issue] = []
    _, parsed = schema.parse(value, (), issues)
    return parsed, issues


_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def format_path(path: Sequence[PathItem]) -> str:
    """Join a path as zod-validation-error does: ``options.tags[0]``, ``a["b-c"]``."""
    text = ""
    for index, item in enumerate(path):
        if isinstance(item, int):
            text += f"[{item}]"
        elif _IDENTIFIER.match(item):
            text += item if index == 0 else f".{item}"
        else:
            text += '["' + item.replace('"', '\\"') + '"]'
    return text


def issue_message(issue: Issue) -> str:
    """One issue as it appears inside a ``Validation error: ...`` string."""
    if issue.code == "invalid_union":
        alternatives: list[str] = []
        for branch in issue.union_errors:
            text = "; ".join(issue_message(i) for i in branch)
            if text not in alternatives:
                alternatives.append(text)
        return ", or ".join(alternatives)
    if issue.path:
        if len(issue.path) == 1 and isinstance(issue.path[0], int):
            return f"{issue.message} at index {issue.path[0]}"
        return f'{issue.message} at "{format_path(issue.path)}"'
    return issue.message


MAX_ISSUES_IN_MESSAGE: Final = 99


def validation_error_text(issues: Sequence[Issue]) -> str:
    """The builder's body error string: ``Validation error: <issue>; <issue>``."""
    return "Validation error: " + "; ".join(issue_message(i) for i in issues[:MAX_ISSUES_IN_MESSAGE])
