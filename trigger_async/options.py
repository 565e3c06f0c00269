"""Typed forms of the nested option objects the official SDK takes as plain objects.

Each may also be given as a dict with the official (camelCase) key names; these classes use
snake_case fields and turn into exactly that dict on the wire (``to_wire()``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import attrs

from ._converter import to_camel

__all__ = ["Debounce", "RealtimeOptions", "RunFilter", "Scopes"]


def _wire(instance: Any) -> dict[str, Any]:
    """The set fields under their official names, in declaration order."""
    out: dict[str, Any] = {}
    for field in attrs.fields(type(instance)):
        value = getattr(instance, field.name)
        if value is None:
            continue
        if isinstance(value, tuple):
            value = list(value)
        out[field.metadata.get("wire", to_camel(field.name))] = value
    return out


@attrs.frozen(kw_only=True)
class Debounce:
    """``debounce=`` of a trigger: one run per ``key`` within ``delay`` (e.g. ``"5s"``)."""

    key: str
    delay: str
    mode: Literal["leading", "trailing"] | None = None
    max_delay: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return _wire(self)


@attrs.frozen(kw_only=True)
class RealtimeOptions:
    """``realtime=`` of a public token: columns its realtime subscriptions leave out."""

    skip_columns: Sequence[str] | None = None

    def to_wire(self) -> dict[str, Any]:
        return _wire(self)


@attrs.frozen(kw_only=True)
class RunFilter:
    """``filter=`` of ``runs.bulk.cancel`` / ``replay``: the run-list filters, snake_case."""

    status: str | Sequence[str] | None = None
    task_identifier: str | Sequence[str] | None = None
    version: str | Sequence[str] | None = None
    from_: datetime | None = attrs.field(default=None, metadata={"wire": "from"})
    to: datetime | None = None
    period: str | None = None
    bulk_action: str | None = None
    tag: str | Sequence[str] | None = None
    schedule: str | None = None
    is_test: bool | None = None
    batch: str | None = None
    queue: Any = None
    machine: str | Sequence[str] | None = None
    region: str | Sequence[str] | None = None

    def to_wire(self) -> dict[str, Any]:
        return _wire(self)


ScopeGrant = bool | Mapping[str, "bool | str | Sequence[str]"]


@attrs.frozen(kw_only=True)
class Scopes:
    """``scopes=`` of a public token: per action, ``True`` or ``{resource: ids | True}``.

    ``Scopes(read={"runs": ["run_1"], "tags": "user:1"}, trigger={"tasks": "send-email"})``;
    resource names are the official ones (``runs``, ``tasks``, ``tags``, ``batch``,
    ``waitpoints``, ``inputStreams``, ``sessions``).
    """

    read: ScopeGrant | None = None
    write: ScopeGrant | None = None
    trigger: ScopeGrant | None = None
    batch_trigger: ScopeGrant | None = None

    def to_wire(self) -> dict[str, Any]:
        return _wire(self)
