"""trigger_async: an asyncio-native client of the Trigger.dev management API."""

from __future__ import annotations

from . import errors, models
from ._client import AsyncTriggerClient
from ._config import NOT_GIVEN, ClientConfig, RequestOptions, RetryOptions, Timeout
from ._context import TaskContext, configure, current_task_context, task_context
from ._idempotency import IdempotencyKey
from ._module import aclose, auth, runs, tasks
from ._pagination import CursorPage, CursorPager, NoMorePagesError
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
    "BatchTriggerError",
    "ClientClosedError",
    "ClientConfig",
    "ConflictError",
    "CursorPage",
    "CursorPager",
    "IdempotencyKey",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "ListedRun",
    "NoMorePagesError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestOptions",
    "RetrievedRun",
    "RetryOptions",
    "RunHandle",
    "TaskContext",
    "Timeout",
    "TriggerError",
    "UnprocessableEntityError",
    "__version__",
    "aclose",
    "auth",
    "configure",
    "current_task_context",
    "errors",
    "models",
    "runs",
    "task_context",
    "tasks",
]
