"""Prompts: list, get, resolve (template rendering), versions, promote and overrides.

Prompts come from deployments on the server; the emulator has none until
``Emulator.add_prompt`` seeds them. Labels: ``current`` (promoted code version) and
``override`` (an API or dashboard edit, which wins over ``current`` when resolving).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from aiohttp import web

from ._auth import Credential, authenticate
from ._http import Call, Route, fail, forbidden, json_response
from ._records import Prompt, PromptVersion
from ._store import Environment, Store, friendly_id
from ._timeutil import iso
from ._validation import (
    MISSING,
    AnyValue,
    Number,
    Object,
    Record,
    Refine,
    String,
    custom_issue,
    js_number_text,
)

MAX_VERSIONS: Final = 50
OVERRIDE_METHODS: Final = ("POST", "PUT", "PATCH", "DELETE")

GET_QUERY: Final = Object({"label": String().optional(), "version": Number(coerce=True).optional()})


RESOLVE_BODY: Final = Object(
    {
        "variables": Record(AnyValue()).optional(),
        "label": String().optional(),
        "version": Number().optional(),
    }
)
VERSION_BODY: Final = Object({"version": Number(integer=True, minimum=0, min_inclusive=False)})
CREATE_OVERRIDE_BODY: Final = Object(
    {
        "textContent": String(),
        "model": String().optional(),
        "commitMessage": String().optional(),
        "source": Refine(
            String(), lambda value, path: [custom_issue("Invalid input", path)] if value == "code" else []
        ).optional(),
    }
)
UPDATE_OVERRIDE_BODY: Final = Object(
    {"textContent": String().optional(), "model": String().optional(), "commitMessage": String().optional()}
)


def content_hash(text: str) -> str:
    """The first 16 hex digits of the SHA-256 of the text."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def add_prompt(
    store: Store,
    env: Environment,
    slug: str,
    versions: Sequence[Mapping[str, Any]],
    now_ms: int,
    **fields: Any,
) -> Prompt:
    """Seed (or replace) a prompt; versions are numbered from 1 in the given order.

    Each version takes ``textContent`` and optionally ``model``, ``config``, ``source``
    (``code`` by default), ``labels`` and ``commitMessage``. Without any ``current`` label,
    the newest code version gets it.
    """
    prompt = Prompt(id=friendly_id("prompt"), env=env, slug=slug, updated_at=now_ms, **fields)
    for number, spec in enumerate(versions, start=1):
        text = spec.get("textContent")
        prompt.versions.append(
            PromptVersion(
                id=friendly_id("promptversion"),
                version=number,
                text_content=text,
                source=spec.get("source", "code"),
                labels=list(spec.get("labels", [])),
                content_hash=content_hash(text or ""),
                created_at=now_ms,
                model=spec.get("model"),
                config=spec.get("config"),
                commit_message=spec.get("commitMessage"),
            )
        )
    if prompt.labelled("current") is None:
        code = [v for v in prompt.versions if v.source == "code"]
        if code:
            code[-1].labels.append("current")
    store.prompts[(env.id, slug)] = prompt
    return prompt


# rendering ---------------------------------------------------------------------------------------


def _truthy(value: Any) -> bool:
    if value is None or value is MISSING or value is False or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    return True


def js_string(value: Any) -> str:
    """JavaScript's ``String(value)`` for JSON values."""
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return js_number_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    return "[object Object]"


