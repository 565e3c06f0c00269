"""trigger_async: an asyncio-native client of the Trigger.dev management API."""

from __future__ import annotations

from . import errors, models
from ._client import AsyncTriggerClient
from ._config import NOT_GIVEN, ClientConfig, RequestOptions, RetryOptions, Timeout
from ._context import TaskContext, configure, current_task_context, task_context
from ._idempotency import IdempotencyKey
from ._module import (
    aclose,
    auth,
    batch,
    deployments,
    envvars,
    idempotency_keys,
    prompts,
    queues,
    runs,
    schedules,
    tasks,
)
from ._pagination import CursorPage, CursorPager, NoMorePagesError, OffsetPage, OffsetPager
from ._taskref import TaskRef
from ._version import __version__
from .errors import (
    ApiClientMissingError,
    ApiConnectionError,
    ApiError,
    ApiSchemaValidationError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchTriggerError,
    ClientClosedError,
    ConflictError,
    InternalServerError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TriggerError,
    UnprocessableEntityError,
)
from .models import ListedRun, RetrievedRun, RunHandle
from .models.batches import Batch, BatchHandle, BulkAction
from .models.deployments import Deployment
from .models.envvars import EnvVar
from .models.prompts import Prompt, PromptOverride, PromptVersion, ResolvedPrompt
from .models.queues import Queue, QueueRef
from .models.schedules import Schedule
from .options import Debounce, RealtimeOptions, RunFilter, Scopes
from .resources.batch import BatchItem, BatchNotSealedError

__all__ = [
    "NOT_GIVEN",
    "ApiClientMissingError",
    "ApiConnectionError",
    "ApiError",
    "ApiSchemaValidationError",
    "ApiTimeoutError",
    "AsyncTriggerClient",
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchHandle",
    "BatchItem",
    "BatchNotSealedError",
    "BatchTriggerError",
    "BulkAction",
    "ClientClosedError",
    "ClientConfig",
    "ConflictError",
    "CursorPage",
    "CursorPager",
    "Debounce",
    "Deployment",
    "EnvVar",
    "IdempotencyKey",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "ListedRun",
    "NoMorePagesError",
    "NotFoundError",
    "OffsetPage",
    "OffsetPager",
    "PermissionDeniedError",
    "Prompt",
    "PromptOverride",
    "PromptVersion",
    "Queue",
    "QueueRef",
    "RateLimitError",
    "RealtimeOptions",
    "RequestOptions",
    "ResolvedPrompt",
    "RetrievedRun",
    "RetryOptions",
    "RunFilter",
    "RunHandle",
    "Schedule",
    "Scopes",
    "TaskContext",
    "TaskRef",
    "Timeout",
    "TriggerError",
    "UnprocessableEntityError",
    "__version__",
    "aclose",
    "auth",
    "batch",
    "configure",
    "current_task_context",
    "deployments",
    "envvars",
    "errors",
    "idempotency_keys",
    "models",
    "prompts",
    "queues",
    "runs",
    "schedules",
    "task_context",
    "tasks",
]
