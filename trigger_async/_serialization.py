"""Byte-exact reproductions of the JavaScript serializers the official TypeScript SDK uses.

The Trigger.dev wire is whatever Node produces, so every function here mirrors one JavaScript
primitive exactly (wire-spec §2.7):

* :func:`dumps_js` is ``JSON.stringify`` (request bodies),
* :func:`superjson_stringify` / :func:`serialize_packet` are the SDK's vendored superjson 2.2.1
  and its ``stringifyIO`` (trigger payloads),
* :func:`encode_path_segment` / :func:`encode_queue_segment` are ``encodeURIComponent`` as the
  SDK applies it to path parameters,
* :func:`build_query` is ``URLSearchParams.toString()``,
* :func:`js_iso` / :func:`epoch_ms` are ``Date.prototype.toISOString`` / ``Date.prototype.getTime``.

Everything is pure: no I/O, no global state besides immutable constants.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime, timedelta, timezone
from itertools import chain, compress, repeat
from typing import Any, Final
from urllib.parse import quote, quote_plus

import attrs

from .errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "UNDEFINED",
    "UndefinedType",
    "build_query",
    "dumps_js",
    "encode_path_segment",
    "encode_queue_segment",
    "epoch_ms",
    "js_iso",
    "serialize_packet",
    "superjson_stringify",
    "utf8_bytes",
    "utf8_len",
]


def _bad_type(message: str) -> InvalidArgumentTypeError:
    """A ``TypeError`` of this SDK from ``"<where>: <problem>"``."""
    where, _, problem = message.partition(": ")
    return InvalidArgumentTypeError(where, problem)


def _bad_value(message: str) -> InvalidArgumentError:
    """A ``ValueError`` of this SDK from ``"<where>: <problem>"``."""
    where, _, problem = message.partition(": ")
    return InvalidArgumentError(where, problem)


class UndefinedType(enum.Enum):
    """Type of :data:`UNDEFINED`, the stand-in for JavaScript's ``undefined``.

    An enum with one member (rather than a plain class) so that type checkers narrow
    ``x is UNDEFINED`` / ``x is not UNDEFINED`` the way they narrow ``None``.
    """

    UNDEFINED = "UNDEFINED"

    def __repr__(self) -> str:
        return "UNDEFINED"

    __str__ = __repr__

    def __bool__(self) -> bool:
        # Falsy like JavaScript's undefined, so ``value or default`` reads naturally.
        return False


UNDEFINED: Final = UndefinedType.UNDEFINED
"""JavaScript ``undefined``: a dict entry holding it is left out of JSON, as ``JSON.stringify``
leaves out undefined properties; superjson sends it as ``null`` tagged ``["undefined"]``."""

MAX_SAFE_INTEGER: Final = 2**53 - 1
"""``Number.MAX_SAFE_INTEGER``: larger Python ints are sent as superjson bigints."""

_Segment = str | int
# A superjson annotation tree: ``[tag]``, ``[tag, inner]`` or ``inner`` (path -> tree).
_Annotation = list[Any] | dict[str, Any]

# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------

# The C-accelerated string escaper behind ``json.dumps(..., ensure_ascii=False)``. Its escapes
# (``"``, ``\\``, ``\b \f \n \r \t``, other C0 controls as lowercase ``\u00xx``) are exactly
# JSON.stringify's for every code point except surrogates, which _fix_surrogates handles.
_encode_str: Final = json.encoder.encode_basestring

# One surrogate pair (two code points in a Python str) or one unpaired surrogate.
_SURROGATE_RE: Final = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")
_LONE_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")


def _surrogate_replacement(match: re.Match[str]) -> str:
    text = match.group()
    if len(text) == 2:
        # A JS string is UTF-16, so a high+low pair *is* the astral character there; emit it
        # raw, as JSON.stringify would.
        return chr(0x10000 + ((ord(text[0]) - 0xD800) << 10) + (ord(text[1]) - 0xDC00))
    # Well-formed JSON.stringify (ES2019) escapes a lone surrogate with lowercase hex.
    return f"\\u{ord(text):04x}"


def _fix_surrogates(text: str) -> str:
    # isascii() is O(1) on CPython and a UTF-8 encode is a fast C loop, far cheaper than a
    # regex scan; only text that really holds surrogates pays for the substitution.
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE_RE.sub(_surrogate_replacement, text)
    return text


def _combine_pairs(text: str) -> str:
    """Merge surrogate pairs into astral characters, leaving unpaired surrogates in place."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _to_usv(text: str) -> str:
    """WebIDL ``USVString`` conversion: pairs are merged, lone surrogates become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE_RE.sub("\ufffd", _combine_pairs(text))
    return text


def _format_path(root: str, segments: Sequence[_Segment]) -> str:
    """Human-readable location for error messages: ``metadata.items[2]``, ``payload["a b"]``."""
    parts = [root]
    for segment in segments:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif segment.isidentifier():
            parts.append(f".{segment}" if parts != [""] else segment)
        else:
            parts.append(f"[{_fix_surrogates(_encode_str(segment))}]")
    return "".join(parts) or "value"


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


def _js_number(value: float) -> str:
    """``Number.prototype.toString()`` of a finite double (ECMA-262 Number::toString).

    ``repr`` already yields the shortest round-tripping digits, as V8 does; only the layout
    differs (where the exponent form starts, ``e-07`` vs ``e-7``, the trailing ``.0``).
    """
    if value == 0:
        return "0"  # also -0: JS prints it as "0"
    if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        # Exact below 2**53; above it JS pads the shortest digits with zeros instead
        # (2.7890840981819507e20 -> "278908409818195070000"), handled below.
        return str(int(value))
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    # value == 0.<digits> * 10**point
    point = len(whole) + (int(exponent) if exponent else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    count = len(digits)
    if count <= point <= 21:
        text = digits + "0" * (point - count)
    elif 0 < point <= 21:
        text = f"{digits[:point]}.{digits[point:]}"
    elif -6 < point <= 0:
        text = "0." + "0" * -point + digits
    else:
        power = point - 1
        head = digits[0] + ("." + digits[1:] if count > 1 else "")
        text = f"{head}e{'+' if power >= 0 else '-'}{abs(power)}"
    return sign + text


def _js_float_json(value: float) -> str:
    """A float as JSON.stringify writes it: non-finite values become ``null``."""
    if math.isfinite(value):
        return _js_number(value)
    return "null"


# The C encoder spells floats with repr(). repr and JS agree exactly on non-integral values in
# [1e-4, 1e16): both print the same shortest digits in plain decimal. The others are respelled
# in the encoder's output, by one of two substitutions:

# Integral values below 1e16, which repr writes as "<digits>.0": JS writes just the digits, so
# the ".0" is dropped. A literal-prefixed pattern with a plain replacement runs entirely in C.
_POINT_ZERO_RE: Final = re.compile(r"\.0(?=[,\]}])")

# Every float token that needs respelling (also "1e+16", "1e-05", "-0.0", NaN, Infinity), with
# the delimiter in front of it; used when such rarer values are present.
_FLOAT_TOKEN_RE: Final = re.compile(r"([\[:,])(NaN|-?Infinity|-?\d+\.0|-?\d(?:\.\d+)?e[-+]\d+)(?=[,\]}])")


def _float_token_replacement(match: re.Match[str]) -> str:
    return match.group(1) + _js_float_json(float(match.group(2)))


# ---------------------------------------------------------------------------------------------
# JSON.stringify
# ---------------------------------------------------------------------------------------------


class _NeedsSlowPath(Exception):
    """Internal: the value has something the C-encoder fast path cannot reproduce exactly."""


def _refuse(_obj: object) -> object:
    raise _NeedsSlowPath


# Used only after _scan has vetted the tree, so ``default`` never fires in practice; it is there
# so a surprise never produces Python-only output. _scan also rules out cycles, so the
# encoder's own cycle bookkeeping is switched off.
_C_ENCODER: Final = json.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    allow_nan=True,
    check_circular=False,
    default=_refuse,
)

_STR_ONLY: Final = frozenset({str})
_CONTAINERS: Final = frozenset({dict, list, tuple})
_TREE_TYPES: Final = frozenset({str, int, float, bool, type(None), dict, list, tuple})
_is_container: Final = _CONTAINERS.__contains__
# superjson throws on these keys ("prototype pollution risk").
_FORBIDDEN_KEYS: Final = ("__proto__", "constructor", "prototype")
# Deeper trees go to the recursive writer (the C encoder's recursion would be close to its limit).
_MAX_SCAN_DEPTH: Final = 256
_TINY: Final = 1e-4
_HUGE: Final = 1e16
_NEGATIVE: Final = 0.0


def _of_type(items: list[Any], kinds: list[type], kind: type) -> list[Any]:
    # C-level filter: the items whose exact type is ``kind``.
    return list(compress(items, map(operator.is_, kinds, repeat(kind))))


def _count_float_fixes(floats: list[float], superjson: bool) -> tuple[int, int]:
    """Count the floats whose repr() differs from JavaScript's spelling: ``(point_zero, other)``.

    ``point_zero`` counts integral values that _POINT_ZERO_RE fixes; ``other`` those only
    _FLOAT_TOKEN_RE fixes (tiny, >= 1e16, -0.0). Only C-level passes over ``floats``. Raises
    _NeedsSlowPath for NaN/±Infinity, and in superjson mode for -0.0 (it is tagged there).
    """
    if not all(map(math.isfinite, floats)):
        raise _NeedsSlowPath
    integral = sum(map(float.is_integer, floats))
    nonzero = list(filter(None, floats))
    magnitudes = list(map(abs, nonzero))
    tiny = sum(map(_TINY.__gt__, magnitudes))  # repr "1e-05", JS "0.00001"
    huge = sum(map(_HUGE.__le__, magnitudes))  # integral; repr "1e+16", JS "10000000000000000"
    negative_zeros = 0
    if len(nonzero) != len(floats):
        zeros = [value for value in floats if not value]
        negative_zeros = sum(map(_NEGATIVE.__gt__, map(math.copysign, repeat(1.0), zeros)))
        if superjson and negative_zeros:
            raise _NeedsSlowPath
    return integral - huge - negative_zeros, tiny + huge + negative_zeros


def _scan(root: dict[Any, Any] | list[Any] | tuple[Any, ...], superjson: bool) -> tuple[int, int]:
    """Vet a tree for the C-encoder fast path; return its float-respelling counts.

    The counts are ``(point_zero, other)`` as in :func:`_count_float_fixes`.

    Raises :class:`_NeedsSlowPath` for anything beyond exact dict/list/tuple/str/int/float/
    bool/None with str keys (subclasses, UNDEFINED, datetimes, ...) and, when ``superjson``,
    for values superjson tags (non-finite floats, -0.0, ints beyond 2**53-1) or keys it
    rejects. The tree is walked one depth level at a time so that every check is a C-level
    pass over all the values of that level (``map``/``compress``/``set``), not Python code per
    value or per container.
    """
    point_zero = other = 0
    frontier: list[Any] = [root]
    seen: set[int] = set()
    for _depth in range(_MAX_SCAN_DEPTH):
        ids = set(map(id, frontier))
        if not seen.isdisjoint(ids):
            # A container met again on a deeper level: a cycle (or a shared sub-tree). Without
            # this the level-by-level walk of a cycle would grow without bound.
            raise _NeedsSlowPath
        seen |= ids
        kinds = list(map(type, frontier))
        dicts = _of_type(frontier, kinds, dict)
        values: list[Any] = []
        if dicts:
            if not _STR_ONLY.issuperset(map(type, chain.from_iterable(dicts))):
                raise _NeedsSlowPath
            if superjson:
                for key in _FORBIDDEN_KEYS:
                    if any(map(dict.__contains__, dicts, repeat(key))):
                        raise _NeedsSlowPath
            values.extend(chain.from_iterable(map(dict.values, dicts)))
        if len(dicts) != len(frontier):
            sequences = compress(frontier, map(operator.is_not, kinds, repeat(dict)))
            values.extend(chain.from_iterable(sequences))
        kinds = list(map(type, values))
        present = set(kinds)
        if not present <= _TREE_TYPES:
            raise _NeedsSlowPath
        if float in present:
            counts = _count_float_fixes(_of_type(values, kinds, float), superjson)
            point_zero += counts[0]
            other += counts[1]
        if superjson and int in present:
            ints = _of_type(values, kinds, int)
            if min(ints) < -MAX_SAFE_INTEGER or max(ints) > MAX_SAFE_INTEGER:
                raise _NeedsSlowPath  # superjson sends these as bigints
        if present.isdisjoint(_CONTAINERS):
            return point_zero, other
        frontier = list(compress(values, map(_is_container, kinds)))
    raise _NeedsSlowPath


def _dumps_fast(value: object, superjson: bool) -> str:
    """JSON.stringify through the C encoder; raises _NeedsSlowPath when it cannot be exact."""
    if type(value) is str:
        return _fix_surrogates(_encode_str(value))
    if type(value) is dict or type(value) is list or type(value) is tuple:
        point_zero, other = _scan(value, superjson)
        text = _fix_surrogates(_C_ENCODER.encode(value))
        if other:
            text, found = _FLOAT_TOKEN_RE.subn(_float_token_replacement, text)
        elif point_zero:
            text, found = _POINT_ZERO_RE.subn("", text)
        else:
            found = 0
        if found != point_zero + other:
            # A string holds text shaped like a float token (e.g. ":1.0,") and was rewritten
            # too; every real token matches exactly once, so the count exposes that. Redo the
            # value the exact way.
            raise _NeedsSlowPath
        return text
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is int:
        if superjson and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise _NeedsSlowPath
        return int.__repr__(value)
    if type(value) is float:
        if superjson and (not math.isfinite(value) or (not value and math.copysign(1.0, value) < 0)):
            raise _NeedsSlowPath  # superjson tags NaN, ±Infinity and -0
        return _js_float_json(value)
    raise _NeedsSlowPath


class _JSONWriter:
    """Exact recursive JSON.stringify for everything the fast path declines.

    Handles subclasses (IntEnum, StrEnum, OrderedDict), UNDEFINED, and produces the
    path-naming errors. The path is a stack of segments, formatted only when an error occurs.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.parts: list[str] = []
        self.path: list[_Segment] = []
        self.active: set[int] = set()

    def where(self) -> str:
        return _format_path(self.root, self.path)

    def write(self, obj: object) -> None:
        parts = self.parts
        if obj is None:
            parts.append("null")
        elif obj is True:
            parts.append("true")
        elif obj is False:
            parts.append("false")
        elif isinstance(obj, str):
            parts.append(_encode_str(obj))
        elif isinstance(obj, int):
            parts.append(int.__repr__(obj))
        elif isinstance(obj, float):
            parts.append(_js_float_json(float(obj)))
        elif isinstance(obj, dict):
            self._enter(obj)
            parts.append("{")
            first = True
            for key, item in obj.items():
                if not isinstance(key, str):
                    raise _bad_type(f"{self.where()}: object keys must be str, not {type(key).__name__} ({key!r})")
                if item is UNDEFINED:
                    continue  # JSON.stringify drops undefined properties
                if not first:
                    parts.append(",")
                first = False
                parts.append(_encode_str(key))
                parts.append(":")
                self.path.append(key)
                self.write(item)
                self.path.pop()
            parts.append("}")
            self.active.discard(id(obj))
        elif isinstance(obj, (list, tuple)):
            self._enter(obj)
            parts.append("[")
            for index, item in enumerate(obj):
                if index:
                    parts.append(",")
                if item is UNDEFINED:
                    parts.append("null")  # JSON.stringify writes undefined array items as null
                    continue
                self.path.append(index)
                self.write(item)
                self.path.pop()
            parts.append("]")
            self.active.discard(id(obj))
        elif obj is UNDEFINED:
            raise _bad_type(f"{self.where()}: UNDEFINED has no JSON representation here")
        else:
            raise _bad_type(
                f"{self.where()}: {type(obj).__name__} is not JSON serializable "
                "(expected dict, list, tuple, str, int, float, bool or None)"
            )

    def _enter(self, obj: object) -> None:
        if id(obj) in self.active:
            raise _bad_value(f"{self.where()}: circular reference")
        self.active.add(id(obj))


