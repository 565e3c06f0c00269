"""``auth``: public access tokens for browsers and other untrusted callers."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from .._base import CallScope, Resource, request_options_of
from .._config import RequestOptions
from .._converter import parse
from .._jwt import AUDIENCE, ISSUER, server_minting_kind, sign_hs256
from .._serialization import dumps_js
from .._validation import check_bool
from ..errors import ApiError, ApiSchemaValidationError, InvalidArgumentError, InvalidArgumentTypeError, TriggerError
from ..options import RealtimeOptions, Scopes
from ._common import wire_vocabulary
from .tasks import expiration_exp, task_id_of

__all__ = ["AuthTokens", "flatten_scopes"]

DEFAULT_LIFETIME = 15 * 60
_ACTIONS = ("read", "write", "trigger", "batchTrigger")


def flatten_scopes(scopes: Mapping[str, Any] | Scopes, argument: str = "scopes") -> list[str]:
    """``{"read": {"runs": ["run_1"]}, "write": True}`` → ``["read:runs:run_1", "write"]``."""
    if hasattr(scopes, "to_wire"):
        scopes = scopes.to_wire()
    if not isinstance(scopes, Mapping):
        raise InvalidArgumentTypeError(argument, f"expected a mapping or Scopes, got {type(scopes).__name__}")
    flat: list[str] = []
    for action, resources in scopes.items():
        if action not in _ACTIONS:
            raise InvalidArgumentError(argument, f"unknown action {action!r}; expected one of {', '.join(_ACTIONS)}")
        if resources is True:
            flat.append(action)
            continue
        if resources in (False, None):
            continue
        if not isinstance(resources, Mapping):
            raise InvalidArgumentTypeError(f"{argument}.{action}", "expected True or a mapping of resources")
        for resource, value in resources.items():
            ids: list[Any]
            if value is True:
                flat.append(f"{action}:{resource}")
                continue
            if value in (False, None):
                continue
            ids = [value] if isinstance(value, str) else list(value) if isinstance(value, Sequence) else [None]
            for item in ids:
                if not isinstance(item, str):
                    raise InvalidArgumentTypeError(f"{argument}.{action}.{resource}", "ids must be str")
                if not item.strip():
                    raise InvalidArgumentError(argument, "Public token scope resource IDs must not be empty")
                flat.append(f"{action}:{resource}:{item}")
    return flat


def _wire_expiration(value: object, argument: str = "expiration_time") -> Any:
    """``expirationTime`` for the public-tokens endpoint: datetimes as Unix seconds."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return expiration_exp(value, 0, 0, argument)
    if isinstance(value, timedelta):
        return f"{int(value.total_seconds())}s"
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidArgumentTypeError(argument, "expected a duration, a datetime or epoch seconds")
    expiration_exp(value, 0, 0, argument)  # the same checks as for a token signed here
    return value


def _realtime_claim(realtime: object) -> Any:
    """The ``realtime`` claim (e.g. ``{"skipColumns": ["payload"]}``), checked before sending."""
    if realtime is None:
        return None
    if not isinstance(realtime, Mapping) and not hasattr(realtime, "to_wire"):
        raise InvalidArgumentTypeError(
            "realtime", f"expected a mapping or RealtimeOptions, got {type(realtime).__name__}"
        )
    wire = wire_vocabulary(realtime, "realtime")
    dumps_js(wire, path="realtime")
    return wire


@attrs.frozen
class _Token:
    token: str


def _task_ids(task: object) -> list[str]:
    if isinstance(task, (list, tuple)):
        if not task:
            raise InvalidArgumentError("task", "must name at least one task")
        return [task_id_of(item) for item in task]
    return [task_id_of(task)]


