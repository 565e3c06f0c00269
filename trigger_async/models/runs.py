"""Run objects returned by ``runs.*`` and ``tasks.trigger``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import attrs

__all__ = [
    "ListedRun",
    "MachinePreset",
    "RelatedRuns",
    "RetrievedRun",
    "Run",
    "RunEnvironment",
    "RunError",
    "RunHandle",
    "RunSchedule",
    "RunStatus",
    "ScheduleGenerator",
]

RunStatus = Literal[
    "PENDING_VERSION",
    "QUEUED",
    "DEQUEUED",
    "EXECUTING",
    "WAITING",
    "COMPLETED",
    "CANCELED",
    "FAILED",
    "CRASHED",
    "SYSTEM_FAILURE",
    "DELAYED",
    "EXPIRED",
    "TIMED_OUT",
]
MachinePreset = Literal["micro", "small-1x", "small-2x", "medium-1x", "medium-2x", "large-1x", "large-2x"]

O = TypeVar("O")  # noqa: E741


@attrs.frozen
class RunHandle(Generic[O]):
    """What a trigger returns: the new run's ``id`` and a token a browser may use to read it.

    Passing the handle to ``runs.retrieve()`` gives the output the type of the ``TaskRef``
    the run was triggered with.
    """

    id: str
    # A bearer token for the run: kept out of reprs and logs.
    public_access_token: str = attrs.field(repr=False)
    is_cached: bool | None = None
    task_identifier: str | None = None
    output_type: type[O] | None = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Run:
    """Fields common to listed and retrieved runs."""

    id: str
    status: str
    task_identifier: str
    created_at: datetime
    updated_at: datetime
    is_test: bool
    is_queued: bool
    is_executing: bool
    is_waiting: bool
    is_completed: bool
    is_success: bool
    is_failed: bool
    is_cancelled: bool
    tags: list[str] = attrs.field(factory=list)
    cost_in_cents: float = 0
    base_cost_in_cents: float = 0
    duration_ms: float = 0
    idempotency_key: str | None = None
    version: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    delayed_until: datetime | None = None
    expired_at: datetime | None = None
    ttl: str | None = None
    metadata: dict[str, Any] | None = None
    task_kind: str | None = None
    region: str | None = None
    depth: int | None = None


@attrs.frozen
class RunEnvironment:
    """The environment a listed run belongs to (``name`` is its slug)."""

    id: str
    name: str
    user: str | None = None


@attrs.frozen(kw_only=True)
class ListedRun(Run):
    """An item of ``runs.list()``."""

    env: RunEnvironment


@attrs.frozen
class RunError:
    """Why a run failed."""

    message: str
    name: str | None = None
    stack_trace: str | None = None


@attrs.frozen
class ScheduleGenerator:
    type: str
    expression: str
    description: str


@attrs.frozen
class RunSchedule:
    """The schedule that triggered a run."""

    id: str
    generator: ScheduleGenerator
    external_id: str | None = None
    deduplication_key: str | None = None


@attrs.frozen(kw_only=True)
class RelatedRun(Run):
    trigger_function: str | None = None
    batch_id: str | None = None


@attrs.frozen
class RelatedRuns:
    root: RelatedRun | None = None
    parent: RelatedRun | None = None
    children: list[RelatedRun] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class RetrievedRun(Run, Generic[O]):
    """A run as ``runs.retrieve()`` returns it, with payload, output and relations."""

    trigger_function: str
    related_runs: RelatedRuns = attrs.field(factory=RelatedRuns)
    attempt_count: int = 0
    batch_id: str | None = None
    payload: Any = None
    payload_presigned_url: str | None = None
    output: O | None = None
    output_presigned_url: str | None = None
    error: RunError | None = None
    schedule: RunSchedule | None = None
