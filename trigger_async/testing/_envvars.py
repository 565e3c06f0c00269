"""Environment variables: ``/api/v1/projects/{projectRef}/envvars/{slug}[/{name}]``.

Variables are project-level keys with a value per environment; a branch environment sees
its parent's values merged with its own (its own win). Secret keys authenticate as their
environment (the slug is not checked without a branch header, as on the server); a
personal access token (``tr_pat_`` + 40 letters or digits) selects the environment by slug:
the example key's environment of that kind.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
from aiohttp import web

from ._auth import authenticate, bearer_token, sanitize_branch
from ._http import Call, Route, fail, json_response
from ._records import EnvVarValue
from ._store import ENV_KINDS, PROJECT_REF, Environment
from ._validation import Boolean, Object, String, validate

REDACTED: Final = "<redacted>"
BLACKLIST: Final = frozenset({"TRIGGER_SECRET_KEY", "TRIGGER_API_URL"})
VALID_PAT: Final = re.compile(r"^tr_pat_[A-Za-z0-9]{40}$")
_TITLES: Final = {"DEVELOPMENT": "Development", "STAGING": "Staging", "PRODUCTION": "Production", "PREVIEW": "Preview"}

CREATE_BODY: Final = Object({"name": String(), "value": String(), "isSecret": Boolean().optional()})
UPDATE_BODY: Final = Object({"value": String()})


@attrs.frozen
class WriteResult:
    """What the repository's ``create`` answers."""

    error: str | None = None
    variable_errors: list[dict[str, str]] | None = None

    def response(self) -> web.Response:
        """``{"success": true}`` or the 400 with ``error`` (and ``variableErrors``)."""
        if self.error is None:
            return json_response({"success": True})
        body: dict[str, Any] = {"error": self.error}
        if self.variable_errors is not None:
            body["variableErrors"] = self.variable_errors
        return json_response(body, 400)


# environment resolution -----------------------------------------------------------------------


def _environment(call: Call) -> Environment:
    """Authenticate (PAT or secret key) and resolve the environment of the URL."""
    slug = call.params["slug"]
    if slug == "staging":
        slug = "stg"
    branch = sanitize_branch(call.header("x-trigger-branch"))
    if slug == "dev" and branch == "default":
        branch = None
    token = bearer_token(call)
    if token is not None and VALID_PAT.match(token):
        return _pat_environment(call, slug, branch)
    env = authenticate(call, allow_jwt=False).env
    if call.params["projectRef"] != PROJECT_REF:
        fail(
            400,
            "Invalid project ref for this API key. Make sure you are using an API key associated with that project.",
        )
    if env.db_slug != slug and env.branch_name != branch:
        fail(
            400,
            "Invalid environment slug for this API key. "
            "Make sure you are using an API key associated with that environment.",
        )
    return env


def _pat_environment(call: Call, slug: str, branch: str | None) -> Environment:
    store = call.state.store
    if call.params["projectRef"] != PROJECT_REF:
        fail(404, "Project not found")
    if branch is None:
        if slug not in ENV_KINDS:
            fail(404, "Environment not found")
        return store.example_env(slug)
    parent = store.example_env("dev" if slug == "dev" else "preview")
    env = store.branch_env(parent, branch, create=False)
    if env is None:
        fail(404, "Branch not found")
    return env


# the repository ---------------------------------------------------------------------------------


def effective_values(values: Mapping[str, Mapping[str, EnvVarValue]], env: Environment) -> dict[str, EnvVarValue]:
    """The variables ``env`` sees: parent values first, its own override them."""
    merged: dict[str, EnvVarValue] = {}
    parent = env.parent
    if parent is not None:
        for name, per_env in values.items():
            if parent.id in per_env:
                merged[name] = per_env[parent.id]
    for name, per_env in values.items():
        own = per_env.get(env.id)
        if own is not None:
            inherited = merged.get(name)
            secret = own.is_secret or (inherited is not None and inherited.is_secret)
            merged[name] = EnvVarValue(own.value, secret)
    return {name: value for name, value in merged.items() if name not in BLACKLIST}


def _shown(name: str, value: EnvVarValue) -> dict[str, Any]:
    return {"name": name, "value": REDACTED if value.is_secret else value.value, "isSecret": value.is_secret}


def write_variables(
    store_values: dict[str, dict[str, EnvVarValue]],
    env: Environment,
    variables: Sequence[tuple[str, str]],
    *,
    override: bool,
    is_secret: bool | None,
    inherit_from: Environment | None = None,
) -> WriteResult:
    """The repository's ``create``: blacklist, empty values, conflicts, then upsert all."""
    allowed = [(k, v) for k, v in variables if k not in BLACKLIST]
    removed = len(allowed) != len(variables)
    allowed = [(k, v) for k, v in allowed if k.strip() != "" and v.strip() != ""]
    if not allowed:
        suffix = " All the variables submitted are not allowed." if removed else ""
        return WriteResult(f"You must set at least one valid variable.{suffix}")
    if not override:
        conflicts = [
            {"key": k, "error": f"Variable already set in {_TITLES[env.type]}."}
            for k, _ in allowed
            if env.id in store_values.get(k, {})
        ]
        if conflicts:
            return WriteResult(
                "Some of the variables are already set for these environments. Set override to true to override them.",
                conflicts,
            )
    for key, value in allowed:
        per_env = store_values.setdefault(key, {})
        existing = per_env.get(env.id)
        if existing is not None:
            existing.value = value
            if is_secret is not None:
                existing.is_secret = is_secret
            continue
        secret = is_secret
        if secret is None and inherit_from is not None:
            parent_value = per_env.get(inherit_from.id)
            secret = parent_value is not None and parent_value.is_secret
        per_env[env.id] = EnvVarValue(value, bool(secret))
    return WriteResult()


