"""Comparing two recordings of the same call (official SDK vs ours, or vs a golden file).

Every function returns a list of differences (empty = equal) instead of asserting, so a
case can report all of its differences at once and documented differences can be checked
precisely.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .server import PACKET_ID, Recorded

# Headers Node's fetch (undici) adds by itself; a Python client sends its own versions.
TRANSPORT_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "sec-fetch-mode",
        "user-agent",
        "connection",
        "content-length",
        "transfer-encoding",
        "host",
    }
)
REQUEST_KEY = "x-trigger-request-idempotency-key"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# Client-side argument errors: a plain JS Error/TypeError there, ValueError/TypeError
# subclasses here (api.md: "Bad arguments raise ValueError/TypeError subclasses").
ARGUMENT_ERRORS = frozenset({"InvalidArgumentError", "InvalidArgumentTypeError", "ValueError", "TypeError"})


def normalize_packets(text: str) -> str:
    return PACKET_ID.sub("packet_X", text)


def sdk_headers(headers: Mapping[str, str], skip: Iterable[str] = ()) -> dict[str, str]:
    skipped = TRANSPORT_HEADERS | {REQUEST_KEY} | set(skip)
    return {k: v for k, v in headers.items() if k not in skipped}


def mask_uuids(values: Sequence[str]) -> list[str]:
    """Each distinct value → ``{{uuid#n}}`` by order of first appearance (``-`` kept)."""
    seen: dict[str, str] = {}
    return ["-" if v == "-" else seen.setdefault(v, f"{{{{uuid#{len(seen) + 1}}}}}") for v in values]


def decode_body(item: Recorded) -> tuple[str, Any]:
    """``(encoding, value)``: ``empty``, ``ndjson`` (list of lines), ``json`` or ``text``."""
    if not item.body:
        return "empty", None
    text = normalize_packets(item.body.decode("utf-8", "replace"))
    if "ndjson" in item.headers.get("content-type", ""):
        if not text.endswith("\n"):
            return "text", text
        try:
            return "ndjson", [json.loads(line) for line in text[:-1].split("\n")]
        except ValueError:
            return "text", text
    try:
        return "json", json.loads(text)
    except ValueError:
        return "text", text


def _order(value: Any) -> Any:
    """``value`` with its object key order made visible (for the order check)."""
    if isinstance(value, dict):
        return [[k, _order(v)] for k, v in value.items()]
    if isinstance(value, list):
        return [_order(v) for v in value]
    return value


def diff_json(expected: Any, actual: Any, where: str) -> list[str]:
    """Field-by-field differences (key order is checked separately by ``order_notes``)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in expected.keys() | actual.keys():
            if key not in actual:
                out.append(f"{where}.{key}: missing (expected {_short(expected[key])})")
            elif key not in expected:
                out.append(f"{where}.{key}: unexpected {_short(actual[key])}")
            else:
                out += diff_json(expected[key], actual[key], f"{where}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: {len(actual)} items, expected {len(expected)}"]
        return [
            d for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for d in diff_json(e, a, f"{where}[{i}]")
        ]
    if type(expected) is not type(actual) and not (_is_number(expected) and _is_number(actual)):
        return [f"{where}: {_short(actual)}, expected {_short(expected)}"]
    if expected != actual:
        if isinstance(expected, str) and isinstance(actual, str) and (len(expected) > 200 or len(actual) > 200):
            index = next(
                (i for i, (x, y) in enumerate(zip(expected, actual, strict=False)) if x != y),
                min(len(expected), len(actual)),
            )
            return [
                f"{where}: strings differ at {index} (lengths {len(actual)} vs expected {len(expected)}): "
                f"{actual[index : index + 60]!r} vs {expected[index : index + 60]!r}"
            ]
        return [f"{where}: {_short(actual)}, expected {_short(expected)}"]
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 160 else f"{text[:150]}…({len(text)} chars)"


def pair_requests(
    expected: list[Recorded], actual: list[Recorded]
) -> tuple[list[tuple[Recorded, Recorded]], list[str]]:
    """Pair requests by (server, method, path) in arrival order within each key."""
    pools: dict[tuple[str, str, str], deque[Recorded]] = defaultdict(deque)
    for item in actual:
        pools[(item.server, item.method, normalize_packets(item.path))].append(item)
    pairs, problems = [], []
    for item in expected:
        key = (item.server, item.method, normalize_packets(item.path))
        if pools[key]:
            pairs.append((item, pools[key].popleft()))
        else:
            problems.append(f"missing request {item.server} {item.method} {item.path}")
    for key, left in pools.items():
        for item in left:
            problems.append(f"unexpected request {key[0]} {key[1]} {item.path}")
    return pairs, problems


def diff_requests(
    expected: list[Recorded],
    actual: list[Recorded],
    *,
    ordered: bool = True,
    skip_headers: Iterable[str] = (),
) -> list[str]:
    """Request count, method, path, raw query, SDK-chosen headers, body, request keys."""
    out: list[str] = []
    if len(expected) != len(actual):
        out.append(
            f"{len(actual)} requests, expected {len(expected)}: "
            f"{[f'{r.method} {r.path}' for r in actual]} vs {[f'{r.method} {r.path}' for r in expected]}"
        )
    if ordered:
        got = [(r.server, r.method, normalize_packets(r.path)) for r in actual]
        want = [(r.server, r.method, normalize_packets(r.path)) for r in expected]
        if got != want and sorted(got) == sorted(want):
            out.append(f"request order {got} vs expected {want}")
    pairs, problems = pair_requests(expected, actual)
    out += problems
    for index, (want_req, got_req) in enumerate(pairs):
        where = f"request {index} {want_req.method} {want_req.path}"
        if normalize_packets(got_req.query) != normalize_packets(want_req.query):
            out.append(f"{where}: query {got_req.query!r}, expected {want_req.query!r}")
        want_headers = sdk_headers(want_req.headers, skip_headers)
        got_headers = sdk_headers(got_req.headers, skip_headers)
        for name in sorted(want_headers.keys() | got_headers.keys()):
            if want_headers.get(name) != got_headers.get(name):
                out.append(f"{where}: header {name}: {got_headers.get(name)!r}, expected {want_headers.get(name)!r}")
        if (REQUEST_KEY in want_req.headers) != (REQUEST_KEY in got_req.headers):
            out.append(
                f"{where}: {REQUEST_KEY} present={REQUEST_KEY in got_req.headers}, "
                f"expected {REQUEST_KEY in want_req.headers}"
            )
        elif REQUEST_KEY in got_req.headers and not UUID4.match(got_req.headers[REQUEST_KEY]):
            out.append(f"{where}: {REQUEST_KEY} is not a UUID v4: {got_req.headers[REQUEST_KEY]!r}")
        want_kind, want_body = decode_body(want_req)
        got_kind, got_body = decode_body(got_req)
        if want_kind != got_kind:
            out.append(f"{where}: body is {got_kind} {_short(got_body)}, expected {want_kind} {_short(want_body)}")
        else:
            out += diff_json(want_body, got_body, f"{where}: body")
    # The same key on every retry of one call, a new one per call.
    want_keys = mask_uuids([r.headers.get(REQUEST_KEY, "-") for r, _ in pairs])
    got_keys = mask_uuids([r.headers.get(REQUEST_KEY, "-") for _, r in pairs])
    if want_keys != got_keys:
        out.append(f"request idempotency keys follow {got_keys}, expected {want_keys}")
    return out


def order_notes(expected: list[Recorded], actual: list[Recorded]) -> list[str]:
    """Bodies equal field by field but with another key order (reported, not failed)."""
    notes = []
    pairs, _ = pair_requests(expected, actual)
    for want_req, got_req in pairs:
        want_kind, want_body = decode_body(want_req)
        got_kind, got_body = decode_body(got_req)
        if want_kind == got_kind and want_body == got_body and _order(want_body) != _order(got_body):
            notes.append(f"{want_req.method} {want_req.path}: same fields, other key order")
    return notes


def diff_timing(expected: list[Recorded], actual: list[Recorded], tolerance: float) -> list[str]:
    def gaps(items: list[Recorded]) -> list[float]:
        return [b.arrived - a.arrived for a, b in itertools.pairwise(items)]

    out = []
    for index, (want, got) in enumerate(zip(gaps(expected), gaps(actual), strict=False)):
        if abs(want - got) > tolerance + 0.25 * want:
            out.append(f"gap {index}: {got * 1000:.0f} ms, official SDK {want * 1000:.0f} ms")
    return out


# ------------------------------------------------------------------------------- outcomes


def _b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def decode_jwt(token: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    try:
        header, claims, _ = token.split(".")
        decoded = _b64json(header), _b64json(claims)
    except ValueError:
        return None
    if not isinstance(decoded[0], dict) or "alg" not in decoded[0] or not isinstance(decoded[1], dict):
        return None
    return decoded


def diff_jwt(expected: str, actual: str, where: str, keys: Sequence[str]) -> list[str]:
    from trigger_async._jwt import verify_hs256

    want, got = decode_jwt(expected), decode_jwt(actual)
    assert want is not None
    if got is None:
        return [f"{where}: not a JWT: {_short(actual)}"]
    out = diff_json(want[0], got[0], f"{where} (JWT header)")
    want_claims = {k: v for k, v in want[1].items() if k not in ("iat", "exp")}
    got_claims = {k: v for k, v in got[1].items() if k not in ("iat", "exp")}
    out += diff_json(want_claims, got_claims, f"{where} (JWT claims)")
    for name in ("iat", "exp"):
        if (name in want[1]) != (name in got[1]):
            out.append(f"{where}: JWT claim {name} present={name in got[1]}, expected {name in want[1]}")
    if "exp" in want[1] and "exp" in got[1]:
        lifetime_want = want[1]["exp"] - want[1].get("iat", 0)
        lifetime_got = got[1]["exp"] - got[1].get("iat", 0)
        if lifetime_want != lifetime_got and want[1]["exp"] != got[1]["exp"]:
            out.append(
                f"{where}: JWT exp-iat {lifetime_got}, expected {lifetime_want} "
                f"(exp {got[1]['exp']} vs {want[1]['exp']})"
            )
    signed_with = [k for k in keys if verify_hs256(expected, k) is not None]
    for key in signed_with:
        if verify_hs256(actual, key) is None:
            out.append(f"{where}: JWT signature does not verify with the key the official token uses")
    return out


def _instant(value: Any) -> datetime | None:
    if isinstance(value, dict) and set(value) == {"$date"}:
        value = value["$date"]
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and set(value) == {"$undefined"})


def _diff_golden_jwt(golden: Mapping[str, Any], actual: Any, where: str) -> list[str]:
    """A JWT against a golden file's decoded one (``jwts[]``: claims with ``{{iat}}``/``{{exp}}``)."""
    got = decode_jwt(actual)
    if got is None:
        return [f"{where}: not a JWT: {_short(actual)}"]
    out = diff_json(golden["header"], got[0], f"{where} (JWT header)")
    want_claims = {k: v for k, v in golden["claims"].items() if k not in ("iat", "exp")}
    got_claims = {k: v for k, v in got[1].items() if k not in ("iat", "exp")}
    out += diff_json(want_claims, got_claims, f"{where} (JWT claims)")
    if golden.get("exp_is_absolute"):
        if got[1].get("exp") != golden["claims"]["exp"]:
            out.append(f"{where}: JWT exp {got[1].get('exp')}, expected {golden['claims']['exp']}")
    elif got[1].get("exp", 0) - got[1].get("iat", 0) != golden["exp_minus_iat"]:
        out.append(
            f"{where}: JWT exp-iat {got[1].get('exp', 0) - got[1].get('iat', 0)}, expected {golden['exp_minus_iat']}"
        )
    return out


def diff_values(expected: Any, actual: Any, where: str, keys: Sequence[str] = ()) -> list[str]:
    """Differences of a neutral official result (``expected``) and our neutral result.

    Every field the official SDK returned must be there with the same value; fields only we
    return are ignored; ``null``/``undefined`` match a missing field or ``None``.
    """
    if _absent(expected):
        return [] if _absent(actual) else [f"{where}: {_short(actual)}, expected nothing"]
    if isinstance(expected, dict):
        special = next(iter(expected)) if len(expected) == 1 else None
        if special == "$function":
            return []
        if special == "$jwt":
            return _diff_golden_jwt(expected["$jwt"], actual, where)
        if special == "$date":
            want, got = _instant(expected), _instant(actual)
            return (
                []
                if want is not None and want == got
                else [f"{where}: {_short(actual)}, expected date {expected['$date']}"]
            )
        if special == "$bigint":
            return (
                []
                if actual == int(expected["$bigint"])
                else [f"{where}: {_short(actual)}, expected bigint {expected['$bigint']}"]
            )
        if special == "$set":
            if not (isinstance(actual, dict) and "$set" in actual):
                return [f"{where}: {_short(actual)}, expected a set"]
            key = lambda v: json.dumps(v, sort_keys=True, default=str)  # noqa: E731
            return diff_values(sorted(expected["$set"], key=key), sorted(actual["$set"], key=key), where, keys)
        fields = {k: v for k, v in expected.items() if k != "$class"}
        if not isinstance(actual, dict):
            if len(fields) == 1:  # e.g. TS {id} / {success} / {ok} → a plain value here
                return diff_values(next(iter(fields.values())), actual, where, keys)
            return [f"{where}: {_short(actual)}, expected an object {_short(expected)}"]
        out = []
        for key, value in fields.items():
            out += diff_values(value, actual.get(key), f"{where}.{key}", keys)
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: {_short(actual)}, expected {len(expected)} items"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in diff_values(e, a, f"{where}[{i}]", keys)
        ]
    if isinstance(expected, str) and decode_jwt(expected) is not None:
        return diff_jwt(expected, actual, where, keys)
    if isinstance(expected, str) and isinstance(actual, dict) and "id" in actual and "$date" not in actual:
        # The golden recorder kept only the ids of iterated items.
        return diff_values(expected, actual["id"], f"{where}.id", keys)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if expected is actual else [f"{where}: {_short(actual)}, expected {_short(expected)}"]
    if _is_number(expected) and _is_number(actual):
        return [] if expected == actual else [f"{where}: {actual}, expected {expected}"]
    if expected != actual:
        instant = _instant(expected)
        if instant is not None and instant == _instant(actual):
            return []
        return [f"{where}: {_short(actual)}, expected {_short(expected)}"]
    return []


def diff_errors(expected: Mapping[str, Any], actual: Mapping[str, Any], where: str = "error") -> list[str]:
    out = []
    want_class, got_class = expected.get("class"), actual.get("class")
    if want_class != got_class and not (want_class in ("Error", "TypeError") and got_class in ARGUMENT_ERRORS):
        out.append(f"{where}: class {got_class}, expected {want_class}")
    if expected.get("status") is not None and expected.get("status") != actual.get("status"):
        out.append(f"{where}: status {actual.get('status')}, expected {expected.get('status')}")
    want_message, got_message = str(expected.get("message", "")), str(actual.get("message", ""))
    if not _same_message(want_class, got_class, want_message, got_message):
        out.append(f"{where}: message {got_message!r}, expected {want_message!r}")
    for name in ("phase", "batchId", "itemCount", "isRateLimited"):
        if name in expected and expected[name] != actual.get(name):
            out.append(f"{where}: {name} {actual.get(name)!r}, expected {expected[name]!r}")
    if "cause" in expected and expected.get("class") == "BatchTriggerError":
        if "cause" not in actual:
            out.append(f"{where}: no cause, expected {expected['cause'].get('class')}")
        else:
            out += diff_errors(expected["cause"], actual["cause"], f"{where}.cause")
    return out


def _words(text: str) -> list[str]:
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), text)
    return re.findall(r"[A-Za-z0-9_]+", snake.lower())


