"""Task-level idempotency keys, hashed as the official SDK hashes them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from ._context import TaskContext, current_task_context
from .errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["IdempotencyKey", "IdempotencyKeyScope", "create", "wire_fields"]

IdempotencyKeyScope = Literal["run", "attempt", "global"]
_SCOPES = ("run", "attempt", "global")


class IdempotencyKey(str):
    """A hashed idempotency key (the ``str`` value) that remembers what it was made from.

    Passing one as ``idempotency_key=`` sends the hash verbatim together with the original
    key and scope, exactly as the official SDK does for keys it created.
    """

    key: str
    scope: IdempotencyKeyScope

    def __new__(cls, hashed: str, key: str, scope: IdempotencyKeyScope) -> IdempotencyKey:
        self = super().__new__(cls, hashed)
        self.key = key
        self.scope = scope
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (IdempotencyKey, (str(self), self.key, self.scope))

    @property
    def options(self) -> dict[str, str]:
        """The ``idempotencyKeyOptions`` wire object."""
        return {"key": self.key, "scope": self.scope}


def _parts(value: object, argument: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        parts = list(value)
        if not parts:
            raise InvalidArgumentError(argument, "must not be an empty list")
        for part in parts:
            if not isinstance(part, str):
                raise InvalidArgumentTypeError(argument, f"parts must be str, got {type(part).__name__}")
        return parts
    raise InvalidArgumentTypeError(argument, f"expected a str or a sequence of str, got {type(value).__name__}")


def _hash(material: str) -> str:
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _make(parts: list[str], scope: IdempotencyKeyScope, ctx: TaskContext | None) -> IdempotencyKey:
    material = list(parts)
    # Outside a task no run is known, so every scope hashes the bare key (as the official SDK).
    if ctx is not None and ctx.run_id is not None and scope != "global":
        material.append(ctx.run_id)
        if scope == "attempt" and ctx.attempt_number is not None:
            material.append(str(ctx.attempt_number))
    key = "-".join(parts)
    return IdempotencyKey(_hash("-".join(material)), key, scope)


def create(key: str | Sequence[str], *, scope: IdempotencyKeyScope = "run") -> IdempotencyKey:
    """Create an idempotency key from ``key`` (a string or list of parts).

    Inside a task context the ``run`` and ``attempt`` scopes mix in the run id (and attempt
    number), so the key is unique to that run; outside a task every scope hashes the bare key.
    """
    if scope not in _SCOPES:
        raise InvalidArgumentError("scope", f"must be one of 'run', 'attempt', 'global', got {scope!r}")
    parts = _parts(key, "key")
    if isinstance(key, str) and not key:
        raise InvalidArgumentError("key", "must not be empty")
    return _make(parts, scope, current_task_context())


def wire_fields(
    value: object, ctx: TaskContext | None, argument: str = "idempotency_key"
) -> tuple[str | None, dict[str, str] | None]:
    """``(idempotencyKey, idempotencyKeyOptions)`` for a trigger option value."""
    if value is None or value == "":
        return None, None
    if isinstance(value, IdempotencyKey):
        return str(value), value.options
    if isinstance(value, str) and len(value) == 64:
        # Assumed to be a hash already (the official SDK passes such keys through).
        return value, None
    made = _make(_parts(value, argument), "run", ctx)
    return str(made), made.options


def derived_item_key(batch_key: object, index: int, ctx: TaskContext | None) -> str:
    """The key a batch item without its own key gets: ``sha256("<batchKey>-<index>")``."""
    first = ",".join(batch_key) if isinstance(batch_key, (list, tuple)) else str(batch_key)
    return str(_make([first, str(index)], "run", ctx))
