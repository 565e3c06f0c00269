"""Running a catalogue case with the official SDK (Node) and with ours, against fresh
recording servers holding the same script."""

from __future__ import annotations

import copy
from typing import Any

import attrs
import pytest

import trigger_async
from trigger_async import AsyncTriggerClient

from .calls import call, client_kwargs, consume, neutral, neutral_error
from .node import run_driver
from .server import CaseServers, Recorded, ServerThread


@attrs.define
class Run:
    """What one side did for a case: the requests the servers saw, and the outcome."""

    requests: list[Recorded]
    outcome: dict[str, Any]
    steps: list[dict[str, Any]] = attrs.field(factory=list)
    unscripted: list[str] = attrs.field(factory=list)


def placeholders(value: Any, urls: dict[str, str]) -> Any:
    """The servers' base URLs in a result (e.g. presigned URLs) back to ``{{A}}``/``{{B}}``."""
    if isinstance(value, str):
        for label, url in urls.items():
            value = value.replace(url, f"{{{{{label}}}}}")
        return value
    if isinstance(value, list):
        return [placeholders(item, urls) for item in value]
    if isinstance(value, dict):
        return {key: placeholders(item, urls) for key, item in value.items()}
    return value


def driver_case(case: dict[str, Any], servers: CaseServers) -> dict[str, Any]:
    """A catalogue case in the driver's job format, URLs filled in."""
    job: dict[str, Any] = {
        "name": case["name"],
        "client": servers.fill(case.get("client", {})),
        "env": servers.fill(case.get("env") or {}),
    }
    if case.get("global_configure"):
        job["global_configure"] = servers.fill(case["global_configure"])
    step: dict[str, Any] = {
        "id": "call",
        "namespace": case["namespace"],
        "method": case["method"],
        "args": servers.fill(case["args"]),
        "consume": case.get("consume", "await"),
    }
    if case.get("shim"):
        step["shim"] = case["shim"]
    steps = [step]
    if case.get("set_env"):
        steps.insert(0, {"id": "set_env", "set_env": servers.fill(case["set_env"])})
    job["steps"] = steps
    if case.get("timeout_ms"):
        job["timeout_ms"] = case["timeout_ms"]
    return job


def run_official(cases: list[dict[str, Any]], *, concurrency: int = 8) -> tuple[dict[str, Run], dict[str, Any]]:
    """Every case through the official SDK in one Node process; fresh servers per case."""
    host = ServerThread()
    started: dict[str, CaseServers] = {}
    try:
        for case in cases:
            started[case["name"]] = host.start(case["answers"], case.get("servers", ["A"]))
        job = {"concurrency": concurrency, "cases": [driver_case(c, started[c["name"]]) for c in cases]}
        output = run_driver(job)
        runs = {}
        for case in cases:
            servers = started[case["name"]]
            result = output["results"][case["name"]]
            outcome = {
                "ok": result["ok"],
                **({"result": result["result"]} if result["ok"] else {"error": result["error"]}),
            }
            outcome = placeholders(outcome, servers.urls)
            runs[case["name"]] = Run(
                host.snapshot(servers), outcome, result.get("steps", []), list(servers.script.unscripted)
            )
        return runs, output
    finally:
        host.close(list(started.values()))


async def run_ours(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Run:
    """The same case through ``AsyncTriggerClient`` (on the test's event loop)."""
    async with CaseServers(copy.deepcopy(case["answers"]), case.get("servers", ["A"])) as servers:
        for key, value in (case.get("env") or {}).items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, servers.fill(value))
        if case.get("global_configure"):
            trigger_async.configure(**client_kwargs(servers.fill(case["global_configure"])))
        client = None
        try:
            client = AsyncTriggerClient(**client_kwargs(servers.fill(case.get("client", {}))))
            for key, value in (case.get("set_env") or {}).items():
                monkeypatch.setenv(key, servers.fill(value))
            returned = call(client, case["namespace"], case["method"], servers.fill(case["args"]))
            outcome = {"ok": True, "result": neutral(await consume(returned, case.get("consume")))}
        except Exception as error:  # every failure is part of the outcome
            outcome = {"ok": False, "error": neutral_error(error)}
        finally:
            if client is not None:
                await client.aclose()
            await trigger_async.aclose()
        return Run(list(servers.log), placeholders(outcome, servers.urls), unscripted=list(servers.script.unscripted))
