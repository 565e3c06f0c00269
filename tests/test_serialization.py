"""Byte-exactness of trigger_async._serialization against Node.

Unless a test says otherwise, every expected string below was produced by real Node 20 —
``JSON.stringify``, ``encodeURIComponent``, ``new URLSearchParams(...).toString()`` and the
superjson 2.2.1 that ``@trigger.dev/core@4.8.3`` vendors (``v3/imports/superjson.js``) — from the
JavaScript equivalent of the Python input, and pasted in as literals.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import enum
import pickle
import random
import types
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from trigger_async._serialization import (
    UNDEFINED,
    UndefinedType,
    build_query,
    dumps_js,
    encode_path_segment,
    encode_queue_segment,
    epoch_ms,
    js_iso,
    serialize_packet,
    superjson_stringify,
    utf8_len,
)

UTC = timezone.utc
D = datetime(2024, 5, 1, tzinfo=UTC)
NAN = float("nan")
INF = float("inf")


@dataclasses.dataclass
class DataUser:
    first_name: str
    created_at: datetime
    tags: list[str]


@attrs.define
class AttrsUser:
    first_name: str
    created_at: datetime
    tags: list[str]


class Color(enum.IntEnum):
    RED = 1


class Mode(str, enum.Enum):
    FAST = "fast"


# ---------------------------------------------------------------------------------------------
# UNDEFINED
# ---------------------------------------------------------------------------------------------


def test_undefined_sentinel() -> None:
    assert repr(UNDEFINED) == "UNDEFINED"
    assert str(UNDEFINED) == "UNDEFINED"
    assert not UNDEFINED
    assert isinstance(UNDEFINED, UndefinedType)
    assert UndefinedType.UNDEFINED is UNDEFINED
    assert copy.copy(UNDEFINED) is UNDEFINED
    assert copy.deepcopy(UNDEFINED) is UNDEFINED
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED
    assert UNDEFINED is not None


# ---------------------------------------------------------------------------------------------
# dumps_js == JSON.stringify
# ---------------------------------------------------------------------------------------------

# (id, Python value, JSON.stringify output of the JS equivalent, produced by Node)
JSON_CASES: list[tuple[str, object, str]] = [
    (
        "undefined_handling",
        {"a": UNDEFINED, "b": None, "c": [UNDEFINED, 1], "d": {"e": UNDEFINED}},
        '{"b":null,"c":[null,1],"d":{}}',
    ),
    (
        "numbers",
        [
            1.0,
            1e20,
            1e21,
            1.5e-7,
            1e-5,
            1e-6,
            1e-7,
            123.456,
            -5,
            NAN,
            INF,
            -INF,
            -0.0,
            0.1,
            1e16,
            2.0**53,
            1.7976931348623157e308,
            5e-324,
            123456789012345680000.0,
            0.000123,
        ],
        "[1,100000000000000000000,1e+21,1.5e-7,0.00001,0.000001,1e-7,123.456,-5,null,null,null,"
        "0,0.1,10000000000000000,9007199254740992,1.7976931348623157e+308,5e-324,"
        "123456789012345680000,0.000123]",
    ),
    (
        "key_order_and_nesting",
        {"z": 1, "a": (True, False, None, {"x": "y"}), "m": {}},
        '{"z":1,"a":[true,false,null,{"x":"y"}],"m":{}}',
    ),
    (
        "strings",
        [
            "é日本😀",
            "\u2028\u2029",
            "\x00\x01\x1f\x7f",
            '"\\/',
            "\b\f\n\r\t\x0b",
            "\ud800",
            "a\udc00b",
            "\U0010ffff",
        ],
        '["é日本😀","\u2028\u2029","\\u0000\\u0001\\u001f\x7f","\\"\\\\/",'
        '"\\b\\f\\n\\r\\t\\u000b","\\ud800","a\\udc00b","\U0010ffff"]',
    ),
    ("top_float", 1e21, "1e+21"),
    ("top_integral_float", 100.0, "100"),
    (
        # Strings that contain float-shaped text must survive the float respelling untouched.
        "float_lookalike",
        {"a": 1.0, "b": ":1.0,", "c": [2.0, "[1e-05]"]},
        '{"a":1,"b":":1.0,","c":[2,"[1e-05]"]}',
    ),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES])
def test_dumps_js_matches_node(value: object, expected: str) -> None:
    assert dumps_js(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-0.0, "0"),
        (NAN, "null"),
        (-INF, "null"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (0.00001, "0.00001"),
        (1e300, "1e+300"),
        (2.7890840981819507e20, "278908409818195070000"),
        (-1.6130484589462314e17, "-161304845894623140"),
        ("plain", '"plain"'),
        ([], "[]"),
        ((), "[]"),
        ({}, "{}"),
    ],
)
def test_dumps_js_scalars(value: object, expected: str) -> None:
    # Spellings checked against Node's JSON.stringify.
    assert dumps_js(value) == expected


def test_dumps_js_python_ints_are_written_in_full() -> None:
    # Not a Node comparison: Python ints are exact, so they are written digit for digit.
    assert dumps_js([2**64, -(2**70)]) == "[18446744073709551616,-1180591620717411303424]"


def test_dumps_js_surrogate_pair_code_points_are_one_character() -> None:
    # In JS the two UTF-16 units of a pair are the astral character, written raw.
    assert dumps_js("\ud83d\ude00") == '"😀"'
    assert dumps_js({"k": ["x\ud83d\ude00\ud800"]}) == '{"k":["x😀\\ud800"]}'


def test_dumps_js_accepts_subclasses_as_their_base_type() -> None:
    value = collections.OrderedDict([("c", Color.RED), ("m", Mode.FAST), ("f", 2.0)])
    assert dumps_js(value) == '{"c":1,"m":"fast","f":2}'


def test_dumps_js_trigger_body_example() -> None:
    # wire-spec §4.1.1, captured from the official SDK.
    packet, payload_type = serialize_packet({"hello": "world", "when": D})
    assert packet is not None
    body = {
        "payload": packet,
        "options": {"payloadType": payload_type, "payloadSize": utf8_len(packet)},
    }
    assert dumps_js(body) == (
        '{"payload":"{\\"json\\":{\\"hello\\":\\"world\\",\\"when\\":\\"2024-05-01T00:00:00.000Z'
        '\\"},\\"meta\\":{\\"values\\":{\\"when\\":[\\"Date\\"]}}}","options":{"payloadType":'
        '"application/super+json","payloadSize":96}}'
    )


def test_dumps_js_full_trigger_body_example() -> None:
    # wire-spec §4.1.1 "captured full example", rebuilt key by key (UNDEFINED keys dropped).
    body = {
        "payload": "just a string",
        "options": {
            "queue": {"name": "my-queue"},
            "concurrency": ["lim_a"],
            "concurrencyKey": "user_1",
            "test": UNDEFINED,
            "payloadType": "text/plain",
            "payloadSize": utf8_len("just a string"),
            "idempotencyKey": "5e78863ed1ffb9fc66b1d61634b126bf8eb20267e7996297eeeb9b19c8c0f732",
            "idempotencyKeyTTL": "1h",
            "idempotencyKeyOptions": {"key": "my-key", "scope": "run"},
            "delay": js_iso(datetime(2030, 1, 1, tzinfo=UTC), argument="delay"),
            "ttl": "10m",
            "tags": ["a", "b"],
            "maxAttempts": 3,
            "metadata": {"x": 1},
            "maxDuration": 300,
            "parentRunId": UNDEFINED,
            "machine": "small-2x",
            "priority": 10,
            "region": "us-east-1",
            "lockToVersion": "20240101.1",
            "externalDeploymentId": "sha123",
            "debounce": {"key": "d", "delay": "5s"},
        },
    }
    assert dumps_js(body) == (
        '{"payload":"just a string","options":{"queue":{"name":"my-queue"},"concurrency":'
        '["lim_a"],"concurrencyKey":"user_1","payloadType":"text/plain","payloadSize":13,'
        '"idempotencyKey":"5e78863ed1ffb9fc66b1d61634b126bf8eb20267e7996297eeeb9b19c8c0f732",'
        '"idempotencyKeyTTL":"1h","idempotencyKeyOptions":{"key":"my-key","scope":"run"},'
        '"delay":"2030-01-01T00:00:00.000Z","ttl":"10m","tags":["a","b"],"maxAttempts":3,'
        '"metadata":{"x":1},"maxDuration":300,"machine":"small-2x","priority":10,'
        '"region":"us-east-1","lockToVersion":"20240101.1","externalDeploymentId":"sha123",'
        '"debounce":{"key":"d","delay":"5s"}}}'
    )


@pytest.mark.parametrize(
    ("value", "path", "where"),
    [
        ({"items": [1, 2, {3}]}, "metadata", "metadata.items[2]"),
        ({"a": {"when": D}}, "", "a.when"),
        ({"a b": [b"x"]}, "body", 'body["a b"][0]'),
        (Decimal("1.5"), "", "value"),
        ([object()], "tags", "tags[0]"),
        ({"k": date(2024, 1, 1)}, "metadata", "metadata.k"),
    ],
)
def test_dumps_js_rejects_non_json_types_naming_the_path(value: object, path: str, where: str) -> None:
    with pytest.raises(TypeError) as info:
        dumps_js(value, path)
    assert str(info.value).startswith(f"{where}: ")


def test_dumps_js_rejects_non_str_keys() -> None:
    with pytest.raises(TypeError, match=r"^metadata\.a: object keys must be str, not int"):
        dumps_js({"a": {1: "x"}}, "metadata")
    with pytest.raises(TypeError, match="keys must be str"):
        dumps_js({None: 1})


def test_dumps_js_rejects_top_level_undefined_and_cycles() -> None:
    with pytest.raises(TypeError):
        dumps_js(UNDEFINED)
    looped: dict[str, Any] = {"a": [1]}
    looped["a"].append(looped)
    with pytest.raises(ValueError, match=r"^body\.a\[1\]: circular reference"):
        dumps_js(looped, "body")


def test_dumps_js_shared_subtrees_are_written_each_time() -> None:
    shared = [1.0, {"x": None}]
    assert dumps_js({"a": shared, "b": (shared, shared)}) == (
        '{"a":[1,{"x":null}],"b":[[1,{"x":null}],[1,{"x":null}]]}'
    )


def test_dumps_js_deep_nesting() -> None:
    deep: Any = 1.0
    for _ in range(300):
        deep = [deep]
    assert dumps_js(deep) == "[" * 300 + "1" + "]" * 300


def _random_tree(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 4 and roll < 0.25:
        return {
            rng.choice(["a", "b", ":1.0,", "é", "x\n"]) + str(i): _random_tree(rng, depth + 1)
            for i in range(rng.randrange(4))
        }
    if depth < 4 and roll < 0.45:
        return [_random_tree(rng, depth + 1) for _ in range(rng.randrange(4))]
    return rng.choice(
        [
            rng.uniform(-1e6, 1e6),
            float(rng.randrange(-1000, 1000)),
            rng.choice([1e-5, 1.5e-7, 1e16, 1e21, 2.5e20, -0.0, NAN, INF, 0.5, 1e-4]),
            rng.randrange(-(2**60), 2**60),
            rng.choice(["s", "[1.0]", ",2.0]", "\ud800", "1e-05", ""]),
            None,
            True,
        ]
    )


def test_dumps_js_fast_path_equals_exact_path() -> None:
    # Not a Node comparison: an OrderedDict wrapper sends the whole tree through the exact
    # recursive writer, which must agree with the C-encoder fast path byte for byte.
    rng = random.Random(20240501)
    for _ in range(500):
        tree = _random_tree(rng)
        wrapped = collections.OrderedDict([("v", tree)])
        assert dumps_js({"v": tree}) == dumps_js(wrapped)


# ---------------------------------------------------------------------------------------------
# superjson
# ---------------------------------------------------------------------------------------------

# (id, Python value, superjson.stringify output of the JS equivalent, produced by Node with the
# superjson 2.2.1 vendored in @trigger.dev/core@4.8.3)
SUPERJSON_CASES: list[tuple[str, object, str]] = [
    (
        "wire_example",
        {"hello": "world", "when": D},
        '{"json":{"hello":"world","when":"2024-05-01T00:00:00.000Z"},"meta":{"values":{"when":["Date"]}}}',
    ),
    ("plain_object", {"a": 1}, '{"json":{"a":1}}'),
    ("number", 42, '{"json":42}'),
    ("null", None, '{"json":null}'),
    ("empty_array", [], '{"json":[]}'),
    ("empty_object", {}, '{"json":{}}'),
    ("string", "hi", '{"json":"hi"}'),
    ("boolean", True, '{"json":true}'),
    ("float", 1.5, '{"json":1.5}'),
    ("top_date", D, '{"json":"2024-05-01T00:00:00.000Z","meta":{"values":["Date"]}}'),
    (
        "nested_date",
        {"a": {"b": {"c": D}}},
        '{"json":{"a":{"b":{"c":"2024-05-01T00:00:00.000Z"}}},"meta":{"values":{"a.b.c":["Date"]}}}',
    ),
    (
        # Paths are flattened into one map; a JS object lists array-index keys ("1") before
        # other keys ("0.d"), so "list.1" comes before "list.0.d".
        "list_paths",
        {"list": [{"d": D}, D]},
        '{"json":{"list":[{"d":"2024-05-01T00:00:00.000Z"},"2024-05-01T00:00:00.000Z"]},'
        '"meta":{"values":{"list.1":["Date"],"list.0.d":["Date"]}}}',
    ),
    (
        "index_order",
        [0, 1, {"d": D}, 3, 4, 5, 6, 7, 8, 9, 10, D],
        '{"json":[0,1,{"d":"2024-05-01T00:00:00.000Z"},3,4,5,6,7,8,9,10,'
        '"2024-05-01T00:00:00.000Z"],"meta":{"values":{"11":["Date"],"2.d":["Date"]}}}',
    ),
    (
        "set_with_date",
        {"s": {D}},
        '{"json":{"s":["2024-05-01T00:00:00.000Z"]},"meta":{"values":{"s":["set",{"0":["Date"]}]}}}',
    ),
    ("top_set", {1, 2, 3}, '{"json":[1,2,3],"meta":{"values":["set"]}}'),
    (
        "set_in_list",
        [frozenset({D})],
        '{"json":[["2024-05-01T00:00:00.000Z"]],"meta":{"values":{"0":["set",{"0":["Date"]}]}}}',
    ),
    (
        "set_of_set",
        {frozenset({D})},
        '{"json":[["2024-05-01T00:00:00.000Z"]],"meta":{"values":["set",{"0":["set",{"0":["Date"]}]}]}}',
    ),
    (
        "dotted_keys",
        {"a.b": {"c.d": D}},
        '{"json":{"a.b":{"c.d":"2024-05-01T00:00:00.000Z"}},"meta":{"values":{"a\\\\.b.c.d":["Date"]}}}',
    ),
    (
        # The vendored 2.2.1 escapes only dots in paths (npm's 2.2.7 also escapes backslashes).
        "backslash_key",
        {"a\\b": {"c": D}},
        '{"json":{"a\\\\b":{"c":"2024-05-01T00:00:00.000Z"}},"meta":{"values":{"a\\\\b.c":["Date"]}}}',
    ),
    (
        "empty_key",
        {"": D},
        '{"json":{"":"2024-05-01T00:00:00.000Z"},"meta":{"values":{"":["Date"]}}}',
    ),
    ("undefined_items", [UNDEFINED, 1], '{"json":[null,1],"meta":{"values":{"0":["undefined"]}}}'),
    ("undefined_top", UNDEFINED, '{"json":null,"meta":{"values":["undefined"]}}'),
    (
        "undefined_prop",
        {"a": UNDEFINED, "b": 1},
        '{"json":{"a":null,"b":1},"meta":{"values":{"a":["undefined"]}}}',
    ),
    (
        "undefined_nested",
        {"a": {"b": [UNDEFINED]}},
        '{"json":{"a":{"b":[null]}},"meta":{"values":{"a.b.0":["undefined"]}}}',
    ),
    (
        "bigints",
        {"n": 2**53, "m": [2**64, -(2**53)], "safe": 2**53 - 1, "neg_safe": -(2**53 - 1)},
        '{"json":{"n":"9007199254740992","m":["18446744073709551616","-9007199254740992"],'
        '"safe":9007199254740991,"neg_safe":-9007199254740991},'
        '"meta":{"values":{"n":["bigint"],"m.0":["bigint"],"m.1":["bigint"]}}}',
    ),
    (
        "special_numbers",
        [NAN, INF, -INF, -0.0, 0.0, 1e21, 1e-7, 1.0, 0.5, 1e300, 5e-324, 1e20, 0.00001],
        '{"json":["NaN","Infinity","-Infinity","-0",0,1e+21,1e-7,1,0.5,1e+300,5e-324,'
        '100000000000000000000,0.00001],"meta":{"values":{"0":["number"],"1":["number"],'
        '"2":["number"],"3":["number"]}}}',
    ),
    (
        "nested_special",
        {"list": [{"d": D, "n": NAN, "u": UNDEFINED, "s": {1}}]},
        '{"json":{"list":[{"d":"2024-05-01T00:00:00.000Z","n":"NaN","u":null,"s":[1]}]},'
        '"meta":{"values":{"list.0.d":["Date"],"list.0.n":["number"],"list.0.u":["undefined"],'
        '"list.0.s":["set"]}}}',
    ),
    (
        # JS Dates hold whole milliseconds: 45.999 ms is truncated to .045.
        "ms_truncated",
        datetime(2024, 5, 1, 1, 2, 3, 45999, tzinfo=UTC),
        '{"json":"2024-05-01T01:02:03.045Z","meta":{"values":["Date"]}}',
    ),
    (
        "offset_converted",
        datetime(2024, 5, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))),
        '{"json":"2024-05-01T00:00:00.000Z","meta":{"values":["Date"]}}',
    ),
    (
        "year_10000",
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
        '{"json":"+010000-01-01T04:00:00.000Z","meta":{"values":["Date"]}}',
    ),
    (
        "year_0",
        datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1))),
        '{"json":"0000-12-31T23:00:00.000Z","meta":{"values":["Date"]}}',
    ),
    (
        "strings",
        {"k\u2028": 'é\x00\x1f"\\\x7f', "s": "\ud800", "pair": "😀", "tab": "\t\n\r\b\f\x0b"},
        '{"json":{"k\u2028":"é\\u0000\\u001f\\"\\\\\x7f","s":"\\ud800","pair":"😀","tab":"\\t\\n\\r\\b\\f\\u000b"}}',
    ),
    (
        "float_lookalike",
        {"a": 1.0, "b": ":1.0,", "c": [2.0, "[1e-05]"]},
        '{"json":{"a":1,"b":":1.0,","c":[2,"[1e-05]"]}}',
    ),
    (
        # JS input: a plain object {first_name, created_at: Date, tags}; field names unchanged.
        "dataclass",
        {"user": DataUser(first_name="Ada", created_at=D, tags=["x"])},
        '{"json":{"user":{"first_name":"Ada","created_at":"2024-05-01T00:00:00.000Z","tags":["x"]}},'
        '"meta":{"values":{"user.created_at":["Date"]}}}',
    ),
    (
        "attrs",
        {"user": AttrsUser(first_name="Ada", created_at=D, tags=["x"])},
        '{"json":{"user":{"first_name":"Ada","created_at":"2024-05-01T00:00:00.000Z","tags":["x"]}},'
        '"meta":{"values":{"user.created_at":["Date"]}}}',
    ),
    (
        "tuple",
        {"t": (1, "two", D)},
        '{"json":{"t":[1,"two","2024-05-01T00:00:00.000Z"]},"meta":{"values":{"t.2":["Date"]}}}',
    ),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in SUPERJSON_CASES], ids=[c[0] for c in SUPERJSON_CASES])
def test_superjson_matches_node(value: object, expected: str) -> None:
    assert superjson_stringify(value) == expected


def test_superjson_wire_example_is_96_bytes() -> None:
    assert utf8_len(superjson_stringify({"hello": "world", "when": D})) == 96


def test_superjson_other_mappings_and_sequences() -> None:
    # Not Node-produced: Python-only container types map onto JS objects and arrays.
    value = types.MappingProxyType(
        {
            "r": range(3),
            "o": collections.OrderedDict(b=Color.RED, m=Mode.FAST),
            "q": collections.deque([D]),
        }
    )
    assert superjson_stringify(value) == (
        '{"json":{"r":[0,1,2],"o":{"b":1,"m":"fast"},"q":["2024-05-01T00:00:00.000Z"]},'
        '"meta":{"values":{"q.0":["Date"]}}}'
    )


def test_superjson_shared_objects_have_no_referential_equalities() -> None:
    # Deliberate difference: superjson would add meta.referentialEqualities for an object
    # reached twice; identity means nothing for Python values, so each place is sent in full.
    shared = {"x": D}
    assert superjson_stringify({"a": shared, "b": shared}) == (
        '{"json":{"a":{"x":"2024-05-01T00:00:00.000Z"},"b":{"x":"2024-05-01T00:00:00.000Z"}},'
        '"meta":{"values":{"a.x":["Date"],"b.x":["Date"]}}}'
    )


def test_superjson_naive_datetime_names_the_path() -> None:
    with pytest.raises(ValueError) as info:
        superjson_stringify({"when": datetime(2024, 5, 1)})
    assert str(info.value) == "payload.when: naive datetime; pass a timezone-aware datetime"
    with pytest.raises(ValueError, match=r"^item\.rows\[1\]\.at: naive"):
        superjson_stringify({"rows": [{}, {"at": datetime(2024, 5, 1)}]}, argument="item")
    with pytest.raises(ValueError, match=r"^payload: naive"):
        superjson_stringify(datetime(2024, 5, 1))


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"day": date(2024, 5, 1)}, "payload.day"),
        ({"raw": b"abc"}, "payload.raw"),
        ([bytearray(b"x")], "payload[0]"),
        ({"price": Decimal("1.10")}, "payload.price"),
        ({"o": [object()]}, "payload.o[0]"),
        ({"a": {1: "x"}}, "payload.a"),
        (Mode, "payload"),
    ],
)
def test_superjson_rejects_unsupported_values(value: object, where: str) -> None:
    with pytest.raises(TypeError) as info:
        superjson_stringify(value)
    assert str(info.value).startswith(f"{where}: ")


@pytest.mark.parametrize("key", ["__proto__", "constructor", "prototype"])
def test_superjson_rejects_keys_superjson_refuses(key: str) -> None:
    # superjson 2.2.1 throws "Detected property constructor. This is a prototype pollution
    # risk..." for these keys (checked in Node), and the SDK's trigger then fails too.
    with pytest.raises(ValueError, match=rf"^payload\.a\.{key}: the key '{key}' cannot be sent"):
        superjson_stringify({"a": {key: 1}})


def test_superjson_rejects_cycles() -> None:
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(ValueError, match=r"^payload\[0\]: circular reference"):
        superjson_stringify(looped)


def test_superjson_fast_path_equals_walker() -> None:
    # Not a Node comparison: a MappingProxyType wrapper sends the whole value through the
    # walker, which must agree with the C-encoder fast path byte for byte.
    rng = random.Random(7)
    for _ in range(500):
        tree = _random_tree(rng)
        assert superjson_stringify({"v": tree}) == superjson_stringify(types.MappingProxyType({"v": tree}))


# ---------------------------------------------------------------------------------------------
# serialize_packet / utf8_len
# ---------------------------------------------------------------------------------------------


def test_serialize_packet() -> None:
    assert serialize_packet(UNDEFINED) == (None, "application/json")
    assert serialize_packet("just a string") == ("just a string", "text/plain")
    assert serialize_packet("") == ("", "text/plain")
    # wire-spec §2.8: payload 1 -> "{\"json\":1}", payloadSize 10.
    assert serialize_packet(1) == ('{"json":1}', "application/super+json")
    assert serialize_packet(None) == ('{"json":null}', "application/super+json")
    assert serialize_packet({"hello": "world", "when": D}) == (
        '{"json":{"hello":"world","when":"2024-05-01T00:00:00.000Z"},"meta":{"values":{"when":["Date"]}}}',
        "application/super+json",
    )
    with pytest.raises(ValueError, match=r"^item\.when: naive"):
        serialize_packet({"when": datetime(2024, 1, 1)}, argument="item")


@pytest.mark.parametrize(
    ("text", "size"),
    # Sizes from Node's Buffer.byteLength(text, "utf8").
    [
        ("", 0),
        ("just a string", 13),
        ("é", 2),
        ("日本", 6),
        ("😀", 4),
        ("\ud800", 3),
        ("\ud83d\ude00", 4),
        ("a\udfffb", 5),
    ],
)
def test_utf8_len(text: str, size: int) -> None:
    assert utf8_len(text) == size


# ---------------------------------------------------------------------------------------------
# Path segments and query strings
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    # encodeURIComponent(value) in Node.
    [
        ("my/task id", "my%2Ftask%20id"),
        ("A-Za-z0-9-_.!~*'()", "A-Za-z0-9-_.!~*'()"),
        ("héllo wörld", "h%C3%A9llo%20w%C3%B6rld"),
        ("😀", "%F0%9F%98%80"),
        ("\ud83d\ude00", "%F0%9F%98%80"),
        ("a+b&c=d?#%", "a%2Bb%26c%3Dd%3F%23%25"),
        ("[x],y;z:@$", "%5Bx%5D%2Cy%3Bz%3A%40%24"),
        ("tab\there", "tab%09here"),
        ("", ""),
    ],
)
def test_encode_path_segment(value: str, expected: str) -> None:
    assert encode_path_segment(value, argument="task") == expected


def test_encode_path_segment_lone_surrogate() -> None:
    # The official SDK's message (checked in Node with encodeTaskIdForPath("a\ud800b")).
    with pytest.raises(ValueError) as info:
        encode_path_segment("a\ud800b", argument="task")
    assert str(info.value) == (
        'Invalid task id "a\\ud800b": it contains characters that cannot be encoded into a URL '
        "(for example an unpaired surrogate). Rename the task to use valid characters."
    )
    with pytest.raises(ValueError, match=r'^Invalid run_id "\\udc00": '):
        encode_path_segment("\udc00", argument="run_id")


@pytest.mark.parametrize(
    ("value", "expected"),
    # wire-spec §2.7.5 captures, plus encodeURIComponent(value.replaceAll("/", "%2F")) in Node.
    [
        ("my/task", "my%252Ftask"),
        ("shared q", "shared%20q"),
        ("a%2Fb", "a%252Fb"),
        ("q/é", "q%252F%C3%A9"),
    ],
)
def test_encode_queue_segment(value: str, expected: str) -> None:
    assert encode_queue_segment(value) == expected


def test_encode_queue_segment_lone_surrogate() -> None:
    with pytest.raises(ValueError, match="queue"):
        encode_queue_segment("q\ud800")


@pytest.mark.parametrize(
    ("params", "expected"),
    # new URLSearchParams(params).toString() in Node.
    [
        (
            [
                ("filter[status]", "COMPLETED,FAILED"),
                ("page[size]", "2"),
                ("page[after]", "cursor_2"),
            ],
            "filter%5Bstatus%5D=COMPLETED%2CFAILED&page%5Bsize%5D=2&page%5Bafter%5D=cursor_2",
        ),
        (
            [("q", "a b~*-._!'()/?&=+#%"), ("é", "😀")],
            "q=a+b%7E*-._%21%27%28%29%2F%3F%26%3D%2B%23%25&%C3%A9=%F0%9F%98%80",
        ),
        ([("k", "x\ud800y")], "k=x%EF%BF%BDy"),
        ([], ""),
        ([("", ""), ("a", "")], "=&a="),
    ],
)
def test_build_query(params: list[tuple[str, str]], expected: str) -> None:
    assert build_query(params) == expected
    assert build_query(iter(params)) == expected


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dt", "iso", "ms"),
    # new Date(ms).toISOString() and getTime() in Node.
    [
        (D, "2024-05-01T00:00:00.000Z", 1714521600000),
        (datetime(2030, 1, 1, tzinfo=UTC), "2030-01-01T00:00:00.000Z", 1893456000000),
        (
            datetime(2024, 5, 1, 1, 2, 3, 999999, tzinfo=UTC),
            "2024-05-01T01:02:03.999Z",
            1714525323999,
        ),
        (
            datetime(2024, 4, 30, 20, 30, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
            "2024-05-01T00:00:00.000Z",
            1714521600000,
        ),
        (datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC), "1969-12-31T23:59:59.999Z", -1),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z", -62135596800000),
        (
            datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
            "+010000-01-01T04:00:00.000Z",
            253402315200000,
        ),
        (
            datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1))),
            "0000-12-31T23:00:00.000Z",
            -62135600400000,
        ),
    ],
)
def test_js_iso_and_epoch_ms(dt: datetime, iso: str, ms: int) -> None:
    assert js_iso(dt, argument="delay") == iso
    assert epoch_ms(dt, argument="from_") == ms


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError) as info:
        js_iso(datetime(2024, 5, 1), argument="delay")
    assert "delay" in str(info.value)
    assert "naive" in str(info.value)
    with pytest.raises(ValueError, match=r"^from_: naive"):
        epoch_ms(datetime(2024, 5, 1), argument="from_")


def test_respelled_numbers_round_trip() -> None:
    # Sanity: the respelled numbers parse back to the same doubles (JS round-trips them too).
    for value in (1e-5, 1.5e-7, 2.5e20, 1e21, 123.456, -7.0, 5e-324):
        assert float(dumps_js(value)) == value
