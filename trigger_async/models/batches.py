"""Batches returned by ``batch.*`` and ``tasks.batch_trigger``, and bulk actions."""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = [
    "Batch",
    "BatchHandle",
    "BatchItemError",
    "BatchProcessing",
    "BulkAction",
    "BulkActionCounts",
]


@attrs.frozen
class BatchHandle:
    """What a batch trigger returns."""

    batch_id: str
    run_count: int
    public_access_token: str = attrs.field(repr=False)


@attrs.frozen
class BatchItemError:
    index: int
    task_identifier: str
    error: str
    error_code: str | None = None


@attrs.frozen
class BatchProcessing:
    errors: list[BatchItemError] = attrs.field(factory=list)
    completed_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Batch:
    id: str
    status: str
    created_at: datetime
    updated_at: datetime
    run_count: int
    runs: list[str] = attrs.field(factory=list)
    processing: BatchProcessing = attrs.field(factory=BatchProcessing)
    idempotency_key: str | None = None


@attrs.frozen
class BulkActionCounts:
    total: int
    success: int
    failure: int


@attrs.frozen(kw_only=True)
class BulkAction:
    id: str
    type: str
    status: str
    counts: BulkActionCounts
    created_at: datetime
    name: str | None = None
    completed_at: datetime | None = None