class AuthTokens(Resource):
    """Mint public access tokens scoped to runs, tasks, tags or batches."""

    async def create_public_token(
        self,
        *,
        scopes: Mapping[str, Any] | Scopes | None = None,
        expiration_time: str | int | datetime | timedelta | None = None,
        realtime: Mapping[str, Any] | RealtimeOptions | None = None,
        request_options: RequestOptions | None = None,
    ) -> str:
        """A token that can read what ``scopes`` allow (default lifetime 15 minutes).

        ``scopes`` uses the official shape: ``{"read": {"runs": ["run_1"], "tags": "t"}}``.
        """
        flat = flatten_scopes(scopes) if scopes is not None else None
        realtime_wire = _realtime_claim(realtime)
        _wire_expiration(expiration_time)
        scope = self._scope()
        kind = server_minting_kind(scope.token)
        if kind is not None:
            if not flat:
                raise InvalidArgumentError(
                    "scopes",
                    f"auth.createPublicToken() requires at least one scope when using an {kind}. "
                    'For example: auth.createPublicToken({ scopes: { read: { runs: ["run_1234"] } } })'
                    if kind == "additional API key"
                    else f"auth.createPublicToken() requires at least one scope when using a {kind}. "
                    'For example: auth.createPublicToken({ scopes: { read: { runs: ["run_1234"] } } })',
                )
            return await self._mint(scope, kind, flat, expiration_time, None, realtime_wire, request_options)
        claims: dict[str, Any] = {}
        if flat is not None:
            claims["scopes"] = flat
        if realtime_wire is not None:
            claims["realtime"] = realtime_wire
        return await self._sign(scope, claims, expiration_time, request_options)

    async def create_trigger_public_token(
        self,
        task: Any,
        *,
        expiration_time: str | int | datetime | timedelta | None = None,
        multiple_use: bool = False,
        realtime: Mapping[str, Any] | RealtimeOptions | None = None,
        request_options: RequestOptions | None = None,
    ) -> str:
        """A token that may trigger ``task`` (an id, a ``TaskRef``, or a list of them) once,
        or any number of times with ``multiple_use=True``."""
        return await self._task_token("trigger", task, expiration_time, multiple_use, realtime, request_options)

    async def create_batch_trigger_public_token(
        self,
        task: Any,
        *,
        expiration_time: str | int | datetime | timedelta | None = None,
        multiple_use: bool = False,
        realtime: Mapping[str, Any] | RealtimeOptions | None = None,
        request_options: RequestOptions | None = None,
    ) -> str:
        """A token that may batch-trigger ``task`` (see ``create_trigger_public_token``)."""
        return await self._task_token("batchTrigger", task, expiration_time, multiple_use, realtime, request_options)

    async def _task_token(
        self,
        action: str,
        task: Any,
        expiration_time: object,
        multiple_use: bool,
        realtime: Mapping[str, Any] | RealtimeOptions | None,
        request_options: RequestOptions | None,
    ) -> str:
        scopes = [f"{action}:tasks:{task_id}" for task_id in _task_ids(task)]
        check_bool(multiple_use, "multiple_use")
        realtime_wire = _realtime_claim(realtime)
        _wire_expiration(expiration_time)
        scope = self._scope()
        kind = server_minting_kind(scope.token)
        if kind is not None:
            return await self._mint(
                scope, kind, scopes, expiration_time, not multiple_use, realtime_wire, request_options
            )
        claims: dict[str, Any] = {"otu": not multiple_use}
        if realtime_wire is not None:
            claims["realtime"] = realtime_wire
        claims["scopes"] = scopes
        return await self._sign(scope, claims, expiration_time, request_options)

    async def _sign(
        self,
        scope: CallScope,
        claims: dict[str, Any],
        expiration_time: object,
        request_options: RequestOptions | None,
    ) -> str:
        now = int(time.time())
        exp = expiration_exp(expiration_time, now, DEFAULT_LIFETIME, "expiration_time")
        response = await self._request(
            "POST",
            "/api/v1/auth/jwt/claims",
            scope=scope,
            request_options=request_options_of(request_options),
        )
        if not isinstance(response.body, dict):
            raise ApiSchemaValidationError(
                response.status, response.headers, response.body, "the JWT claims are not a JSON object"
            )
        payload = {
            **response.body,
            **claims,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "exp": exp,
            "iat": now,
        }
        return sign_hs256(payload, scope.token)

    async def _mint(
        self,
        scope: CallScope,
        kind: str,
        scopes: list[str],
        expiration_time: object,
        one_time_use: bool | None,
        realtime: Any,
        request_options: RequestOptions | None,
    ) -> str:
        body: dict[str, Any] = {"scopes": scopes}
        wire_exp = _wire_expiration(expiration_time)
        if wire_exp is not None:
            body["expirationTime"] = wire_exp
        if one_time_use is not None:
            body["oneTimeUse"] = one_time_use
        if realtime is not None:
            body["realtime"] = realtime
        try:
            response = await self._request(
                "POST",
                "/api/v1/auth/public-tokens",
                scope=scope,
                body=body,
                request_options=request_options_of(request_options),
            )
        except ApiError as error:
            if error.status == 404:
                raise TriggerError(
                    f"This {kind} cannot self-sign public tokens, and the server does not support "
                    "public-token minting. Upgrade the server or use the root API key."
                ) from error
            raise
        return parse(response, _Token).token
