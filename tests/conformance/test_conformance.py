"""The official SDK and ours, call by call, against the same scripted server.

For every catalogue case the official ``TriggerClient`` (run once for the whole catalogue
by the Node driver) and ``AsyncTriggerClient`` talk to fresh recording servers holding the
same script; the requests (count, method, path, raw query, SDK-chosen headers, JSON/NDJSON
bodies field by field, request idempotency key pattern) and the outcomes (result values or
error class/status/message) must be equal.

Cases that differ on purpose are in ``DOCUMENTED_DIFFERENCES`` with the reason and a check
that asserts the difference itself (the rest of the comparison must still be equal).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from .catalogue import CASES, NOT_COVERED, TOKEN, by_name, methods_called
from .compare import decode_body, diff_outcomes, diff_requests, diff_timing, order_notes, secrets_of
from .conftest import NOTES, SUMMARY
from .harness import Run, run_ours

CASE = by_name()
Check = Callable[[dict[str, Any], Run, Run], None]


def _rest_equal(
    case: dict[str, Any], theirs: Run, ours: Run, *, skip_headers: tuple[str, ...] = (), outcome: bool = True
) -> None:
    """Everything except what the difference is about is still equal."""
    assert not diff_requests(theirs.requests, ours.requests, skip_headers=skip_headers)
    if outcome:
        assert not diff_outcomes(theirs.outcome, ours.outcome, secrets_of(case))


def _per_call_headers_sent(case: dict[str, Any], theirs: Run, ours: Run) -> None:
    assert "x-per-call" not in theirs.requests[0].headers
    assert ours.requests[0].headers["x-per-call"] == "1"
    _rest_equal(case, theirs, ours, skip_headers=("x-per-call",))


def _no_map_type(case: dict[str, Any], theirs: Run, ours: Run) -> None:
    their_payload = json.loads(decode_body(theirs.requests[0])[1]["payload"])
    our_payload = json.loads(decode_body(ours.requests[0])[1]["payload"])
    assert their_payload == {"json": {"map": [["k", 1]]}, "meta": {"values": {"map": ["map"]}}}
    assert our_payload == {"json": {"map": {"k": 1}}}
    assert ours.outcome["ok"] and theirs.outcome["ok"]


def _set_order(case: dict[str, Any], theirs: Run, ours: Run) -> None:
    their_payload = json.loads(decode_body(theirs.requests[0])[1]["payload"])
    our_payload = json.loads(decode_body(ours.requests[0])[1]["payload"])
    assert their_payload["json"]["tags"] == ["b", "a", "c"]  # insertion order
    assert sorted(our_payload["json"]["tags"]) == ["a", "b", "c"]  # Python's iteration order
    assert our_payload["meta"] == their_payload["meta"] == {"values": {"tags": ["set"]}}
    assert ours.outcome["ok"] and theirs.outcome["ok"]


def _encoded_segment(raw: str, encoded: str) -> Check:
    def check(case: dict[str, Any], theirs: Run, ours: Run) -> None:
        assert len(theirs.requests) == len(ours.requests) == 1
        their_path, our_path = theirs.requests[0].path, ours.requests[0].path
        assert our_path.endswith(encoded), our_path
        assert not their_path.endswith(encoded), their_path  # raw (or even normalised by the URL parser)
        assert raw.rsplit("/", 1)[-1].replace(" ", "%20") in their_path
        # Apart from the path, the same request and outcome.
        same_path = [attrs.evolve(r, path=their_path) for r in ours.requests]
        assert not diff_requests(theirs.requests, same_path)
        assert not diff_outcomes(theirs.outcome, ours.outcome, secrets_of(case))

    return check


def _dropped_stale_cursor(stale: str) -> Check:
    def check(case: dict[str, Any], theirs: Run, ours: Run) -> None:
        assert len(theirs.requests) == len(ours.requests) == 2
        assert stale in theirs.requests[1].query
        assert stale not in ours.requests[1].query
        assert not diff_requests(theirs.requests[:1], ours.requests[:1])
        assert not diff_outcomes(theirs.outcome, ours.outcome)

    return check


def _bulk_bound(case: dict[str, Any], theirs: Run, ours: Run) -> None:
    (their_request,), (our_request,) = theirs.requests, ours.requests
    assert their_request.server == "B"
    assert their_request.headers["authorization"] == "Bearer tr_dev_global_configure_key"
    assert our_request.server == "A" and our_request.headers["authorization"] == f"Bearer {TOKEN}"
    assert their_request.path == our_request.path
    assert not diff_outcomes(theirs.outcome, ours.outcome)


def _bulk_without_global(case: dict[str, Any], theirs: Run, ours: Run) -> None:
    assert not theirs.requests and theirs.outcome["error"]["class"] == "ApiClientMissingError"
    assert [r.headers["authorization"] for r in ours.requests] == [f"Bearer {TOKEN}"]
    assert ours.outcome == {"ok": True, "result": "bulk_1234"}


def _envvars_update_works(case: dict[str, Any], theirs: Run, ours: Run) -> None:
    assert theirs.outcome["error"]["class"] == "ReferenceError" and not theirs.requests
    (request,) = ours.requests
    assert (request.method, request.path, json.loads(request.body)) == (
        "PUT",
        "/api/v1/projects/proj_1234/envvars/dev/MY_VAR",
        {"value": "new"},
    )
    assert ours.outcome == {"ok": True, "result": True}


def _prompts_request_options(case: dict[str, Any], theirs: Run, ours: Run) -> None:
    assert len(theirs.requests) == 3  # the client's 3 attempts: the per-call option was dropped
    assert len(ours.requests) == 1  # the per-call maxAttempts: 1
    assert not diff_requests(theirs.requests[:1], ours.requests)
    assert not diff_outcomes(theirs.outcome, ours.outcome)


def _retry_after_honoured(case: dict[str, Any], theirs: Run, ours: Run) -> None:
    their_gap = theirs.requests[1].arrived - theirs.requests[0].arrived
    our_gap = ours.requests[1].arrived - ours.requests[0].arrived
    assert their_gap < 0.5, their_gap  # the client's 10 ms back-off; retry-after ignored
    assert 0.95 <= our_gap <= 1.6, our_gap  # retry-after: 1
    _rest_equal(case, theirs, ours)


def _env_read_at_construction(case: dict[str, Any], theirs: Run, ours: Run) -> None:
    (their_request,), (our_request,) = theirs.requests, ours.requests
    # Both use the base URL of construction time; the official SDK reads the token per call.
    assert their_request.server == our_request.server == "A"
    assert their_request.headers["authorization"] == "Bearer tr_dev_env_at_call_time"
    assert our_request.headers["authorization"] == "Bearer tr_dev_env_at_construction"
    _rest_equal(case, theirs, ours, skip_headers=("authorization",))


def _empty_replay_body(case: dict[str, Any], theirs: Run, ours: Run) -> None:
    assert theirs.requests[0].body == b"{}" and ours.requests[0].body == b""
    assert not diff_outcomes(theirs.outcome, ours.outcome)
    assert [(r.method, r.path) for r in theirs.requests] == [(r.method, r.path) for r in ours.requests]


DOCUMENTED_DIFFERENCES: dict[str, tuple[str, Check]] = {
    "tasks_trigger_per_call_additional_headers": (
        "per-call additional_headers are sent (the official SDK drops them)",
        _per_call_headers_sent,
    ),
    "tasks_trigger_superjson_map": (
        "Python has no Map type: a dict payload is a plain object, no superjson 'map' meta",
        _no_map_type,
    ),
    "tasks_trigger_superjson_set_of_strings": (
        "Python sets have no insertion order: superjson set elements come in iteration order",
        _set_order,
    ),
    "runs_retrieve_id_with_slash": (
        "user path segments are percent-encoded (run ids)",
        _encoded_segment("run_1/../x y", "/api/v3/runs/run_1%2F..%2Fx%20y"),
    ),
    "schedules_retrieve_by_dedup_key_with_slash": (
        "user path segments are percent-encoded (schedule ids / deduplication keys)",
        _encoded_segment("user 1/daily", "/api/v1/schedules/user%201%2Fdaily"),
    ),
    "envvars_retrieve_name_needing_encoding": (
        "user path segments are percent-encoded (env var names)",
        _encoded_segment("WEIRD NAME/X", "/envvars/dev/WEIRD%20NAME%2FX"),
    ),
    "prompts_slug_needing_encoding": (
        "user path segments are percent-encoded (prompt slugs)",
        _encoded_segment("team/greeting v2", "/api/v1/prompts/team%2Fgreeting%20v2/versions"),
    ),
    "runs_list_next_page_after_before": (
        "paging forward drops the stale page[before] cursor",
        _dropped_stale_cursor("page%5Bbefore%5D=b_1"),
    ),
    "runs_list_previous_page": (
        "paging backward drops the stale page[after] cursor",
        _dropped_stale_cursor("page%5Bafter%5D=a_1"),
    ),
    "runs_bulk_bound_to_instance": (
        "runs.bulk is bound to its client (the official SDK uses the global configure())",
        _bulk_bound,
    ),
    "runs_bulk_without_global_config": (
        "runs.bulk works without configure() (the official SDK throws ApiClientMissingError)",
        _bulk_without_global,
    ),
    "envvars_update": (
        "envvars.update works outside a task (the official SDK throws ReferenceError: name is not defined)",
        _envvars_update_works,
    ),
    "prompts_request_options_honoured": (
        "prompts.* honour per-call request options (the official SDK drops them)",
        _prompts_request_options,
    ),
    "error_429_retry_after_generic_client": (
        "Retry-After is honoured by every call (the official generic client ignores it)",
        _retry_after_honoured,
    ),
    "runs_replay_empty_body": (
        "runs.replay(id, {}): keyword arguments cannot express an empty options object, so no body "
        "is sent (as for runs.replay(id)); the official SDK sends {}",
        _empty_replay_body,
    ),
    "client_env_read_at_construction": (
        "env vars are read once at construction (the official SDK reads the token per call)",
        _env_read_at_construction,
    ),
}

# Cases that are not equal because of a defect of trigger_async (not a decision): each is an
# expected failure only while *every* difference of the case matches its defect's pattern
# (anything else fails), and fails once the case is equal (then remove it). Empty while the
# client has no known defect (the cache-control ones this suite found were fixed).
# defect id → (description with evidence, regular expression every difference it explains matches)
DEFECTS: dict[str, tuple[str, str]] = {}
# case → the defect ids that explain its differences
KNOWN_CLIENT_DEFECTS: dict[str, tuple[str, ...]] = {}


def _timing_tolerance(case: dict[str, Any]) -> float:
    return case.get("timing_tolerance_ms", 150) / 1000


@pytest.mark.parametrize("name", [c["name"] for c in CASES])
async def test_same_as_official_sdk(
    name: str,
    official: tuple[dict[str, Run], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASE[name]
    theirs = official[0][name]
    assert not theirs.unscripted, f"the official SDK made unscripted requests: {theirs.unscripted}"
    ours = await run_ours(case, monkeypatch)
    diffs = diff_requests(theirs.requests, ours.requests, ordered=case.get("order") != "any")
    diffs += diff_outcomes(theirs.outcome, ours.outcome, secrets_of(case))
    if case.get("compare_timing") and name not in DOCUMENTED_DIFFERENCES:
        diffs += diff_timing(theirs.requests, ours.requests, _timing_tolerance(case))
    NOTES.extend(f"{name}: {note}" for note in order_notes(theirs.requests, ours.requests))
    group = case["group"]
    if name in DOCUMENTED_DIFFERENCES:
        _, check = DOCUMENTED_DIFFERENCES[name]
        check(case, theirs, ours)  # asserts the difference itself, and that the rest is equal
        SUMMARY[group]["documented"].append(name)
        return
    if name in KNOWN_CLIENT_DEFECTS:
        defects = KNOWN_CLIENT_DEFECTS[name]
        assert diffs, f"{name} is equal now: remove it from KNOWN_CLIENT_DEFECTS ({', '.join(defects)})"
        unexplained = [d for d in diffs if not any(re.search(DEFECTS[defect][1], d) for defect in defects)]
        if not unexplained:
            SUMMARY[group]["defect"].append(name)
            pytest.xfail(f"known client defect {', '.join(defects)} ({len(diffs)} differences)")
        diffs = unexplained
    if diffs:
        SUMMARY[group]["different"].append(name)
        pytest.fail(f"{name} differs from the official SDK:\n  " + "\n  ".join(diffs), pytrace=False)
    SUMMARY[group]["equal"].append(name)


def test_catalogue_covers_every_official_method(official: tuple[dict[str, Run], dict[str, Any]]) -> None:
    """Every key of every namespace of the official TriggerClient is called, or listed as
    not covered (realtime); the inventory comes from the installed SDK itself."""
    inventory = official[1]["inventory"]
    methods = {
        f"{namespace}.{key}"
        for namespace, keys in inventory.items()
        for key in keys
        if f"{namespace}.{key}" not in inventory  # runs.bulk is a namespace, not a method
    }
    assert methods, inventory
    missing = methods - methods_called() - set(NOT_COVERED)
    assert not missing, f"official methods the catalogue never calls: {sorted(missing)}"
    assert not (methods_called() - methods), "catalogue calls methods the official SDK does not have"
    assert official[1]["sdk_version"] == "4.8.3"


def test_documented_differences_are_catalogue_cases() -> None:
    assert set(DOCUMENTED_DIFFERENCES) <= set(CASE)
    assert set(KNOWN_CLIENT_DEFECTS) <= set(CASE)
    assert {d for defects in KNOWN_CLIENT_DEFECTS.values() for d in defects} <= set(DEFECTS)
    assert not set(DOCUMENTED_DIFFERENCES) & set(KNOWN_CLIENT_DEFECTS)
