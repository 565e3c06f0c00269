"""The comparer itself: it must see the differences the suite relies on it to see."""

from __future__ import annotations

import json
from typing import Any

import attrs

from trigger_async._jwt import sign_hs256

from .compare import diff_errors, diff_requests, diff_values
from .server import Recorded

KEY_1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
KEY_2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def request(**changes: Any) -> Recorded:
    base = Recorded(
        "A",
        "POST",
        "/api/v1/tasks/my-task/trigger",
        "",
        {
            "authorization": "Bearer tr_dev_x",
            "content-type": "application/json",
            "x-trigger-request-idempotency-key": KEY_1,
            "user-agent": "anything",
        },
        json.dumps({"payload": "p", "options": {"payloadType": "text/plain", "payloadSize": 1}}).encode(),
        0.0,
    )
    return attrs.evolve(base, **changes)


def test_equal_requests_have_no_differences() -> None:
    assert diff_requests([request()], [request(headers={**request().headers, "user-agent": "other"})]) == []


def test_request_differences_are_seen() -> None:
    other_headers = {**request().headers, "x-trigger-branch": "b"}
    assert diff_requests([request()], [request(headers=other_headers)])
    assert diff_requests([request()], [request(query="a=1")])
    assert diff_requests([request()], [request(path="/api/v1/tasks/other/trigger")])
    assert diff_requests([request()], [request(), request()])
    body = json.dumps({"payload": "p", "options": {"payloadType": "text/plain", "payloadSize": 2}}).encode()
    assert any("payloadSize" in d for d in diff_requests([request()], [request(body=body)]))
    assert diff_requests([request()], [request(body=b"")])


def test_request_key_pattern_is_compared() -> None:
    second = {**request().headers, "x-trigger-request-idempotency-key": KEY_2}
    retried = [request(), request()]
    fresh_each_time = [request(), request(headers=second)]
    assert diff_requests(retried, fresh_each_time)
    assert diff_requests(fresh_each_time, retried)
    assert not diff_requests(retried, retried)
    not_uuid = {**request().headers, "x-trigger-request-idempotency-key": "abc"}
    assert diff_requests([request()], [request(headers=not_uuid)])


def test_value_differences_are_seen() -> None:
    assert (
        diff_values({"id": "run_1", "tags": ["a"]}, {"$class": "X", "id": "run_1", "tags": ["a"], "extra": 1}, "r")
        == []
    )
    assert diff_values({"id": "run_1"}, {"id": "run_2"}, "r")
    assert diff_values({"tags": ["a"]}, {"tags": []}, "r")
    assert diff_values(
        {"at": {"$date": "2024-01-01T00:00:00.000Z"}}, {"at": {"$date": "2024-01-01T00:00:01.000Z"}}, "r"
    )
    assert diff_values({"ok": True}, {"ok": 1}, "r")
    assert diff_values({"success": True}, False, "r")
    assert diff_values({"isCached": True}, {"isCached": None}, "r")
    assert diff_values({"x": None}, {"x": None}, "r") == []


def test_jwt_lifetime_and_claims_are_seen() -> None:
    theirs = sign_hs256({"sub": "env_1", "scopes": ["read:runs:run_1"], "iat": 100, "exp": 1000}, "tr_dev_key")
    same = sign_hs256({"sub": "env_1", "scopes": ["read:runs:run_1"], "iat": 200, "exp": 1100}, "tr_dev_key")
    longer = sign_hs256({"sub": "env_1", "scopes": ["read:runs:run_1"], "iat": 200, "exp": 5000}, "tr_dev_key")
    other_scope = sign_hs256({"sub": "env_1", "scopes": ["read:runs:run_2"], "iat": 100, "exp": 1000}, "tr_dev_key")
    other_key = sign_hs256({"sub": "env_1", "scopes": ["read:runs:run_1"], "iat": 100, "exp": 1000}, "tr_dev_other")
    assert diff_values(theirs, same, "token", ["tr_dev_key"]) == []
    assert diff_values(theirs, longer, "token", ["tr_dev_key"])
    assert diff_values(theirs, other_scope, "token", ["tr_dev_key"])
    assert diff_values(theirs, other_key, "token", ["tr_dev_key", "tr_dev_other"])


def test_error_differences_are_seen() -> None:
    theirs = {"class": "NotFoundError", "status": 404, "message": "Run not found"}
    assert diff_errors(theirs, {"class": "NotFoundError", "status": 404, "message": "Run not found"}) == []
    assert diff_errors(theirs, {"class": "ApiError", "status": 404, "message": "Run not found"})
    assert diff_errors(theirs, {"class": "NotFoundError", "status": 400, "message": "Run not found"})
    assert diff_errors(theirs, {"class": "NotFoundError", "status": 404, "message": "Gone"})
    argument = {"class": "Error", "message": "projectRef is required"}
    assert diff_errors(argument, {"class": "InvalidArgumentError", "message": "project_ref: is required"}) == []
    assert diff_errors(argument, {"class": "InvalidArgumentError", "message": "env: is required"})
