"""Ambient state kept in ``contextvars``: ``with_auth`` overrides and the task context.

Both are task-local: an ``asyncio`` task copies the context when it is created, so a scope
opened in one task is never seen by another task that already exists, and a task created
inside a scope keeps that scope's values even after the scope has closed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Generic, TypeVar

import attrs

from ._config import (
    ClientConfig,
    RequestOptions,
    build_config,
    check_optional_str,
    check_token,
    normalize_base_url,
)
from .errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["TaskContext", "configure", "current_task_context", "task_context", "with_auth"]


@attrs.frozen
class TaskContext:
    """What a running Trigger.dev task knows about itself.

    Triggers made where this context is visible carry ``parentRunId`` (``run_id``), the
    ``test`` flag (``is_test``), ``lockToVersion`` (``version``) and run-scoped idempotency.
    """

    run_id: str | None = None
    is_test: bool = False
    attempt_number: int | None = None
    version: str | None = None
    external_deployment_id: str | None = None
    project_ref: str | None = None
    environment: str | None = None


_task_context: ContextVar[TaskContext | None] = ContextVar("trigger_async.task_context", default=None)


def current_task_context() -> TaskContext | None:
    """The ambient task context, or ``None`` outside a task."""
    return _task_context.get()


_CONFIG_FIELDS = (
    "access_token",
    "preview_branch",
    "base_url",
    "request_options",
    "external_deployment_id",
    "realtime_streams_version",
)


@attrs.frozen
class _Overrides:
    """Config fields set by a scope or by ``configure()``; ``None`` means "not set here"."""

    access_token: str | None = attrs.field(default=None, repr=False)
    preview_branch: str | None = None
    base_url: str | None = None
    request_options: RequestOptions | None = None
    external_deployment_id: str | None = None
    realtime_streams_version: str | None = None

    def over(self, outer: _Overrides | None) -> _Overrides:
        if outer is None:
            return self
        return _Overrides(
            *(
                mine if mine is not None else theirs
                for mine, theirs in zip(attrs.astuple(self), attrs.astuple(outer), strict=True)
            )
        )


def _overrides_from(config: Mapping[str, Any] | None, fields: Mapping[str, Any], where: str) -> _Overrides:
    if config is not None and not isinstance(config, Mapping):
        raise InvalidArgumentTypeError(where, f"expected a mapping, got {type(config).__name__}")
    merged = {**(config or {}), **fields}
    unknown = sorted(set(merged) - set(_CONFIG_FIELDS))
    if unknown:
        raise InvalidArgumentError(
            where,
            f"unknown field(s) {', '.join(unknown)}; expected some of {', '.join(_CONFIG_FIELDS)}",
        )
    check_token(merged.get("access_token"))
    for name in ("preview_branch", "external_deployment_id", "realtime_streams_version"):
        check_optional_str(merged.get(name), name)
    if merged.get("base_url") is not None:
        merged["base_url"] = normalize_base_url(merged["base_url"])
    options = merged.get("request_options")
    if options is not None and not isinstance(options, RequestOptions):
        raise InvalidArgumentTypeError("request_options", f"expected RequestOptions, got {type(options).__name__}")
    return _Overrides(**merged)


_T = TypeVar("_T")


class _Scope(Generic[_T]):
    """Sets a context variable for a ``with`` / ``async with`` block.

    Closing restores the previous value even when scopes close in non-LIFO order across
    tasks (each task has its own copy of the variable, so the reset is always local).
    """

    def __init__(self, var: ContextVar[_T], value: _T) -> None:
        self._var = var
        self._value = value
        self._token: Token[_T] | None = None
        self._previous: _T | None = None

    def __enter__(self) -> _T:
        if self._token is not None:
            raise RuntimeError("this scope is already open; create a new one for each block")
        self._previous = self._var.get()
        self._token = self._var.set(self._value)
        return self._value

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token, self._token = self._token, None
        if token is None:
            return
        try:
            self._var.reset(token)
        except ValueError:
            # Exited in another context than the one it was entered in (e.g. an async
            # generator finalised elsewhere): put back what this scope replaced.
            self._var.set(self._previous)  # type: ignore[arg-type]

    async def __aenter__(self) -> _T:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def task_context(ctx: TaskContext | None = None, /, **fields: Any) -> _Scope[TaskContext | None]:
    """Make a task context ambient for a ``with`` / ``async with`` block.

    ``task_context(TaskContext(run_id="run_1"))`` or ``task_context(run_id="run_1", is_test=True)``.
    """
    if ctx is not None and not isinstance(ctx, TaskContext):
        raise InvalidArgumentTypeError("ctx", f"expected TaskContext, got {type(ctx).__name__}")
    try:
        value = attrs.evolve(ctx, **fields) if ctx is not None else TaskContext(**fields)
    except TypeError as error:
        raise InvalidArgumentError("task_context", str(error)) from None
    return _Scope(_task_context, value)


_auth_override: ContextVar[_Overrides | None] = ContextVar("trigger_async.auth_override", default=None)


def with_auth(config: Mapping[str, Any] | None = None, /, **fields: Any) -> _Scope[_Overrides | None]:
    """Scope module-level calls to other credentials for a ``with`` / ``async with`` block.

    Fields (``access_token``, ``preview_branch``, ``base_url``, ``request_options``, ...)
    layer over an enclosing scope's, then ``configure()``, then the environment. Only
    module-level calls (``trigger_async.runs.list()``) see it; ``AsyncTriggerClient``
    instances never do.
    """
    layer = _overrides_from(config, fields, "with_auth")
    return _Scope(_auth_override, layer.over(_auth_override.get()))


_global_lock = threading.Lock()
_global_overrides: _Overrides | None = None


def configure(**fields: Any) -> None:
    """Set the process-wide configuration of module-level calls.

    A second call replaces the first entirely (fields it leaves out go back to the
    environment). Instances of ``AsyncTriggerClient`` are never affected.
    """
    global _global_overrides
    layer = _overrides_from(None, fields, "configure")
    with _global_lock:
        _global_overrides = layer


def reset_configuration() -> None:
    """Forget ``configure()``; meant for test suites."""
    global _global_overrides
    with _global_lock:
        _global_overrides = None


def module_config() -> ClientConfig:
    """The config of a module-level call made now: ``with_auth`` → ``configure()`` → env."""
    layer = _auth_override.get()
    effective = layer.over(_global_overrides) if layer is not None else _global_overrides
    effective = effective or _Overrides()
    return build_config(
        access_token=effective.access_token,
        preview_branch=effective.preview_branch,
        base_url=effective.base_url,
        request_options=effective.request_options,
        inherit_context=True,
        external_deployment_id=effective.external_deployment_id,
        realtime_streams_version=effective.realtime_streams_version,
    )
