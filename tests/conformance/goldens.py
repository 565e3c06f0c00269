"""The recorded golden files (``shared/conformance/golden``) in the suite's own terms.

A golden case becomes: the answers for the recording server (``answers``), the requests the
official SDK sent as ``Recorded`` items (placeholders normalised), the expected outcome in
the driver's neutral form, and — for the Node driver — a driver case.

The folder is found beside the repository (``<repo>/../shared/conformance/golden``, as in
the CI clone) unless ``TRIGGER_ASYNC_GOLDEN_DIR`` names another.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from .server import Recorded

GOLDEN_DIR = Path(
    os.environ.get(
        "TRIGGER_ASYNC_GOLDEN_DIR",
        str(Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "golden"),
    )
)

_PACKET = re.compile(r"\{\{packet_id#\d+\}\}")
_JWT = re.compile(r"^\{\{jwt#(\d+)\}\}$")
# Golden arguments the recorder could not inline, and what they stand for.
_GENERATED = {
    "Array.from({length: 500}, (_, i) => ({payload: {index: i}}))": [{"payload": {"index": i}} for i in range(500)],
}
# Arguments JSON could not carry: `undefined` object members the recorder dropped from
# `call.args` (the recorded request shows them: superjson `"missing":null` + meta "undefined").
_UNDEFINED_MEMBERS = {"tasks_trigger_superjson_types": (1, "set", "missing")}
# Global configure() the recorder applied (named in the cases' notes, not in `call`).
_GLOBAL_FOR_BULK = {"accessToken": "tr_dev_global_configure_key", "baseURL": "{{A}}"}
# Goldens the single-call replay does not cover, and why.
NOT_REPLAYED = {
    "isolation_configure_global_vs_client": "steps with module-level calls (tests/test_golden.py replays it in Python)",
    "auth_with_auth_in_configured_process": "steps with module-level calls and withAuth (tests/test_golden.py)",
    "isolation_two_clients_100_concurrent_calls": "two clients, 100 concurrent calls (tests/test_golden.py)",
}


def available() -> bool:
    return GOLDEN_DIR.is_dir()


def names() -> list[str]:
    return sorted(p.stem for p in GOLDEN_DIR.glob("*.json")) if available() else []


@cache
def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN_DIR / f"{name}.json").read_text())
    return data


def single_call_names() -> list[str]:
    return [
        n
        for n in names()
        if n not in NOT_REPLAYED and (load(n)["call"].get("method") or n == "isolation_env_read_timing")
    ]


def _placeholders(value: Any) -> Any:
    """Golden URL/packet placeholders → the recording server's (``{{A}}``, ``{{packet}}``)."""
    if isinstance(value, str):
        value = value.replace("{{baseURL_B}}", "{{B}}").replace("{{baseURL}}", "{{A}}")
        value = value.replace("{{epoch-ms}}", "{{epoch_ms+1000}}")
        return _PACKET.sub("{{packet}}", value)
    if isinstance(value, list):
        return [_placeholders(item) for item in value]
    if isinstance(value, dict):
        return {key: _placeholders(item) for key, item in value.items()}
    return value


def args(case: dict[str, Any]) -> list[Any]:
    def expand(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"$generate"}:
                return _GENERATED[value["$generate"]]
            return {k: expand(v) for k, v in value.items()}
        if isinstance(value, list):
            return [expand(v) for v in value]
        return value

    out = [expand(a) for a in _placeholders(case["call"]["args"])]
    if case["name"] in _UNDEFINED_MEMBERS:
        index, after, member = _UNDEFINED_MEMBERS[case["name"]]
        items = list(out[index].items())
        at = [key for key, _ in items].index(after) + 1
        out[index] = dict([*items[:at], (member, {"$undefined": True}), *items[at:]])
    return out


def servers(case: dict[str, Any]) -> list[str]:
    text = json.dumps(case["call"]) + json.dumps([r.get("server") for r in case["requests"]])
    return ["A", "B"] if "baseURL_B" in text or '"B"' in text else ["A"]