def dumps_js(value: object, path: str = "") -> str:
    """Return exactly what JavaScript's ``JSON.stringify(value)`` returns.

    ``value`` is a JSON tree of dict (str keys, insertion order kept) / list / tuple / str /
    int / float / bool / None. Dict entries whose value is :data:`UNDEFINED` are omitted and
    UNDEFINED list items become ``null``, as in JavaScript. Numbers are spelled as JavaScript
    spells them (``1.0`` -> ``1``, ``1e-05`` -> ``0.00001``, NaN/Infinity -> ``null``, -0.0 ->
    ``0``); Python ints are written in full. Non-ASCII is written raw; lone surrogates are
    escaped as ``\\udxxx``.

    ``path`` prefixes error locations (``dumps_js(v, "metadata")`` reports
    ``metadata.items[2]``). Any other type raises :class:`TypeError` naming where it is; a
    reference cycle raises :class:`ValueError`.
    """
    try:
        return _dumps_fast(value, superjson=False)
    except _NeedsSlowPath:
        pass
    writer = _JSONWriter(path)
    writer.write(value)
    return _fix_surrogates("".join(writer.parts))


# ---------------------------------------------------------------------------------------------
# superjson
# ---------------------------------------------------------------------------------------------

_SAFE_INTEGER_RANGE: Final = range(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1)
_FORBIDDEN_KEY_SET: Final = frozenset(_FORBIDDEN_KEYS)
# Exact leaf types that superjson passes through unchanged.
_PLAIN_LEAVES: Final = frozenset({str, bool, type(None)})


