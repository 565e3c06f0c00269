"""Runs as realtime subscriptions deliver them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

__all__ = ["RealtimeRun"]


@attrs.frozen(kw_only=True)
class RealtimeRun:
    """A run as ``runs.subscribe_to_*`` yields it (built from the run's database row).

    ``payload``, ``output`` and ``metadata`` are decoded from their packets; a packet stored
    in object storage is fetched when the row arrives.
    """

    id: str
    task_identifier: str
    status: str
    created_at: datetime
    updated_at: datetime
    is_test: bool = False
    is_queued: bool = False
    is_waiting: bool = False
    is_executing: bool = False
    is_completed: bool = False
    is_failed: bool = False
    is_success: bool = False
    is_cancelled: bool = False
    payload: Any = None
    output: Any = None
    metadata: Any = None
    duration_ms: float = 0
    cost_in_cents: float = 0
    base_cost_in_cents: float = 0
    tags: list[str] = attrs.field(factory=list)
    idempotency_key: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    delayed_until: datetime | None = None
    queued_at: datetime | None = None
    expired_at: datetime | None = None
    error: dict[str, Any] | None = None
    realtime_streams: list[str] = attrs.field(factory=list)
