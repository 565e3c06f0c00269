"""What every resource shares: the per-call scope, headers, and the request helper."""

from __future__ import annotations

import platform
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

import aiohttp
import attrs
from multidict import CIMultiDict
from yarl import URL

from ._config import DEFAULT_RETRY, ClientConfig, RequestOptions, RetryOptions, Timeout
from ._constants import API_VERSION, MISSING_TOKEN_MESSAGE, SDK_VERSION
from ._context import TaskContext
from ._converter import parse
from ._serialization import UNDEFINED, build_query, dumps_js
from ._transport import Response, Transport
from ._version import __version__
from .errors import ApiClientMissingError, InvalidArgumentError, InvalidArgumentTypeError

_T = TypeVar("_T")

USER_AGENT = f"trigger-async/{__version__} Python/{platform.python_version()} aiohttp/{aiohttp.__version__}"


@attrs.frozen
class CallScope:
    """Everything one logical call needs, captured when the call starts."""

    config: ClientConfig
    task: TaskContext | None
    transport: Transport

    @property
    def token(self) -> str:
        if not self.config.access_token:
            raise ApiClientMissingError(MISSING_TOKEN_MESSAGE)
        return self.config.access_token


class Binding(Protocol):
    """A client (or the module-level namespace) that resources send requests through."""

    def _call_scope(self) -> CallScope: ...

    def _ensure_open(self) -> None: ...


def request_options_of(value: object) -> RequestOptions | None:
    """Per-call options, checked before anything is sent."""
    if value is None:
        return None
    if not isinstance(value, RequestOptions):
        raise InvalidArgumentTypeError("request_options", f"expected RequestOptions, got {type(value).__name__}")
    token_options = value.public_access_token
    if token_options is not None:
        from .resources.tasks import expiration_exp

        argument = "request_options.public_access_token"
        if not isinstance(token_options, Mapping):
            raise InvalidArgumentTypeError(argument, "expected a mapping such as {'expiration_time': '2h'}")
        unknown = sorted(set(token_options) - {"expiration_time"})
        if unknown:
            raise InvalidArgumentError(argument, f"unknown key(s) {', '.join(map(str, unknown))}")
        expiration_exp(token_options.get("expiration_time"), 0, 0, f"{argument}.expiration_time")
    return value


_NO_OPTIONS = RequestOptions()
_DEFAULT_TIMEOUT = Timeout()


def effective_options(scope: CallScope, per_call: RequestOptions | None) -> RequestOptions:
    client = scope.config.request_options
    if per_call is None:
        return client or _NO_OPTIONS
    return per_call.over(client)


def standard_headers(
    scope: CallScope,
    options: RequestOptions,
    *,
    content_type: str | None = "application/json",
    idempotency_key: str | None,
    span_link: bool = False,
    no_cache: bool = True,
) -> CIMultiDict[str]:
    """The header set of the official SDK's JSON calls (wire-spec §2.2.1), in its order."""
    headers: CIMultiDict[str] = CIMultiDict()
    if content_type is not None:
        headers["Content-Type"] = content_type
    headers["Authorization"] = f"Bearer {scope.token}"
    headers["trigger-version"] = SDK_VERSION
    for name, value in (options.additional_headers or {}).items():
        if name not in headers:
            headers[name] = value
    if "x-trigger-source" not in headers:
        headers["x-trigger-source"] = "sdk"
    if scope.config.preview_branch:
        headers["x-trigger-branch"] = scope.config.preview_branch
    if scope.task is not None:
        headers["x-trigger-worker"] = "true"
        headers["x-trigger-engine-version"] = "V2"
        if span_link:
            headers["x-trigger-span-parent-as-link"] = "1"
    headers["x-trigger-api-version"] = API_VERSION
    headers["x-trigger-realtime-streams-version"] = scope.config.realtime_streams_version
    if idempotency_key is not None:
        headers["x-trigger-request-idempotency-key"] = idempotency_key
    if no_cache:
        # Node's fetch sends this for the SDK's `cache: "no-cache"`; proxies honour it.
        headers["Cache-Control"] = "max-age=0"
    headers["User-Agent"] = USER_AGENT
    return headers


def bare_headers(content_type: str | None, idempotency_key: str | None) -> CIMultiDict[str]:
    """Headers of an unauthenticated call (timezones, presigned uploads): no SDK headers."""
    headers: CIMultiDict[str] = CIMultiDict()
    if content_type is not None:
        headers["Content-Type"] = content_type
    if idempotency_key is not None:
        headers["x-trigger-request-idempotency-key"] = idempotency_key
    headers["Cache-Control"] = "max-age=0"
    headers["User-Agent"] = USER_AGENT
    return headers


class Resource:
    """Base of every namespace (``client.runs``, ``trigger_async.tasks``, ...)."""

    def __init__(self, binding: Binding) -> None:
        self._binding = binding

    def _scope(self) -> CallScope:
        return self._binding._call_scope()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        scope: CallScope | None = None,
        query: Iterable[tuple[str, str]] | None = None,
        body: Any = UNDEFINED,
        raw_body: bytes | None = None,
        content_type: str = "application/json",
        request_options: RequestOptions | None = None,
        span_link: bool = False,
        with_request_key: bool = True,
        retry_defaults: RetryOptions = DEFAULT_RETRY,
        client_retry: bool = True,
        authenticated: bool = True,
        retry_connection_errors: bool = True,
    ) -> Response:
        """Send one logical call; ``path`` must already be percent-encoded.

        ``body`` is JSON-encoded as the official SDK encodes it; ``raw_body`` is sent as is.
        ``client_retry=False`` ignores the client's retry options (only per-call ones apply
        over ``retry_defaults``), as the official SDK does for the batch items stream.
        """
        if scope is None:
            scope = self._scope()
        else:
            # Pagers and pollers capture their scope once; the client may have closed since.
            self._binding._ensure_open()
        options = effective_options(scope, request_options)
        request_key = str(uuid.uuid4()) if with_request_key else None
        headers = (
            standard_headers(
                scope,
                options,
                content_type=content_type,
                idempotency_key=request_key,
                span_link=span_link,
                # The official SDK's plain-fetch call (the items stream) sends no cache header.
                no_cache=with_request_key,
            )
            if authenticated
            else bare_headers(content_type, request_key)
        )
        query_string = build_query(query) if query is not None else ""
        url = f"{scope.config.base_url}{path}" + (f"?{query_string}" if query_string else "")
        data = raw_body if raw_body is not None else (None if body is UNDEFINED else dumps_js(body).encode("utf-8"))
        retry_options = options.retry if client_retry else (request_options.retry if request_options else None)
        return await scope.transport.send(
            method,
            URL(url, encoded=True),
            headers=headers,
            body=data,
            retry=retry_options.over(retry_defaults) if retry_options else retry_defaults,
            timeout=options.timeout or _DEFAULT_TIMEOUT,
            retry_connection_errors=retry_connection_errors,
        )

    async def _request_model(self, cls: type[_T], method: str, path: str, **kwargs: Any) -> _T:
        response = await self._request(method, path, **kwargs)
        return parse(response, cls)


def headers_dict(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
