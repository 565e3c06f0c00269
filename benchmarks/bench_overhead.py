"""SDK overhead against raw aiohttp, measured in the same run against the same server.

    python3 benchmarks/bench_overhead.py [--calls 3000] [--concurrency 50]

Both sides fetch ``GET /api/v3/runs/{id}`` from one loopback server that answers a fixed,
valid run body. Raw aiohttp sends the same headers and parses the JSON; the SDK also builds its
headers, mints a request key, and structures the body into a typed ``RetrievedRun``.
Prints seconds per side and the ratio SDK / raw (lower is better).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import aiohttp
from aiohttp import web

from trigger_async import AsyncTriggerClient

BODY = json.dumps(
    {
        "id": "run_bench",
        "status": "COMPLETED",
        "taskIdentifier": "bench",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:00:01.000Z",
        "isTest": False,
        "isQueued": False,
        "isExecuting": False,
        "isWaiting": False,
        "isCompleted": True,
        "isSuccess": True,
        "isFailed": False,
        "isCancelled": False,
        "tags": ["a", "b"],
        "costInCents": 0,
        "baseCostInCents": 0,
        "durationMs": 12,
        "depth": 0,
        "triggerFunction": "trigger",
        "relatedRuns": {"children": []},
        "attemptCount": 1,
        "payload": {"hello": "world"},
        "output": {"ok": True},
    }
).encode()
TOKEN = "tr_dev_benchmark_key_000000000"


async def serve() -> tuple[web.AppRunner, str]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v3/runs/{run_id}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def batches(call: object, calls: int, concurrency: int) -> float:
    started = time.perf_counter()
    for start in range(0, calls, concurrency):
        await asyncio.gather(*(call(f"run_{n}") for n in range(start, min(calls, start + concurrency))))  # type: ignore[operator]
    return time.perf_counter() - started


async def main(calls: int, concurrency: int, rounds: int) -> None:
    runner, url = await serve()
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {TOKEN}",
        "trigger-version": "4.8.3",
        "x-trigger-source": "sdk",
        "x-trigger-api-version": "2025-07-16",
        "x-trigger-realtime-streams-version": "v2",
    }
    async with (
        aiohttp.ClientSession() as session,
        AsyncTriggerClient(access_token=TOKEN, base_url=url) as client,
    ):

        async def raw(run_id: str) -> object:
            async with session.get(
                f"{url}/api/v3/runs/{run_id}",
                headers={**headers, "x-trigger-request-idempotency-key": str(uuid.uuid4())},
            ) as resp:
                return await resp.json()

        async def sdk(run_id: str) -> object:
            return await client.runs.retrieve(run_id)

        await batches(raw, 200, concurrency)  # warm both pools
        await batches(sdk, 200, concurrency)
        raw_times, sdk_times = [], []
        for _ in range(rounds):  # interleaved, so drift hits both sides alike
            raw_times.append(await batches(raw, calls, concurrency))
            sdk_times.append(await batches(sdk, calls, concurrency))
    await runner.cleanup()
    raw_best, sdk_best = min(raw_times), min(sdk_times)
    print(f"calls={calls} concurrency={concurrency} rounds={rounds} (best round; median in brackets)")
    for label, best, times in (
        ("raw aiohttp  ", raw_best, raw_times),
        ("trigger_async", sdk_best, sdk_times),
    ):
        rate = calls / best
        print(f"{label}: {best:.3f} s ({rate:,.0f} calls/s) [{statistics.median(times):.3f} s]")
    print(f"ratio SDK / raw: {sdk_best / raw_best:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.concurrency, args.rounds))