def _is_array_index(key: str) -> bool:
    # ECMAScript array index: canonical decimal below 2**32 - 1. JS objects list such keys
    # first, in ascending order, whatever order they were added in.
    return key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and (int(key) < 2**32 - 1)


def _js_key_order(inner: dict[str, Any]) -> dict[str, Any]:
    """Reorder a dict the way a JS object enumerates its keys."""
    indices = [key for key in inner if _is_array_index(key)]
    if not indices or (len(indices) == len(inner) and indices == sorted(indices, key=int)):
        return inner
    ordered = {key: inner[key] for key in sorted(indices, key=int)}
    ordered.update((key, tree) for key, tree in inner.items() if key not in ordered)
    return ordered


def _escape_key(segment: _Segment) -> str:
    # superjson 2.2.1 (the SDK's vendored copy) escapes only dots; later releases also escape
    # backslashes, but the wire follows the vendored one.
    return str(segment).replace(".", "\\.")


def _naive_error(where: str) -> InvalidArgumentError:
    return _bad_value(f"{where}: naive datetime; pass a timezone-aware datetime")


class _SuperJSONWalker:
    """Python port of superjson's ``walker``: builds the JSON stand-in and ``meta.values``.

    Differences by design: values are never deduplicated or tracked by identity, so no
    ``referentialEqualities`` are produced (Python shares immutable objects freely, so identity
    says nothing about the caller's intent), and a reference cycle raises instead of becoming
    ``null``.
    """

    def __init__(self, argument: str) -> None:
        self.argument = argument
        self.path: list[_Segment] = []
        self.active: set[int] = set()

    def where(self) -> str:
        return _format_path(self.argument, self.path)

    def walk(self, obj: object) -> tuple[Any, _Annotation | None]:
        """Return ``(json_value, annotations)`` for ``obj``, as superjson's walker does."""
        # Exact-type dispatch first: the isinstance chain below (with its ABC checks) is only
        # for subclasses and the rarer types.
        kind = type(obj)
        if kind is dict:
            return self._object(obj.items(), obj)  # type: ignore[attr-defined]
        if kind is list or kind is tuple:
            return self._array(obj, None)  # type: ignore[arg-type]
        if kind is datetime:
            if obj.tzinfo is None or obj.utcoffset() is None:  # type: ignore[attr-defined]
                raise _naive_error(self.where())
            return _iso(obj), ["Date"]  # type: ignore[arg-type]
        if obj is None or obj is True or obj is False:
            return obj, None
        if isinstance(obj, str):
            return str.__str__(obj), None
        if isinstance(obj, int):
            number = int(obj)
            if number in _SAFE_INTEGER_RANGE:
                return number, None
            return str(number), ["bigint"]
        if isinstance(obj, float):
            return self._float(float(obj))
        if obj is UNDEFINED:
            return None, ["undefined"]
        if isinstance(obj, datetime):
            if obj.tzinfo is None or obj.utcoffset() is None:
                raise _naive_error(self.where())
            return _iso(obj), ["Date"]
        if isinstance(obj, date):
            raise _bad_type(
                f"{self.where()}: date is not supported in payloads; pass a timezone-aware datetime (or an ISO string)"
            )
        if isinstance(obj, Mapping):
            return self._object(obj.items(), obj)
        if isinstance(obj, AbstractSet):
            return self._array(obj, "set")
        if isinstance(obj, (bytes, bytearray, memoryview)):
            raise _bad_type(f"{self.where()}: {type(obj).__name__} is not supported in payloads")
        if not isinstance(obj, type):
            cls = type(obj)
            if attrs.has(cls):
                names = [field.name for field in attrs.fields(cls)]
                return self._object(((name, getattr(obj, name)) for name in names), obj)
            if dataclasses.is_dataclass(obj):
                names = [field.name for field in dataclasses.fields(obj)]
                return self._object(((name, getattr(obj, name)) for name in names), obj)
        if isinstance(obj, Sequence):
            return self._array(obj, None)
        raise _bad_type(
            f"{self.where()}: {type(obj).__name__} is not supported in payloads (expected "
            "JSON-like data, datetime, set, attrs or dataclass instances)"
        )

    @staticmethod
    def _float(value: float) -> tuple[Any, _Annotation | None]:
        if math.isnan(value):
            return "NaN", ["number"]
        if math.isinf(value):
            return ("Infinity" if value > 0 else "-Infinity"), ["number"]
        if value == 0 and math.copysign(1.0, value) < 0:
            return "-0", ["number"]
        return value, None

    def _enter(self, obj: object) -> None:
        if id(obj) in self.active:
            raise _bad_value(f"{self.where()}: circular reference")
        self.active.add(id(obj))

    def _object(self, items: Iterable[tuple[object, object]], owner: object) -> tuple[Any, _Annotation | None]:
        self._enter(owner)
        result: dict[str, Any] = {}
        inner: dict[str, Any] = {}
        path = self.path
        for key, item in items:
            if type(key) is not str:
                if not isinstance(key, str):
                    raise _bad_type(f"{self.where()}: object keys must be str, not {type(key).__name__} ({key!r})")
                key = str.__str__(key)
            if key in _FORBIDDEN_KEY_SET:
                # superjson refuses these keys outright; the official SDK's trigger then fails.
                path.append(key)
                raise _bad_value(
                    f"{self.where()}: the key {key!r} cannot be sent in a payload (superjson "
                    "rejects it as a prototype-pollution risk)"
                )
            kind = type(item)
            # Inline the commonest leaves: no call, no path bookkeeping, no annotation.
            if kind in _PLAIN_LEAVES or (
                kind is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER  # type: ignore[operator]
            ):
                result[key] = item
                continue
            path.append(key)
            result[key], tree = self.walk(item)
            path.pop()
            if tree is not None:
                self._merge(inner, key, tree)
        self.active.discard(id(owner))
        return result, (self._finish(inner, None) if inner else None)

    def _array(self, items: Iterable[object], tag: str | None) -> tuple[Any, _Annotation | None]:
        self._enter(items)
        result: list[Any] = []
        inner: dict[str, Any] = {}
        path = self.path
        for index, item in enumerate(items):
            kind = type(item)
            if kind in _PLAIN_LEAVES or (
                kind is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER  # type: ignore[operator]
            ):
                result.append(item)
                continue
            path.append(index)
            value, tree = self.walk(item)
            path.pop()
            result.append(value)
            if tree is not None:
                self._merge(inner, index, tree)
        self.active.discard(id(items))
        return result, self._finish(inner, tag)

    @staticmethod
    def _merge(inner: dict[str, Any], segment: _Segment, tree: _Annotation) -> None:
        # A child's own tag list sits under its bare key; a child's inner map is flattened into
        # this one with "<escaped key>.<its path>" keys (superjson's dotted paths).
        if isinstance(tree, list):
            inner[str(segment)] = tree
        else:
            prefix = _escape_key(segment) + "."
            for path, subtree in tree.items():
                inner[prefix + path] = subtree

    @staticmethod
    def _finish(inner: dict[str, Any], tag: str | None) -> _Annotation | None:
        if not inner:
            return [tag] if tag is not None else None
        # superjson builds ``inner`` as a JS object, which lists array-index keys first.
        inner = _js_key_order(inner)
        return [tag, inner] if tag is not None else inner


