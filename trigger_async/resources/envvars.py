"""``envvars``: environment variables of a project's environments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._base import CallScope, Resource, request_options_of
from .._config import RequestOptions
from .._converter import parse
from .._serialization import encode_path_segment
from .._validation import check_bool, require_str
from ..errors import InvalidArgumentError, InvalidArgumentTypeError
from ..models.envvars import EnvVar
from ._common import SuccessResponse

__all__ = ["EnvVars"]

ENVIRONMENTS = ("dev", "staging", "prod", "preview")


def _where(scope: CallScope, project_ref: str | None, env: str | None) -> str:
    """``/api/v1/projects/{ref}/envvars/{env}``; a missing pair comes from the task context."""
    if project_ref is None and env is None and scope.task is not None:
        project_ref, env = scope.task.project_ref, scope.task.environment
    if project_ref is None:
        raise InvalidArgumentError(
            "project_ref",
            "is required (pass project_ref and env, or call where a task context with project_ref and "
            "environment is visible: module level, or a client with inherit_context=True)",
        )
    if env is None:
        raise InvalidArgumentError("env", "is required")
    require_str(project_ref, "project_ref")
    if env not in ENVIRONMENTS:
        raise InvalidArgumentError("env", f"must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    ref = encode_path_segment(project_ref, argument="project_ref")
    return f"/api/v1/projects/{ref}/envvars/{env}"


def _named(args: tuple[str | None, ...], method: str) -> tuple[str | None, str | None, str]:
    """``(project_ref, env, name)`` from the explicit form ``(ref, env, name)`` or ``(name,)``."""
    if len(args) == 3:
        ref, env, name = args
    elif len(args) == 1:
        ref, env, name = None, None, args[0]
    else:
        raise InvalidArgumentTypeError(
            method,
            f"takes (project_ref, env, name) or (name,), got {len(args)} positional arguments",
        )
    return ref, env, require_str(name, "name")


def _success(response: Any) -> bool:
    return parse(response, SuccessResponse).success


class EnvVars(Resource):
    """Read and write environment variables.

    Every method takes ``project_ref`` and ``env`` (``dev``, ``staging``, ``prod`` or
    ``preview``) first; where a task context is visible they may be left out.
    """

    async def list(
        self,
        project_ref: str | None = None,
        env: str | None = None,
        /,
        *,
        request_options: RequestOptions | None = None,
    ) -> list[EnvVar]:
        """Every variable of the environment (secret values are redacted)."""
        scope = self._scope()
        path = _where(scope, project_ref, env)
        response = await self._request("GET", path, scope=scope, request_options=request_options_of(request_options))
        return parse(response, list[EnvVar])

    async def create(
        self,
        project_ref: str | None = None,
        env: str | None = None,
        /,
        *,
        name: str,
        value: str,
        is_secret: bool | None = None,
        request_options: RequestOptions | None = None,
    ) -> bool:
        """Create (or overwrite) a variable."""
        scope = self._scope()
        path = _where(scope, project_ref, env)
        body: dict[str, Any] = {
            "name": require_str(name, "name"),
            "value": require_str(value, "value", allow_empty=True),
        }
        if check_bool(is_secret, "is_secret") is not None:
            body["isSecret"] = is_secret
        response = await self._request(
            "POST",
            path,
            scope=scope,
            body=body,
            request_options=request_options_of(request_options),
        )
        return _success(response)

    async def retrieve(self, *args: str, request_options: RequestOptions | None = None) -> EnvVar:
        """``retrieve(project_ref, env, name)`` or ``retrieve(name)`` in a task context."""
        scope = self._scope()
        ref, env, name = _named(args, "retrieve")
        path = f"{_where(scope, ref, env)}/{encode_path_segment(name, argument='name')}"
        response = await self._request("GET", path, scope=scope, request_options=request_options_of(request_options))
        return parse(response, EnvVar)

    async def update(self, *args: str, value: str, request_options: RequestOptions | None = None) -> bool:
        """``update(project_ref, env, name, value=...)`` or ``update(name, value=...)``."""
        scope = self._scope()
        ref, env, name = _named(args, "update")
        path = f"{_where(scope, ref, env)}/{encode_path_segment(name, argument='name')}"
        body = {"value": require_str(value, "value", allow_empty=True)}
        response = await self._request(
            "PUT", path, scope=scope, body=body, request_options=request_options_of(request_options)
        )
        return _success(response)

    async def delete(self, *args: str, request_options: RequestOptions | None = None) -> bool:
        """``delete(project_ref, env, name)`` or ``delete(name)`` in a task context."""
        scope = self._scope()
        ref, env, name = _named(args, "delete")
        path = f"{_where(scope, ref, env)}/{encode_path_segment(name, argument='name')}"
        response = await self._request("DELETE", path, scope=scope, request_options=request_options_of(request_options))
        return _success(response)

    async def upload(
        self,
        project_ref: str | None = None,
        env: str | None = None,
        /,
        *,
        variables: Mapping[str, str],
        override: bool | None = None,
        is_secret: bool | None = None,
        request_options: RequestOptions | None = None,
    ) -> bool:
        """Import many variables at once; ``override=True`` replaces existing ones."""
        scope = self._scope()
        path = f"{_where(scope, project_ref, env)}/import"
        if not isinstance(variables, Mapping) or not variables:
            raise InvalidArgumentError("variables", "must be a non-empty mapping of names to values")
        for key, item in variables.items():
            if not isinstance(key, str) or not isinstance(item, str):
                raise InvalidArgumentTypeError("variables", f"{key!r} must map a str to a str")
        body: dict[str, Any] = {"variables": dict(variables)}
        if check_bool(override, "override") is not None:
            body["override"] = override
        if check_bool(is_secret, "is_secret") is not None:
            body["isSecret"] = is_secret
        response = await self._request(
            "POST",
            path,
            scope=scope,
            body=body,
            request_options=request_options_of(request_options),
        )
        return _success(response)
