"""Trigger runs and list them through two isolated clients under one ``asyncio.gather``.

With no ``TRIGGER_SECRET_KEY`` set, an emulator of the Trigger.dev API is started in this
process. Against a real project set all three of ``TRIGGER_SECRET_KEY`` (the first client's
key, e.g. production), ``TRIGGER_PREVIEW_SECRET_KEY`` and ``TRIGGER_PREVIEW_BRANCH`` (the
second client: a preview key and an existing preview branch); ``TRIGGER_API_URL`` points both
at another server. Runs are triggered for the tasks send-email, resize-image and sync-crm.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Sequence
from typing import Any, TextIO

from trigger_async import AsyncTriggerClient, ListedRun, RunHandle
from trigger_async.testing import Emulator

TASKS = ("send-email", "resize-image", "sync-crm")


async def _trigger_and_list(
    client: AsyncTriggerClient, label: str, tag: str
) -> tuple[list[RunHandle[Any]], list[ListedRun]]:
    handles = await asyncio.gather(
        *(client.tasks.trigger(task, {"demo": label, "n": n}, tags=[tag]) for n, task in enumerate(TASKS))
    )
    runs = [run async for run in client.runs.list(tag=tag, limit=100)]
    return list(handles), runs


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


async def run_demo(prod: AsyncTriggerClient, preview: AsyncTriggerClient, *, out: TextIO = sys.stdout) -> bool:
    """Run both clients concurrently; print the table; True when neither saw the other's runs."""
    tag = f"demo-{uuid.uuid4().hex[:10]}"
    (prod_handles, prod_runs), (preview_handles, preview_runs) = await asyncio.gather(
        _trigger_and_list(prod, "production", tag), _trigger_and_list(preview, "preview", tag)
    )
    rows: list[tuple[str, ...]] = [("client", "environment", "run id", "task", "status")]
    for label, client, runs in (
        ("production", prod, prod_runs),
        ("preview", preview, preview_runs),
    ):
        for run in sorted(runs, key=lambda r: r.task_identifier):
            branch = f" ({client.config.preview_branch})" if client.config.preview_branch else ""
            rows.append((label, f"{run.env.name}{branch}", run.id, run.task_identifier, run.status))
    print(_table(rows), file=out)
    prod_ids = {h.id for h in prod_handles}
    preview_ids = {h.id for h in preview_handles}
    isolated = (
        {r.id for r in prod_runs} == prod_ids
        and {r.id for r in preview_runs} == preview_ids
        and not prod_ids & preview_ids
    )
    verdict = (
        "each client saw exactly its own runs: no cross-talk"
        if isolated
        else "CROSS-TALK: a client saw runs it did not trigger, or missed its own"
    )
    print(f"\n{len(prod_ids)} + {len(preview_ids)} runs triggered; {verdict}", file=out)
    return isolated


async def main() -> int:
    key = os.environ.get("TRIGGER_SECRET_KEY")
    if key:
        preview_key = os.environ.get("TRIGGER_PREVIEW_SECRET_KEY")
        branch = os.environ.get("TRIGGER_PREVIEW_BRANCH")
        if not preview_key or not branch:
            print(
                "With TRIGGER_SECRET_KEY set, the demo also needs TRIGGER_PREVIEW_SECRET_KEY and "
                "TRIGGER_PREVIEW_BRANCH for its second, preview-branch client.\n"
                "Unset TRIGGER_SECRET_KEY to run it against the embedded emulator instead.",
                file=sys.stderr,
            )
            return 2
        async with (
            AsyncTriggerClient(access_token=key, preview_branch="") as prod,
            AsyncTriggerClient(access_token=preview_key, preview_branch=branch) as preview,
        ):
            print(f"Using the API at {prod.config.base_url}\n")
            return 0 if await run_demo(prod, preview) else 1
    async with Emulator() as emulator:
        print(f"No TRIGGER_SECRET_KEY set: using the embedded emulator at {emulator.url}\n")
        async with (
            AsyncTriggerClient(access_token=emulator.prod_key, base_url=emulator.url, preview_branch="") as prod,
            AsyncTriggerClient(
                access_token=emulator.preview_key, base_url=emulator.url, preview_branch="signup-flow"
            ) as preview,
        ):
            return 0 if await run_demo(prod, preview) else 1


if __name__ == "__main__":
    argparse.ArgumentParser(
        prog="python -m trigger_async.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args()
    sys.exit(asyncio.run(main()))