def superjson_stringify(value: object, *, argument: str = "payload") -> str:
    """Return what the SDK's vendored superjson 2.2.1 ``stringify(value)`` returns.

    ``{"json":<value>}``, plus ``"meta":{"values":...}`` when special values occur: aware
    datetimes (``["Date"]``, ISO with 3 ms digits and ``Z``), ints beyond ±(2**53-1)
    (``["bigint"]``, as a string), sets (``["set"]``, as an array), NaN/±Infinity/-0.0
    (``["number"]``, as a string) and UNDEFINED (``["undefined"]``, as ``null``). Nested
    locations are dotted paths (``list.0.d``); a top-level special value gives the tag list
    itself. Tuples and other sequences become arrays; mappings, attrs and dataclass instances
    become objects with their keys / field names unchanged.

    Raises :class:`ValueError` for a naive datetime or a cycle, :class:`TypeError` for
    unsupported values (``date``, ``bytes``, ``Decimal``, non-str keys, other objects); both
    name the location, starting with ``argument``.
    """
    try:
        return '{"json":' + _dumps_fast(value, superjson=True) + "}"
    except _NeedsSlowPath:
        pass
    tree, annotations = _SuperJSONWalker(argument).walk(value)
    envelope: dict[str, Any] = {"json": tree}
    if annotations is not None:
        envelope["meta"] = {"values": annotations}
    return dumps_js(envelope)


