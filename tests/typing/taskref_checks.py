"""Checked by ``mypy --strict`` (nox session ``typecheck``), never run.

Each ``# type: ignore[...]`` marks a line mypy must reject; with ``warn_unused_ignores`` (part
of ``--strict``) the check fails if any of those lines were accepted.
"""

from __future__ import annotations

import attrs

from trigger_async import AsyncTriggerClient, RetrievedRun, RunHandle, TaskRef


@attrs.frozen
class Order:
    order_id: int


@attrs.frozen
class Receipt:
    total_cents: int


process_order = TaskRef[Order, Receipt]("process-order", output_type=Receipt)


async def typed_round_trip(client: AsyncTriggerClient) -> int:
    handle: RunHandle[Receipt] = await client.tasks.trigger(process_order, Order(order_id=7))
    run: RetrievedRun[Receipt] = await client.runs.retrieve(handle)
    assert run.output is not None
    return run.output.total_cents


async def wrong_payloads_are_rejected(client: AsyncTriggerClient) -> None:
    await client.tasks.trigger(process_order, {"order_id": 7})  # type: ignore[misc]
    await client.tasks.trigger(process_order, Receipt(total_cents=1))  # type: ignore[misc]
    await client.tasks.trigger(process_order)  # type: ignore[call-overload]


async def wrong_output_use_is_rejected(client: AsyncTriggerClient) -> None:
    handle = await client.tasks.trigger(process_order, Order(order_id=7))
    run = await client.runs.retrieve(handle)
    assert run.output is not None
    run.output.order_id  # type: ignore[attr-defined]  # noqa: B018


async def untyped_ids_still_work(client: AsyncTriggerClient) -> None:
    handle = await client.tasks.trigger("any-task", {"free": "form"}, tags="x")
    run = await client.runs.retrieve(handle.id)
    _ = run.output
