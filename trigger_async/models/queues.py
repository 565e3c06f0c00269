"""Queues returned by ``queues.*`` and the ``QueueRef`` argument."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs

__all__ = ["Queue", "QueueConcurrency", "QueueRef"]


@attrs.frozen
class QueueRef:
    """A queue named by its kind and name: ``QueueRef("task", "send-email")``."""

    type: Literal["task", "custom"]
    name: str


@attrs.frozen
class QueueConcurrency:
    """Concurrency limits of a V1 queue (``None`` where the queue has no limit)."""

    current: float | None = None
    base: float | None = None
    override: float | None = None
    overridden_at: datetime | None = None
    overridden_by: str | None = None


@attrs.frozen(kw_only=True)
class Queue:
    """A queue with its live counts and limits."""

    id: str
    name: str
    type: str
    running: int
    queued: int
    paused: bool
    concurrency_limit: int | None = None
    version: str = "V1"
    concurrency: QueueConcurrency | None = None