def _same_message(want_class: Any, got_class: Any, want: str, got: str) -> bool:
    """The official message, or (argument errors) the same words with Python parameter
    names, or (schema validation) the same ``<status> Validation error:`` head: the details
    name fields in each SDK's own vocabulary."""
    if want == got or want in got:
        return True
    if got_class in ARGUMENT_ERRORS:
        got_words = set(_words(got))
        return all(word in got_words for word in _words(want))
    if want_class == got_class == "ApiSchemaValidationError":
        head = want.split(":", 1)[0]
        return got.startswith(head + ":")
    return False


def diff_outcomes(expected: Mapping[str, Any], actual: Mapping[str, Any], keys: Sequence[str] = ()) -> list[str]:
    if expected["ok"] != actual["ok"]:
        what = actual.get("result") if actual["ok"] else actual.get("error")
        want = expected.get("result") if expected["ok"] else expected.get("error")
        return [f"outcome ok={actual['ok']} ({_short(what)}), expected ok={expected['ok']} ({_short(want)})"]
    if expected["ok"]:
        return diff_values(expected["result"], actual["result"], "result", keys)
    return diff_errors(expected["error"], actual["error"])


def secrets_of(*values: Any) -> list[str]:
    """Every string in ``values`` that could be a signing key (for JWT verification)."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and value.startswith("tr_"):
            out.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for value in values:
        walk(value)
    return out