def serialize_packet(payload: object, *, argument: str = "payload") -> tuple[str | None, str]:
    """Serialize a trigger payload as the SDK's ``stringifyIO`` does: ``(data, payload_type)``.

    UNDEFINED -> ``(None, "application/json")`` (the ``payload`` key is then omitted); a str
    is sent verbatim as ``text/plain``; anything else is superjson, ``application/super+json``.
    """
    if payload is UNDEFINED:
        return None, "application/json"
    if isinstance(payload, str):
        return str.__str__(payload), "text/plain"
    return superjson_stringify(payload, argument=argument), "application/super+json"


def utf8_len(text: str) -> int:
    """UTF-8 byte length, as Node's ``Buffer.byteLength(text, "utf8")`` counts it.

    A surrogate pair counts 4 bytes and an unpaired surrogate 3 (Node writes U+FFFD for it).
    """
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return len(_combine_pairs(text).encode("utf-8", "surrogatepass"))


def utf8_bytes(text: str) -> bytes:
    """The UTF-8 bytes Node writes for ``text`` (an unpaired surrogate becomes U+FFFD)."""
    return _to_usv(text).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------------------------


def encode_path_segment(value: str, *, argument: str) -> str:
    """``encodeURIComponent(value)``: all but ``A-Z a-z 0-9 - _ . ! ~ * ' ( )`` as ``%XX``.

    encodeURIComponent throws on an unpaired surrogate; so does this, with the SDK's message
    for task ids (``argument == "task"``) and a message naming ``argument`` otherwise.
    """
    if value in (".", ".."):
        # Left as they are, these would be resolved as "this/parent folder" along the way.
        raise InvalidArgumentError(argument, f"{value!r} cannot be a path segment")
    try:
        # quote() always keeps letters, digits and "_.-~"; JS additionally keeps "!*'()".
        return quote(value, safe="!*'()")
    except UnicodeEncodeError:
        pass
    combined = _combine_pairs(value)
    try:
        return quote(combined, safe="!*'()")
    except UnicodeEncodeError:
        pass
    shown = dumps_js(value)
    if argument == "task":
        raise _bad_value(
            f"Invalid task id {shown}: it contains characters that cannot be encoded into a URL "
            "(for example an unpaired surrogate). Rename the task to use valid characters."
        )
    raise _bad_value(
        f"Invalid {argument} {shown}: it contains characters that cannot be encoded into a URL "
        "(for example an unpaired surrogate)."
    )


