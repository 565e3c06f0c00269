"""Run JSON shapes: list items and ``RetrieveRunResponse``.

Optional fields are omitted when absent, never ``null``: the official SDK's schemas reject
``null`` for them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ._packets import STORE_TYPE, Packet, read_packet
from ._statuses import api_status, status_flags
from ._store import Run, Store
from ._timeutil import iso


def _metadata(run: Run) -> dict[str, Any] | None:
    present, value = read_packet(run.metadata)
    if not present or not isinstance(value, dict):
        return None
    # Keys starting with "$$" are the engine's own bookkeeping (streams), never shown.
    return {k: v for k, v in value.items() if not k.startswith("$$")}


def common_fields(run: Run, new_vocabulary: bool, *, user_key: bool) -> dict[str, Any]:
    """Fields shared by list items, retrieve answers and related runs.

    ``user_key`` selects the idempotency key shown: retrieve shows the caller's original key,
    the list shows the stored (hashed) one.
    """
    status = api_status(run.status, new_vocabulary)
    out: dict[str, Any] = {"id": run.id, "status": status, "taskIdentifier": run.task_identifier}
    key = (run.idempotency_key_user or run.idempotency_key) if user_key else run.idempotency_key
    if key is not None:
        out["idempotencyKey"] = key
    if run.version is not None:
        out["version"] = run.version
    out.update(status_flags(status))
    out["isTest"] = run.is_test
    out["createdAt"] = iso(run.created_at)
    out["updatedAt"] = iso(run.updated_at)
    if run.started_at is not None:
        out["startedAt"] = iso(run.started_at)
    if run.finished_at is not None:
        out["finishedAt"] = iso(run.finished_at)
    if run.delay_until is not None:
        out["delayedUntil"] = iso(run.delay_until)
    if run.ttl is not None:
        out["ttl"] = run.ttl
    if run.expired_at is not None:
        out["expiredAt"] = iso(run.expired_at)
    out["tags"] = sorted(run.tags)
    out["costInCents"] = 0
    out["baseCostInCents"] = 0
    out["durationMs"] = (
        run.finished_at - run.started_at if run.finished_at is not None and run.started_at is not None else 0
    )
    metadata = _metadata(run)
    if metadata is not None:
        out["metadata"] = metadata
    out["taskKind"] = "STANDARD"
    if run.region is not None:
        out["region"] = run.region
    return out


def list_item(run: Run, new_vocabulary: bool) -> dict[str, Any]:
    """``ListRunResponseItem``."""
    out = common_fields(run, new_vocabulary, user_key=False)
    out["env"] = {"id": run.env.id, "name": run.env.slug}
    out["depth"] = run.depth
    return out


def related_run(run: Run, new_vocabulary: bool) -> dict[str, Any]:
    """A run as it appears inside ``relatedRuns``."""
    out = common_fields(run, new_vocabulary, user_key=True)
    out["depth"] = run.depth
    out["triggerFunction"] = run.trigger_function
    if run.batch_id is not None:
        out["batchId"] = run.batch_id
    return out


def download_url(base_url: str, path: str) -> str:
    """The object store URL a presigned GET of ``path`` points at."""
    return f"{base_url}/__objectstore/download/{quote(path, safe='/')}"


def _presigned(packet: Packet | None, base_url: str | None) -> str | None:
    if packet is None or packet.data_type != STORE_TYPE or not packet.data or base_url is None:
        return None
    return download_url(base_url, packet.data)


def retrieve_body(store: Store, run: Run, new_vocabulary: bool, base_url: str | None = None) -> dict[str, Any]:
    """``RetrieveRunResponse``.

    Offloaded (``application/store``) payloads and outputs are given as presigned URLs of
    the emulator's object store under ``base_url`` instead of inline values.
    """
    out = related_run(run, new_vocabulary)
    present, payload = read_packet(run.payload)
    if present:
        out["payload"] = payload
    payload_url = _presigned(run.payload, base_url)
    if payload_url is not None:
        out["payloadPresignedUrl"] = payload_url
    if out["status"] == "COMPLETED":
        has_output, output = read_packet(run.output)
        if has_output:
            out["output"] = output
        output_url = _presigned(run.output, base_url)
        if output_url is not None:
            out["outputPresignedUrl"] = output_url
    if run.error is not None:
        out["error"] = run.error
    related: dict[str, Any] = {}
    root = store.runs.get(run.root_id) if run.root_id else None
    if root is not None:
        related["root"] = related_run(root, new_vocabulary)
    parent = store.runs.get(run.parent_id) if run.parent_id else None
    if parent is not None:
        related["parent"] = related_run(parent, new_vocabulary)
    related["children"] = [related_run(c, new_vocabulary) for c in store.children_of(run)]
    out["relatedRuns"] = related
    out["attemptCount"] = run.attempt_count
    out["attempts"] = []
    return out