def answers(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The recorded responses, each for its (server, method, path), in recorded order."""
    out = []
    for request in case["requests"]:
        response = request["response"]
        answer: dict[str, Any] = {"server": request.get("server", "A"), "method": request["method"]}
        if _PACKET.search(request["path"]):
            answer["path_re"] = re.escape(_PACKET.sub("PACKET", request["path"])).replace(
                "PACKET", "packet_[0-9a-z]{21}"
            )
        else:
            answer["path"] = request["path"]
        if response.get("dropped"):
            answer["drop"] = True
        else:
            answer["status"] = response["status"]
            answer["headers"] = _placeholders(response.get("headers") or {})
            body = response.get("body")
            if isinstance(body, str):
                answer["text"] = _placeholders(body)
            elif body is not None:
                answer["body"] = _placeholders(body)
        out.append(answer)
    return out


def recorded(case: dict[str, Any]) -> list[Recorded]:
    """The official SDK's requests as ``Recorded`` items (packet ids normalised)."""
    timing = {t["index"]: t["arrived_ms"] / 1000 for t in case.get("timing", {}).get("requests", [])}
    out = []
    for request in case["requests"]:
        out.append(
            Recorded(
                request.get("server", "A"),
                request["method"],
                _PACKET.sub("packet_X", request["path"]),
                request["raw_query"],
                {k: _PACKET.sub("packet_X", v) for k, v in request["headers"].items()},
                _PACKET.sub("packet_X", request.get("body_text") or "").encode("utf-8"),
                timing.get(request["index"], 0.0),
            )
        )
    return out


def expected_outcome(case: dict[str, Any]) -> dict[str, Any]:
    """``result_or_error`` with ``{{jwt#n}}`` turned into ``{"$jwt": <decoded golden JWT>}``."""
    jwts = {j["placeholder"]: j for j in case.get("jwts", [])}

    def walk(value: Any) -> Any:
        if isinstance(value, str) and _JWT.match(value):
            return {"$jwt": jwts[value]}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    return walk(_placeholders(case["result_or_error"]))  # type: ignore[no-any-return]


def global_configure(case: dict[str, Any]) -> dict[str, Any] | None:
    if case["call"].get("global_configure"):
        return _placeholders(case["call"]["global_configure"])  # type: ignore[no-any-return]
    if case["call"].get("namespace") == "runs.bulk":
        return dict(_GLOBAL_FOR_BULK)
    return None


def shim(case: dict[str, Any]) -> dict[str, Any] | None:
    return {"global_name": "MY_VAR"} if "globalThis.name = 'MY_VAR'" in (case.get("notes") or "") else None


def as_catalogue_case(case: dict[str, Any]) -> dict[str, Any]:
    """A golden single-call case in the catalogue's form (for the driver and ``run_ours``)."""
    call = case["call"]
    if case["name"] == "isolation_env_read_timing":
        # Steps: env at construction, then other env values when the call is made.
        return {
            "name": case["name"],
            "group": case.get("group", "isolation"),
            "namespace": "runs",
            "method": "retrieve",
            "args": ["run_1234"],
            "client": {},
            "env": {"TRIGGER_API_URL": "{{A}}", "TRIGGER_SECRET_KEY": "tr_dev_env_at_construction"},
            "set_env": _placeholders(call["env"]),
            "answers": answers(case),
            "servers": ["A", "B"],
        }
    out: dict[str, Any] = {
        "name": case["name"],
        "group": case.get("group", call["namespace"]),
        "namespace": call["namespace"],
        "method": call["method"],
        "args": args(case),
        "client": _placeholders(call["clients"][0]["config"]),
        "env": _placeholders(call.get("env") or {}),
        "answers": answers(case),
        "servers": servers(case),
        "consume": call.get("consume", "await"),
    }
    if global_configure(case):
        out["global_configure"] = global_configure(case)
    if shim(case):
        out["shim"] = shim(case)
    return out


def diff_gaps(case: dict[str, Any], requests: list[Recorded]) -> list[str]:
    """The back-off delays of a retry case against the golden timeline: each retry gap
    (between two requests to the same endpoint) within -20 ms / +300 ms of the golden gap,
    or of the range the golden file gives for randomised delays."""
    if "retry" not in case:
        return []
    ours = [(b.arrived - a.arrived) * 1000 for a, b in itertools.pairwise(requests)]
    theirs = case["timing"]["gaps_ms"]
    golden_requests = case["requests"]
    retries = [
        i
        for i in range(len(golden_requests) - 1)
        if (golden_requests[i]["method"], golden_requests[i]["path"])
        == (golden_requests[i + 1]["method"], golden_requests[i + 1]["path"])
    ]
    ranges = case["retry"].get("expected_delay_range_ms")
    out = []
    for k, i in enumerate(retries):
        if i >= len(ours):
            break
        low, high = ranges[k] if ranges and k < len(ranges) else (theirs[i], theirs[i])
        if not low - 20 <= ours[i] <= high + 300:
            out.append(
                f"retry gap {i}: {ours[i]:.0f} ms, golden {theirs[i]:.0f} ms (accepted {low}-{high} ms, -20/+300)"
            )
    return out