def encode_queue_segment(value: str) -> str:
    """Queue name/id path segment: ``/`` becomes ``%2F`` first, then encodeURIComponent.

    The official SDK double-encodes slashes this way (``my/task`` -> ``my%252Ftask``); the
    server decodes once and maps ``%2F`` back to ``/``.
    """
    return encode_path_segment(value.replace("/", "%2F"), argument="queue")


def _form_encode(text: str) -> str:
    # quote_plus keeps "~" (URLSearchParams escapes it) and escapes "*" (which it keeps).
    return quote_plus(_to_usv(text), safe="*").replace("~", "%7E")


def build_query(params: Iterable[tuple[str, str]]) -> str:
    """``new URLSearchParams(params).toString()``: ``k=v`` pairs joined by ``&``, no ``?``.

    application/x-www-form-urlencoded: space -> ``+``; ``A-Z a-z 0-9 * - . _`` kept;
    everything else ``%XX`` (uppercase) of its UTF-8 bytes. Lone surrogates become U+FFFD, as
    in a JS USVString.
    """
    return "&".join(f"{_form_encode(key)}={_form_encode(value)}" for key, value in params)


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS: Final = timedelta(milliseconds=1)


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of a day count since 1970-01-01, any year."""
    # Howard Hinnant's days_from_civil inverse; works where datetime cannot (year 0, 10000).
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    mp = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def _iso_from_ms(ms: int) -> str:
    """``new Date(ms).toISOString()`` for any time value, including the ``+YYYYYY`` years."""
    days, ms_of_day = divmod(ms, 86_400_000)
    year, month, day = _civil_from_days(days)
    seconds, millis = divmod(ms_of_day, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{'+' if year > 0 else '-'}{abs(year):06d}"
    return f"{year_text}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"


def _iso(dt: datetime) -> str:
    # Caller has checked dt is aware.
    try:
        utc = dt.astimezone(timezone.utc)
    except OverflowError:
        # The UTC instant falls in year 0 or 10000, which datetime cannot hold but JS can.
        return _iso_from_ms((dt - _EPOCH) // _ONE_MS)
    # isoformat truncates to milliseconds (never rounds), like a JS Date holding whole ms.
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _require_aware(dt: datetime, argument: str) -> None:
    if not isinstance(dt, datetime):
        raise _bad_type(f"{argument}: expected a datetime, not {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise _naive_error(argument)


def js_iso(dt: datetime, *, argument: str) -> str:
    """``Date.prototype.toISOString()`` of an aware datetime: UTC, 3 ms digits, ``Z``.

    Microseconds are truncated, not rounded (a JS Date holds whole milliseconds). An instant
    outside years 0-9999 uses JavaScript's ``+YYYYYY`` spelling. A naive datetime raises
    :class:`ValueError` naming ``argument``.
    """
    _require_aware(dt, argument)
    return _iso(dt)


def epoch_ms(dt: datetime, *, argument: str) -> int:
    """Milliseconds since the Unix epoch (``Date.prototype.getTime()``), floored.

    Floored like :func:`js_iso`'s truncation, so both describe the same JS Date. A naive
    datetime raises :class:`ValueError` naming ``argument``.
    """
    _require_aware(dt, argument)
    return (dt - _EPOCH) // _ONE_MS