# handlers ----------------------------------------------------------------------------------------


def _parsed(call: Call, schema: Object) -> dict[str, Any]:
    try:
        data = json.loads(call.body_text())
    except ValueError:
        # The server's unguarded request.json() crashes (500); a 400 is the simplification.
        fail(400, "Invalid request body")
    parsed, issues = validate(schema, data)
    if issues:
        fail(400, "Invalid request body", issues=[issue.to_zod() for issue in issues])
    return dict(parsed)


async def list_variables(call: Call) -> web.StreamResponse:
    """``GET …/envvars/{slug}``: a bare array, secret values redacted."""
    env = _environment(call)
    values = effective_values(call.state.store.env_vars, env)
    return json_response([_shown(name, value) for name, value in values.items()])


async def create_variable(call: Call) -> web.StreamResponse:
    """``POST …/envvars/{slug}``: create or overwrite one variable."""
    env = _environment(call)
    body = _parsed(call, CREATE_BODY)
    result = write_variables(
        call.state.store.env_vars,
        env,
        [(body["name"], body["value"])],
        override=True,
        is_secret=body.get("isSecret"),
    )
    return result.response()


def _dotenv(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*?)\s*$", line)
        if not match:
            continue
        value = match.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"`":
            value = value[1:-1]
            if match.group(2)[0] == '"':
                value = value.replace("\\n", "\n")
        else:
            value = value.split(" #", 1)[0].strip()
        out[match.group(1)] = value
    return out


def _import_body(call: Call) -> dict[str, Any]:
    content_type = call.header("content-type") or "application/json"
    if "multipart/form-data" in content_type:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + call.body
        )
        fields: dict[str, tuple[bytes, bool]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = (payload, part.get_filename() is not None)
        file = fields.get("variables")
        if file is None or not file[1]:
            fail(400, "Invalid file")
        override = fields.get("override", (b"", False))[0] == b"true"
        return {"variables": _dotenv(file[0].decode("utf-8", errors="replace")), "override": override}
    try:
        data = json.loads(call.body_text())
    except ValueError:
        fail(400, "Invalid body")
    body = data if isinstance(data, dict) else None

    def record(value: Any) -> bool:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())

    if (
        body is None
        or not record(body.get("variables"))
        or ("parentVariables" in body and not record(body["parentVariables"]))
        or ("override" in body and not isinstance(body["override"], bool))
        or ("isSecret" in body and not isinstance(body["isSecret"], bool))
    ):
        fail(400, "Invalid body")
    return body


async def import_variables(call: Call) -> web.StreamResponse:
    """``POST …/envvars/{slug}/import``: many at once, all-or-nothing unless ``override``."""
    env = _environment(call)
    body = _import_body(call)
    values = call.state.store.env_vars
    override = body.get("override") is True
    is_secret = body.get("isSecret")
    result = write_variables(
        values,
        env,
        list(body["variables"].items()),
        override=override,
        is_secret=is_secret,
        inherit_from=env.parent,
    )
    if env.parent is not None and body.get("parentVariables"):
        parent_result = write_variables(
            values, env.parent, list(body["parentVariables"].items()), override=override, is_secret=is_secret
        )
        if result.error is None or parent_result.error is None:
            return json_response({"success": True})
        return WriteResult(
            result.error or parent_result.error,
            result.variable_errors or parent_result.variable_errors,
        ).response()
    return result.response()


def _known(call: Call) -> tuple[Environment, str]:
    env = _environment(call)
    name = call.params["name"]
    if name not in call.state.store.env_vars:
        fail(404, "Environment variable not found")
    return env, name


async def retrieve_variable(call: Call) -> web.StreamResponse:
    """``GET …/envvars/{slug}/{name}``."""
    env, name = _known(call)
    value = effective_values(call.state.store.env_vars, env).get(name)
    if value is None:
        fail(404, "Environment variable not found")
    return json_response(_shown(name, value))


async def change_variable(call: Call) -> web.StreamResponse:
    """``PUT``/``POST`` (set this environment's value) and ``DELETE`` (remove it)."""
    env, name = _known(call)
    values = call.state.store.env_vars
    per_env = values[name]
    if call.method == "DELETE":
        if env.id not in per_env:
            fail(400, "Environment variable value not found")
        del per_env[env.id]
        if not per_env:
            del values[name]
        return json_response({"success": True})
    body = _parsed(call, UPDATE_BODY)
    value = body["value"]
    if value.strip():
        existing = per_env.get(env.id)
        if existing is None:
            per_env[env.id] = EnvVarValue(value)
        else:
            existing.value = value
    return json_response({"success": True})


ROUTES: Sequence[Route] = [
    Route("/api/v1/projects/{projectRef}/envvars/{slug}/import", action=import_variables, limiter="deployment"),
    Route("/api/v1/projects/{projectRef}/envvars/{slug}", loader=list_variables, action=create_variable),
    Route(
        "/api/v1/projects/{projectRef}/envvars/{slug}/{name}",
        loader=retrieve_variable,
        action=change_variable,
        action_methods=frozenset({"PUT", "POST", "DELETE"}),
    ),
]