_SECTION: Final = re.compile(r"\{\{#(\w+)\}\}([\s\S]*?)\{\{/\1\}\}")
_INNER: Final = re.compile(r"\{\{(\w+)\}\}")
_VARIABLE: Final = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Sections ``{{#v}}…{{/v}}`` kept only when ``v`` is truthy, then ``{{ name }}`` filled."""

    def value_or_empty(name: str) -> str:
        value = variables.get(name)
        return "" if value is None else js_string(value)

    def section(match: re.Match[str]) -> str:
        if not _truthy(variables.get(match.group(1))):
            return ""
        return _INNER.sub(lambda m: value_or_empty(m.group(1)), match.group(2))

    result = _SECTION.sub(section, template)
    return _VARIABLE.sub(lambda m: value_or_empty(m.group(1)), result)


# shapes and lookups --------------------------------------------------------------------------------


def resolve_version(prompt: Prompt, version: Any = MISSING, label: str | None = None) -> PromptVersion | None:
    """An explicit version wins; then an active override (even when a label is given); then
    the newest version with ``label`` (``current`` by default)."""
    if version is not MISSING and version is not None:
        return prompt.version_number(version)
    override = prompt.labelled("override")
    if override is not None:
        return override
    return prompt.labelled(label or "current")


def _find(call: Call, env: Environment) -> Prompt | None:
    return call.state.store.prompts.get((env.id, call.params["slug"]))


def _reader(call: Call) -> tuple[Credential, Prompt]:
    credential = authenticate(call, allow_jwt=True)
    prompt = _find(call, credential.env)
    if prompt is None:
        fail(404, "Not found", headers={"x-should-retry": "false"})
    if not credential.allows("read", [("prompts", prompt.slug)]):
        forbidden()
    return credential, prompt


def _version_item(version: PromptVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "version": version.version,
        "labels": list(version.labels),
        "source": version.source,
        "model": version.model,
        "textContent": version.text_content,
        "commitMessage": version.commit_message,
        "contentHash": version.content_hash,
        "createdAt": iso(version.created_at),
    }


# handlers ------------------------------------------------------------------------------------------


async def list_prompts(call: Call) -> web.StreamResponse:
    """``GET /api/v1/prompts``: the environment's prompts, newest first, no pagination."""
    credential = authenticate(call, allow_jwt=True)
    if not credential.allows("read", [("prompts", "all")]):
        forbidden()
    prompts = sorted(
        (p for p in call.state.store.prompts.values() if p.env is credential.env),
        key=lambda p: p.updated_at,
        reverse=True,
    )
    data = []
    for prompt in prompts:
        current = prompt.labelled("current")
        override = prompt.labelled("override")
        model = (override.model if override else None) or (current.model if current else None)
        data.append(
            {
                "slug": prompt.slug,
                "friendlyId": prompt.id,
                "description": prompt.description,
                "tags": list(prompt.tags),
                "defaultModel": model if model is not None else prompt.default_model,
                "currentVersion": current.version if current else None,
                "hasOverride": override is not None,
                "updatedAt": iso(prompt.updated_at),
            }
        )
    return json_response({"data": data})


async def get_prompt(call: Call) -> web.StreamResponse:
    """``GET /api/v1/prompts/{slug}?version=&label=``."""
    credential = authenticate(call, allow_jwt=True)
    query = call.validated_query(GET_QUERY)
    prompt = _find(call, credential.env)
    if prompt is None:
        fail(404, "Not found", headers={"x-should-retry": "false"})
    if not credential.allows("read", [("prompts", prompt.slug)]):
        forbidden()
    version = resolve_version(prompt, query.get("version", MISSING), query.get("label"))
    if version is None:
        fail(404, "No version found")
    return json_response(
        {
            "data": {
                "id": prompt.id,
                "slug": prompt.slug,
                "description": prompt.description,
                "type": prompt.type,
                "tags": list(prompt.tags),
                "defaultModel": prompt.default_model,
                "defaultConfig": prompt.default_config,
                "variableSchema": prompt.variable_schema,
                "version": {
                    "version": version.version,
                    "textContent": version.text_content,
                    "model": version.model,
                    "config": version.config,
                    "source": version.source,
                    "labels": list(version.labels),
                    "contentHash": version.content_hash,
                    "commitMessage": version.commit_message,
                    "createdAt": iso(version.created_at),
                },
            }
        }
    )


async def resolve_prompt(call: Call) -> web.StreamResponse:
    """``POST /api/v1/prompts/{slug}``: render a version with ``variables``."""
    credential = authenticate(call, allow_jwt=True)
    body = call.json_body(RESOLVE_BODY)
    variables = body.get("variables", {})
    if not credential.allows("read", [("prompts", call.params["slug"])]):
        forbidden()
    prompt = _find(call, credential.env)
    if prompt is None:
        fail(404, "Prompt not found")
    version = resolve_version(prompt, body.get("version", MISSING), body.get("label"))
    if version is None:
        fail(404, "No version found")
    if not version.text_content:
        fail(404, "Prompt has no content")
    return json_response(
        {
            "data": {
                "promptId": prompt.id,
                "slug": prompt.slug,
                "version": version.version,
                "labels": list(version.labels),
                "template": version.text_content,
                "text": render(version.text_content, variables),
                "model": version.model if version.model is not None else prompt.default_model,
                "config": version.config if version.config is not None else prompt.default_config,
            }
        }
    )


async def list_versions(call: Call) -> web.StreamResponse:
    """``GET /api/v1/prompts/{slug}/versions``: newest first, at most 50."""
    _, prompt = _reader(call)
    versions = sorted(prompt.versions, key=lambda v: v.version, reverse=True)[:MAX_VERSIONS]
    return json_response({"data": [_version_item(v) for v in versions]})


def _target(call: Call) -> tuple[Prompt, PromptVersion]:
    """Promote / reactivate: body ``{version}``, then the prompt and that version."""
    credential = authenticate(call, allow_jwt=True)
    number = call.json_body(VERSION_BODY)["version"]
    if not credential.allows("update", [("prompts", call.params["slug"])]):
        forbidden()
    prompt = _find(call, credential.env)
    if prompt is None:
        fail(404, "Prompt not found")
    version = prompt.version_number(number)
    if version is None:
        fail(404, f"Version {js_number_text(number)} not found")
    return prompt, version


def _move_label(prompt: Prompt, label: str, target: PromptVersion | None) -> None:
    for version in prompt.versions:
        if label in version.labels:
            version.labels.remove(label)
    if target is not None:
        target.labels.append(label)


async def promote(call: Call) -> web.StreamResponse:
    """``POST /api/v1/prompts/{slug}/promote``: move ``current`` to a code version."""
    prompt, version = _target(call)
    if version.source != "code":
        fail(400, "Only code-sourced versions can be promoted. Use the override API instead.")
    _move_label(prompt, "current", version)
    return json_response({"ok": True})


async def reactivate(call: Call) -> web.StreamResponse:
    """``POST /api/v1/prompts/{slug}/override/reactivate``: make an old edit the override."""
    prompt, version = _target(call)
    if version.source == "code":
        fail(400, "Code-sourced versions cannot be reactivated as overrides")
    _move_label(prompt, "override", version)
    return json_response({"ok": True})


async def override(call: Call) -> web.StreamResponse:
    """``POST`` (create), ``PUT``/``PATCH`` (edit in place), ``DELETE`` (remove) the override."""
    method = call.method
    if method not in OVERRIDE_METHODS:
        fail(405, "Method not allowed", {"Allow": ", ".join(OVERRIDE_METHODS)})
    credential = authenticate(call, allow_jwt=True)
    if not credential.allows("update", [("prompts", call.params["slug"])]):
        forbidden()
    body: dict[str, Any] = {}
    if method == "POST":
        body = dict(call.json_body(CREATE_OVERRIDE_BODY))
    elif method in ("PUT", "PATCH"):
        body = dict(call.json_body(UPDATE_OVERRIDE_BODY))
    prompt = _find(call, credential.env)
    if prompt is None:
        fail(404, "Prompt not found")
    now = call.state.clock.now_ms()
    if method == "DELETE":
        _move_label(prompt, "override", None)
        return json_response({"ok": True})
    if method == "POST":
        number = max((v.version for v in prompt.versions), default=0) + 1
        version = PromptVersion(
            id=friendly_id("promptversion"),
            version=number,
            text_content=body["textContent"],
            source=body.get("source", "api"),
            labels=[],
            content_hash=content_hash(body["textContent"]),
            created_at=now,
            model=body.get("model") or None,
            commit_message=body.get("commitMessage") or None,
        )
        prompt.versions.append(version)
        _move_label(prompt, "override", version)
        return json_response({"ok": True, "version": number})
    active = prompt.labelled("override")
    if active is None:
        fail(400, "No active override to update")
    text = body.get("textContent", active.text_content or "")
    active.text_content = text
    active.content_hash = content_hash(text)
    active.model = body.get("model", active.model)
    active.commit_message = body.get("commitMessage", active.commit_message)
    return json_response({"ok": True})


ROUTES: Sequence[Route] = [
    Route("/api/v1/prompts", loader=list_prompts, cors=True),
    Route("/api/v1/prompts/{slug}", loader=get_prompt, action=resolve_prompt, cors=True),
    Route("/api/v1/prompts/{slug}/versions", loader=list_versions, cors=True),
    Route("/api/v1/prompts/{slug}/promote", action=promote, action_methods=frozenset({"POST"}), cors=True),
    Route("/api/v1/prompts/{slug}/override", action=override, cors=True),
    Route(
        "/api/v1/prompts/{slug}/override/reactivate",
        action=reactivate,
        action_methods=frozenset({"POST"}),
        cors=True,
    ),
]
