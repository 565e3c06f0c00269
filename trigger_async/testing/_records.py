"""Records of the areas beside runs: batches, stored packets, bulk actions, schedules,
environment variables, queues, deployments and prompts.

They hold internal state only; each area module presents them in the server's JSON shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ._store import Environment


@attrs.define(eq=False)
class Batch:
    """A ``BatchTaskRun``: created by ``POST /api/v3/batches`` (or the v2 array API)."""

    id: str
    env: Environment
    run_count: int
    created_at: int
    updated_at: int
    idempotency_key: str | None = None
    status: str = "PENDING"
    sealed: bool = False
    # index -> validated NDJSON item, as enqueued (before the batch is sealed)
    items: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    run_ids: list[str] = attrs.field(factory=list)
    errors: list[dict[str, Any]] = attrs.field(factory=list)
    processing_completed_at: int | None = None
    parent_run_id: str | None = None
    resume_parent_on_completion: bool = False


@attrs.define(eq=False)
class StoredObject:
    """One object of the emulated object store (packet uploads and server-side offloads)."""

    data: bytes
    content_type: str


@attrs.define(eq=False)
class BulkAction:
    """A ``BulkActionGroup``. It is PENDING until the next read of bulk actions applies it
    (the real server works through it in the background), so it can still be aborted."""

    id: str
    env: Environment
    type: str  # CANCEL | REPLAY
    status: str
    created_at: int
    name: str | None = None
    total: int = 0
    success: int = 0
    failure: int = 0
    completed_at: int | None = None
    # Applies the action; set while PENDING.
    work: Callable[[], None] | None = attrs.field(default=None, repr=False)


@attrs.define(eq=False)
class Schedule:
    """A project-level ``TaskSchedule`` with its per-environment instances."""

    id: str
    type: str  # IMPERATIVE | DECLARATIVE
    task: str
    cron: str
    description: str
    timezone: str
    deduplication_key: str
    user_provided_key: bool
    created_at: int
    sequence: int
    external_id: str | None = None
    window: str | None = None
    active: bool = True
    environments: list[Environment] = attrs.field(factory=list)


@attrs.define(eq=False)
class EnvVarValue:
    """The value a project-level variable has in one environment."""

    value: str
    is_secret: bool = False


@attrs.define(eq=False)
class Queue:
    """A ``TaskQueue`` of one environment: ``task/<id>`` (task) or a custom name."""

    id: str
    env: Environment
    name: str
    concurrency_limit: int | None = None
    base: int | None = None
    overridden_at: int | None = None
    override_percent: float | None = None
    paused: bool = False

    @property
    def kind(self) -> str:
        """``task`` for a task's own queue, ``custom`` otherwise."""
        return "task" if self.name.startswith("task/") else "custom"

    @property
    def orderable_name(self) -> str:
        """What the list orders by: the task id for task queues, else the name."""
        return self.name[len("task/") :] if self.kind == "task" else self.name


@attrs.define(eq=False)
class Deployment:
    """A ``WorkerDeployment`` seeded with ``Emulator.add_deployment``."""

    id: str
    env: Environment
    version: str
    short_code: str
    status: str
    created_at: int
    sequence: int
    deployed_at: int | None = None


@attrs.define(eq=False)
class PromptVersion:
    """One version of a prompt; ``labels`` hold ``current`` / ``override``."""

    id: str
    version: int
    text_content: str | None
    source: str
    labels: list[str]
    content_hash: str
    created_at: int
    model: str | None = None
    config: Any = None
    commit_message: str | None = None


@attrs.define(eq=False)
class Prompt:
    """A prompt of one environment, seeded with ``Emulator.add_prompt``."""

    id: str
    env: Environment
    slug: str
    updated_at: int
    description: str | None = None
    tags: list[str] = attrs.field(factory=list)
    default_model: str | None = None
    default_config: Any = None
    variable_schema: Any = None
    type: str = "text"
    versions: list[PromptVersion] = attrs.field(factory=list)

    def labelled(self, label: str) -> PromptVersion | None:
        """The newest version carrying ``label``."""
        found = [v for v in self.versions if label in v.labels]
        return max(found, key=lambda v: v.version) if found else None

    def version_number(self, number: float) -> PromptVersion | None:
        """The version with this number."""
        return next((v for v in self.versions if v.version == number), None)
