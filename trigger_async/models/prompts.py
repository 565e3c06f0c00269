"""Prompts returned by ``prompts.*``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .._serialization import dumps_js

__all__ = ["Prompt", "PromptOverride", "PromptVersion", "ResolvedPrompt"]


@attrs.frozen(kw_only=True)
class Prompt:
    slug: str
    friendly_id: str
    has_override: bool
    updated_at: datetime
    tags: list[str] = attrs.field(factory=list)
    description: str | None = None
    default_model: str | None = None
    current_version: int | None = None


@attrs.frozen(kw_only=True)
class PromptVersion:
    id: str
    version: int
    source: str
    content_hash: str
    created_at: datetime
    labels: list[str] = attrs.field(factory=list)
    model: str | None = None
    text_content: str | None = None
    commit_message: str | None = None


@attrs.frozen
class PromptOverride:
    ok: bool
    version: int


@attrs.frozen(kw_only=True)
class ResolvedPrompt:
    """A prompt rendered with variables (``text``), and the version that produced it."""

    prompt_id: str
    version: int
    labels: list[str] = attrs.field(factory=list)
    text: str = ""
    slug: str | None = None
    model: str | None = None
    config: dict[str, Any] | None = None
    variables: dict[str, Any] = attrs.field(factory=dict, repr=False)

    def to_ai_sdk_telemetry(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``experimental_telemetry`` object the AI SDK takes, describing this prompt."""
        metadata: dict[str, Any] = {
            "prompt.slug": self.slug,
            "prompt.id": self.prompt_id,
            "prompt.version": str(self.version),
            "prompt.labels": ", ".join(self.labels),
        }
        if self.model:
            metadata["prompt.model"] = self.model
        if self.variables:
            metadata["prompt.input"] = dumps_js(self.variables)
        metadata.update(extra or {})
        return {"experimental_telemetry": {"isEnabled": True, "metadata": metadata}}
