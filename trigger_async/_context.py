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


def _optional(kind: type) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool)):
            raise InvalidArgumentTypeError(
                f"TaskContext.{attribute.name}", f"expected {kind.__name__}, got {type(value).__name__}"
            )

    return check


@attrs.frozen
class TaskContext:
    """What a running Trigger.dev task knows about itself.

    Triggers made where this context is visible carry ``parentRunId`` (``run_id``), the
    ``test`` flag (``is_test``), ``lockToVersion`` (``version``) and run-scoped idempotency.
    """

    run_id: str | None = attrs.field(default=None, validator=_optional(str))
    is_test: bool = attrs.field(default=False, validator=_optional(bool))
    attempt_number: int | None = attrs.field(default=None, validator=_optional(int))
    version: str | None = attrs.field(default=None, validator=_optional(str))
    external_deployment_id: str | None = attrs.field(default=None, validator=_optional(str))
    project_ref: str | None = attrs.field(default=None, validator=_optional(str))
    environment: str | None = attrs.field(default=None, validator=_optional(str))


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
        # Field by field with getattr: astuple would also take the RequestOptions inside apart.
        names = [field.name for field in attrs.fields(_Overrides)]
        return _Overrides(**{n: getattr(self, n) if getattr(self, n) is not None else getattr(outer, n) for n in names})


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
    if merged.get("realtime_streams_version") not in (None, "v1", "v2"):
        raise InvalidArgumentError(
            "realtime_streams_version", f"must be 'v1' or 'v2', got {merged['realtime_streams_version']!r}"
        )
    if merged.get("base_url") is not None:
        merged["base_url"] = normalize_base_url(merged["base_url"])
    options = merged.get("request_options")
    if options is not None and not isinstance(options, RequestOptions):
        raise InvalidArgumentTypeError("request_options", f"expected RequestOptions, got {type(options).__name__}")
    return _Overrides(**merged)


_T = TypeVar("_T")
Stack = tuple[tuple["_Scope[Any]", _T], ...]
# Its value never matters; its tokens remember the context each scope was opened in.
_where_opened: ContextVar[None] = ContextVar("trigger_async.where_opened", default=None)


class _Scope(Generic[_T]):
    """Pushes a value on a context-local stack for a ``with`` / ``async with`` block.

    Closing removes exactly this scope's entry, so scopes may close in any order (also
    non-LIFO within one task) without resurrecting a closed scope's value. Each asyncio task
    works on its own copy of the stack.
    """

    def __init__(self, var: ContextVar[Stack[_T]], value: _T) -> None:
        self._var = var
        self._value = value
        self._state = "new"
        self._marker: Token[None] | None = None

    @property
    def abandoned(self) -> bool:
        """Closed from another context than the one it was opened in: an async generator
        finalised elsewhere. Its entry may linger in the opening context, so readers skip it."""
        return self._state == "abandoned"

    def __enter__(self) -> _T:
        if self._state != "new":
            raise RuntimeError("this scope was already used; create a new one for each block")
        self._state = "open"
        self._marker = _where_opened.set(None)
        self._var.set((*self._var.get(), (self, self._value)))
        return self._value

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state != "open":
            return
        self._state = "closed"
        assert self._marker is not None
        try:
            # Only a token's own context may reset it: this tells where we are closing.
            _where_opened.reset(self._marker)
        except ValueError:
            self._state = "abandoned"
        stack = self._var.get()
        self._var.set(tuple(entry for entry in stack if entry[0] is not self))

    async def __aenter__(self) -> _T:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


_task_contexts: ContextVar[Stack[TaskContext]] = ContextVar("trigger_async.task_context", default=())


def current_task_context() -> TaskContext | None:
    """The ambient task context (the innermost ``task_context`` block), or ``None``."""
    for scope, ctx in reversed(_task_contexts.get()):
        if not scope.abandoned:
            return ctx
    return None


def task_context(ctx: TaskContext | None = None, /, **fields: Any) -> _Scope[TaskContext]:
    """Make a task context ambient for a ``with`` / ``async with`` block.

    ``task_context(TaskContext(run_id="run_1"))`` or ``task_context(run_id="run_1", is_test=True)``.
    """
    if ctx is not None and not isinstance(ctx, TaskContext):
        raise InvalidArgumentTypeError("ctx", f"expected TaskContext, got {type(ctx).__name__}")
    try:
        value = attrs.evolve(ctx, **fields) if ctx is not None else TaskContext(**fields)
    except TypeError as error:
        raise InvalidArgumentError("task_context", str(error)) from None
    return _Scope(_task_contexts, value)


_auth_layers: ContextVar[Stack[_Overrides]] = ContextVar("trigger_async.auth_layers", default=())


def _scoped_overrides() -> _Overrides | None:
    effective: _Overrides | None = None
    for scope, layer in _auth_layers.get():
        if not scope.abandoned:
            effective = layer.over(effective)
    return effective


def with_auth(
    config: Mapping[str, Any] | None = None,
    /,
    *,
    access_token: str | None = None,
    preview_branch: str | None = None,
    base_url: str | None = None,
    request_options: RequestOptions | None = None,
    external_deployment_id: str | None = None,
    realtime_streams_version: str | None = None,
) -> _Scope[_Overrides]:
    """Scope module-level calls to other credentials for a ``with`` / ``async with`` block.

    Fields (a mapping, keywords, or both) layer over the enclosing scopes' fields, then
    ``configure()``, then the environment. Only module-level calls (``trigger_async.runs.list()``)
    see it; ``AsyncTriggerClient`` instances never do. A task created inside the block keeps
    its credentials after the block closes (tasks copy the context when they are created).
    """
    fields = {
        "access_token": access_token,
        "preview_branch": preview_branch,
        "base_url": base_url,
        "request_options": request_options,
        "external_deployment_id": external_deployment_id,
        "realtime_streams_version": realtime_streams_version,
    }
    layer = _overrides_from(config, {k: v for k, v in fields.items() if v is not None}, "with_auth")
    return _Scope(_auth_layers, layer)


_global_lock = threading.Lock()
_global_overrides: _Overrides | None = None


def configure(
    *,
    access_token: str | None = None,
    preview_branch: str | None = None,
    base_url: str | None = None,
    request_options: RequestOptions | None = None,
    external_deployment_id: str | None = None,
    realtime_streams_version: str | None = None,
) -> None:
    """Set the process-wide configuration of module-level calls.

    A second call replaces the first entirely (fields it leaves out go back to the
    environment). Instances of ``AsyncTriggerClient`` are never affected.
    """
    global _global_overrides
    fields = {
        "access_token": access_token,
        "preview_branch": preview_branch,
        "base_url": base_url,
        "request_options": request_options,
        "external_deployment_id": external_deployment_id,
        "realtime_streams_version": realtime_streams_version,
    }
    layer = _overrides_from(None, {k: v for k, v in fields.items() if v is not None}, "configure")
    with _global_lock:
        _global_overrides = layer


def reset_configuration() -> None:
    """Forget ``configure()``; meant for test suites."""
    global _global_overrides
    with _global_lock:
        _global_overrides = None


def module_config() -> ClientConfig:
    """The config of a module-level call made now: ``with_auth`` → ``configure()`` → env."""
    layer = _scoped_overrides()
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
