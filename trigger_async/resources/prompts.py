"""``prompts``: versioned prompt templates and their overrides."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

import attrs

from .._base import Resource, request_options_of
from .._config import RequestOptions
from .._converter import parse
from .._serialization import encode_path_segment
from .._validation import json_object, optional_number, optional_str, require_str
from ..errors import InvalidArgumentError
from ..models.prompts import Prompt, PromptOverride, PromptVersion, ResolvedPrompt
from ._common import OkResponse

__all__ = ["Prompts"]


@attrs.frozen
class _Prompts:
    data: list[Prompt]


@attrs.frozen
class _Versions:
    data: list[PromptVersion]


@attrs.frozen(kw_only=True)
class _Resolved:
    prompt_id: str
    version: int
    labels: list[str] = attrs.field(factory=list)
    slug: str | None = None
    text: str | None = None
    model: str | None = None
    config: dict[str, Any] | None = None


@attrs.frozen
class _ResolvedEnvelope:
    data: _Resolved


def _slug(slug: object) -> str:
    return encode_path_segment(require_str(slug, "slug"), argument="slug")


def _version(value: object) -> int:
    number = optional_number(value, "version", minimum=1, integer=True)
    if number is None:
        raise InvalidArgumentError("version", "is required")
    return int(number)


def _body(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


class Prompts(Resource):
    """Prompts of this environment. Request options are honoured by every method."""

    async def list(self, *, request_options: RequestOptions | None = None) -> list[Prompt]:
        response = await self._request("GET", "/api/v1/prompts", request_options=request_options_of(request_options))
        return parse(response, _Prompts).data

    async def versions(
        self, slug: str, *, request_options: RequestOptions | None = None
    ) -> builtins.list[PromptVersion]:
        response = await self._request(
            "GET",
            f"/api/v1/prompts/{_slug(slug)}/versions",
            request_options=request_options_of(request_options),
        )
        return parse(response, _Versions).data

    async def resolve(
        self,
        slug: str,
        variables: Mapping[str, Any] | None = None,
        *,
        label: str | None = None,
        version: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> ResolvedPrompt:
        """Render a prompt with ``variables`` (by label, by version, or the current one)."""
        values = json_object(variables, "variables") or {}
        body = _body(
            variables=values,
            label=optional_str(label, "label"),
            version=None if version is None else _version(version),
        )
        response = await self._request(
            "POST",
            f"/api/v1/prompts/{_slug(slug)}",
            body=body,
            request_options=request_options_of(request_options),
        )
        data = parse(response, _ResolvedEnvelope).data
        return ResolvedPrompt(
            prompt_id=data.prompt_id,
            version=data.version,
            labels=data.labels,
            text=data.text or "",
            slug=data.slug or slug,
            model=data.model,
            config=data.config,
            variables=values,
        )

    async def promote(self, slug: str, version: int, *, request_options: RequestOptions | None = None) -> bool:
        """Make a code-sourced version the current one."""
        return await self._ok(
            "POST",
            f"/api/v1/prompts/{_slug(slug)}/promote",
            {"version": _version(version)},
            request_options,
        )

    async def create_override(
        self,
        slug: str,
        *,
        text_content: str,
        model: str | None = None,
        commit_message: str | None = None,
        source: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> PromptOverride:
        body = _body(
            textContent=require_str(text_content, "text_content"),
            model=optional_str(model, "model"),
            commitMessage=optional_str(commit_message, "commit_message"),
            source=optional_str(source, "source"),
        )
        response = await self._request(
            "POST",
            f"/api/v1/prompts/{_slug(slug)}/override",
            body=body,
            request_options=request_options_of(request_options),
        )
        return parse(response, PromptOverride)

    async def update_override(
        self,
        slug: str,
        *,
        text_content: str | None = None,
        model: str | None = None,
        commit_message: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> bool:
        body = _body(
            textContent=optional_str(text_content, "text_content"),
            model=optional_str(model, "model"),
            commitMessage=optional_str(commit_message, "commit_message"),
        )
        return await self._ok("PUT", f"/api/v1/prompts/{_slug(slug)}/override", body, request_options)

    async def remove_override(self, slug: str, *, request_options: RequestOptions | None = None) -> bool:
        return await self._ok("DELETE", f"/api/v1/prompts/{_slug(slug)}/override", None, request_options)

    async def reactivate_override(
        self, slug: str, version: int, *, request_options: RequestOptions | None = None
    ) -> bool:
        return await self._ok(
            "POST",
            f"/api/v1/prompts/{_slug(slug)}/override/reactivate",
            {"version": _version(version)},
            request_options,
        )

    async def _ok(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        request_options: RequestOptions | None,
    ) -> bool:
        from .._serialization import UNDEFINED

        response = await self._request(
            method,
            path,
            body=UNDEFINED if body is None else body,
            request_options=request_options_of(request_options),
        )
        return parse(response, OkResponse).ok
