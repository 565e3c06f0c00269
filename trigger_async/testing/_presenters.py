"""Run JSON shapes: list items, ``RetrieveRunResponse`` and the raw rows of realtime shapes.

Optional fields of the API answers are omitted when absent, never ``null``: the official
SDK's schemas reject ``null`` for them. Raw rows are database rows and carry every column,
``null`` included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import quote

from ._packets import JSON_TYPE, STORE_TYPE, Packet, read_packet
from ._statuses import api_status, status_flags
from ._store import Run, Store, cuid_like
from ._timeutil import iso, iso_naive


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


# raw rows (realtime shapes) ------------------------------------------------------------------

#: The ``TaskRun`` columns of a realtime row, in the order the wire spec lists them.
RAW_COLUMNS: Final = (
    "id",
    "taskIdentifier",
    "friendlyId",
    "status",
    "createdAt",
    "updatedAt",
    "startedAt",
    "delayUntil",
    "queuedAt",
    "expiredAt",
    "completedAt",
    "idempotencyKey",
    "number",
    "isTest",
    "usageDurationMs",
    "costInCents",
    "baseCostInCents",
    "ttl",
    "payload",
    "payloadType",
    "metadata",
    "metadataType",
    "output",
    "outputType",
    "runTags",
    "error",
    "realtimeStreams",
)

_TASK_RUN_ERROR_TYPES: Final = frozenset({"BUILT_IN_ERROR", "CUSTOM_ERROR", "STRING_ERROR", "INTERNAL_ERROR"})


def internal_run_id(run: Run) -> str:
    """The run's database id (a cuid), which realtime rows and shape keys use."""
    return cuid_like("run\0" + run.id)


def task_run_error(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored ``TaskRunError`` behind an API error object.

    The API shows ``{"message", "name"?, "stackTrace"?}``; the database column holds the
    tagged union the SDK parses rows with: a named error is a ``BUILT_IN_ERROR``, a bare
    message a ``STRING_ERROR``. Objects already tagged with a ``type`` are kept.
    """
    if error is None:
        return None
    if error.get("type") in _TASK_RUN_ERROR_TYPES:
        return dict(error)
    raw_message = error.get("message")
    message = raw_message if isinstance(raw_message, str) else "" if raw_message is None else str(raw_message)
    name = error.get("name")
    if isinstance(name, str):
        stack = error.get("stackTrace")
        return {
            "type": "BUILT_IN_ERROR",
            "name": name,
            "message": message,
            "stackTrace": stack if isinstance(stack, str) else "",
        }
    return {"type": "STRING_ERROR", "raw": message}


def _naive(ms: int | None) -> str | None:
    return iso_naive(ms) if ms is not None else None


def raw_row(run: Run, *, number: int, streams: Sequence[str]) -> dict[str, Any]:
    """The run's ``TaskRun`` row as a realtime shape sends it (every column of ``RAW_COLUMNS``).

    Values are plain JSON (numbers, booleans, arrays), as the recorded exchanges show, with an
    empty ``electric-schema``. Timestamps have no zone, statuses are internal, packets are raw
    (serialised data plus type); ``runTags`` is ``null`` without tags, as the column has no
    default; ``usageDurationMs`` is the time from start to finish.
    """
    duration = run.finished_at - run.started_at if run.finished_at is not None and run.started_at is not None else 0
    return {
        "id": internal_run_id(run),
        "taskIdentifier": run.task_identifier,
        "friendlyId": run.id,
        "status": run.status,
        "createdAt": iso_naive(run.created_at),
        "updatedAt": iso_naive(run.updated_at),
        "startedAt": _naive(run.started_at),
        "delayUntil": _naive(run.delay_until),
        "queuedAt": _naive(run.queued_at),
        "expiredAt": _naive(run.expired_at),
        "completedAt": _naive(run.finished_at),
        "idempotencyKey": run.idempotency_key,
        "number": number,
        "isTest": run.is_test,
        "usageDurationMs": duration,
        "costInCents": 0,
        "baseCostInCents": 0,
        "ttl": run.ttl,
        "payload": run.payload.data,
        "payloadType": run.payload.data_type,
        "metadata": run.metadata.data if run.metadata is not None else None,
        "metadataType": run.metadata.data_type if run.metadata is not None else JSON_TYPE,
        "output": run.output.data if run.output is not None else None,
        "outputType": run.output.data_type if run.output is not None else JSON_TYPE,
        "runTags": list(run.tags) or None,
        "error": task_run_error(run.error),
        "realtimeStreams": list(streams),
    }
