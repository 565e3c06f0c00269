"""Exceptions raised by trigger_async.

::

    TriggerError
    ├── ApiClientMissingError          no access token anywhere (raised before any request)
    ├── ClientClosedError              a call on a client after ``aclose()``
    ├── ApiConnectionError             no HTTP response (refused, reset, DNS, ...)
    │   └── ApiTimeoutError            an attempt exceeded its timeout
    ├── ApiError                       the server answered with a non-2xx status
    │   ├── BadRequestError            400
    │   ├── AuthenticationError        401
    │   ├── PermissionDeniedError      403
    │   ├── NotFoundError              404
    │   ├── ConflictError              409
    │   ├── UnprocessableEntityError   422
    │   ├── RateLimitError             429
    │   ├── InternalServerError        >= 500
    │   └── ApiSchemaValidationError   a 2xx body that does not match its model
    ├── BatchTriggerError              a batch trigger failed in one of its phases
    └── InvalidArgumentError (ValueError) / InvalidArgumentTypeError (TypeError)
                                       a bad argument, raised before any request is sent
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ApiClientMissingError",
    "ApiConnectionError",
    "ApiError",
    "ApiSchemaValidationError",
    "ApiTimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchTriggerError",
    "ClientClosedError",
    "ConflictError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "TriggerError",
    "UnprocessableEntityError",
]


class TriggerError(Exception):
    """Base class of every exception this SDK raises on purpose."""


class InvalidArgumentError(TriggerError, ValueError):
    """An argument has a bad value; raised before any request is sent."""

    def __init__(self, argument: str, problem: str) -> None:
        super().__init__(f"{argument}: {problem}")
        self.argument = argument


class InvalidArgumentTypeError(TriggerError, TypeError):
    """An argument has a bad type; raised before any request is sent."""

    def __init__(self, argument: str, problem: str) -> None:
        super().__init__(f"{argument}: {problem}")
        self.argument = argument


class ApiClientMissingError(TriggerError):
    """No access token was configured (argument, ``configure()``, ``with_auth`` or env)."""


class ClientClosedError(TriggerError):
    """The client was closed with ``aclose()`` and cannot send requests any more."""


class ApiConnectionError(TriggerError):
    """The request got no HTTP response."""

    def __init__(self, message: str = "Connection error.") -> None:
        super().__init__(message)
        self.message = message


class ApiTimeoutError(ApiConnectionError):
    """An attempt did not complete within its timeout."""

    def __init__(self, message: str = "Request timed out.") -> None:
        super().__init__(message)


def _error_message(status: int, body: Any, text: str | None) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and "message" in error:
        message = error["message"]
        return message if isinstance(message, str) else json.dumps(message)
    if isinstance(error, str):
        return error
    if error:
        return json.dumps(error)
    if body is None and text:
        return f"{status} {text}"
    return f"{status} status code (no body)"


def _retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    from ._retry import parse_retry_after

    return parse_retry_after(headers.get("retry-after"), now)


class ApiError(TriggerError):
    """The server answered with an error status.

    ``status`` is the HTTP status, ``headers`` the response headers (lower-cased names),
    ``body`` the parsed JSON body (``None`` when it was not JSON), and ``message`` the text
    the server gave in ``error`` (or ``"<status> status code (no body)"``).
    """

    status: int

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        *,
        text: str | None = None,
        message: str | None = None,
    ) -> None:
        self.status = status
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body
        self.message = message if message is not None else _error_message(status, body, text)
        source = body.get("error") if isinstance(body, dict) else None
        details = source if isinstance(source, dict) else body if isinstance(body, dict) else {}
        self.code: Any = details.get("code")
        self.param: Any = details.get("param")
        self.type: Any = details.get("type")
        self.retry_after: float | None = _retry_after_seconds(self.headers, time.time())
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class BadRequestError(ApiError):
    """HTTP 400."""


class AuthenticationError(ApiError):
    """HTTP 401."""


class PermissionDeniedError(ApiError):
    """HTTP 403."""


class NotFoundError(ApiError):
    """HTTP 404."""


class ConflictError(ApiError):
    """HTTP 409 (after the retries a conflict gets)."""


class UnprocessableEntityError(ApiError):
    """HTTP 422."""


class RateLimitError(ApiError):
    """HTTP 429. ``milliseconds_until_reset`` follows the official SDK's rule."""

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        *,
        text: str | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(status, headers, body, text=text, message=message)
        self.milliseconds_until_reset: int | None = None
        reset = self.headers.get("x-ratelimit-reset", "").strip()
        # An epoch in milliseconds has 13 digits; an absurdly long value is not one.
        if reset.isdigit() and len(reset) <= 20:
            # Same jitter as the official client (0–2 s) so callers that back off in
            # lock-step do not all return at the same instant.
            delta = int(reset) - math.floor(time.time() * 1000) + random.randrange(2000)
            self.milliseconds_until_reset = max(0, delta)


class InternalServerError(ApiError):
    """HTTP status 500 or above."""


class ApiSchemaValidationError(ApiError):
    """A successful response whose body does not match the expected model."""

    def __init__(self, status: int, headers: Mapping[str, str], body: Any, problem: str) -> None:
        super().__init__(status, headers, body, message=f"{status} Validation error: {problem}")
        self.raw_body = body


class BatchTriggerError(TriggerError):
    """A batch trigger failed; ``phase`` is ``"offload"``, ``"create"`` or ``"stream"``."""

    def __init__(
        self,
        message: str,
        *,
        phase: str,
        item_count: int,
        batch_id: str | None = None,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.phase = phase
        self.item_count = item_count
        self.batch_id = batch_id
        self.api_error = cause if isinstance(cause, ApiError) else None
        self.is_rate_limited = isinstance(cause, RateLimitError)
        self.retry_after_ms: int | None = cause.milliseconds_until_reset if isinstance(cause, RateLimitError) else None
        self.retry_after: float | None = cause.retry_after if isinstance(cause, ApiError) else None
        self.__cause__ = cause


_STATUS_CLASSES: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def make_status_error(status: int, headers: Mapping[str, str], body: Any, text: str | None) -> ApiError:
    """Build the exception class that matches ``status``."""
    cls = _STATUS_CLASSES.get(status) or (InternalServerError if status >= 500 else ApiError)
    return cls(status, headers, body, text=text)
