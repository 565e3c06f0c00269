"""Client configuration: frozen values, resolved once from arguments and environment."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import attrs

from ._constants import DEFAULT_BASE_URL
from .errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "NOT_GIVEN",
    "ClientConfig",
    "NotGiven",
    "RequestOptions",
    "RetryOptions",
    "Timeout",
]


class NotGiven:
    """Marks an argument that was not passed (``None`` can then mean "clear it")."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


def _optional_number(minimum: float, *, strict: bool = False) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        name = f"{type(instance).__name__}.{attribute.name}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidArgumentTypeError(name, f"expected a number, got {type(value).__name__}")
        if math.isnan(value) or value < minimum or (strict and value == minimum):
            bound = f"> {minimum}" if strict else f">= {minimum}"
            raise InvalidArgumentError(name, f"must be {bound}, got {value!r}")

    return check


def _optional_bool(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidArgumentTypeError(f"{type(instance).__name__}.{attribute.name}", f"expected a bool, got {value!r}")


def _attempts(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"{type(instance).__name__}.{attribute.name}", f"must be an int >= 1, got {value!r}")


@attrs.frozen
class RetryOptions:
    """How a failed request is retried. Times are in **seconds**.

    Every field is optional; unset fields fall back field by field to the client's
    options, then to the defaults (5 attempts, 1.0 s x 1.6, capped at 30 s, no jitter,
    server-requested waits up to 60 s).
    """

    max_attempts: int | None = attrs.field(default=None, validator=_attempts)
    factor: float | None = attrs.field(default=None, validator=_optional_number(0, strict=True))
    min_timeout: float | None = attrs.field(default=None, validator=_optional_number(0))
    max_timeout: float | None = attrs.field(default=None, validator=_optional_number(0))
    randomize: bool | None = attrs.field(default=None, validator=_optional_bool)
    max_retry_after: float | None = attrs.field(default=None, validator=_optional_number(0))

    def over(self, base: RetryOptions) -> RetryOptions:
        """Fields set here win; the others come from ``base``."""
        return RetryOptions(
            *(
                mine if mine is not None else theirs
                for mine, theirs in ((getattr(self, f.name), getattr(base, f.name)) for f in attrs.fields(RetryOptions))
            )
        )


DEFAULT_RETRY: Final = RetryOptions(
    max_attempts=5,
    factor=1.6,
    min_timeout=1.0,
    max_timeout=30.0,
    randomize=False,
    max_retry_after=60.0,
)


@attrs.frozen
class Timeout:
    """Per-attempt time limits in seconds: ``connect`` to open a connection, ``total`` for
    the whole attempt (send and read). ``None`` disables a limit."""

    connect: float | None = attrs.field(default=10.0, validator=_optional_number(0, strict=True))
    total: float | None = attrs.field(default=60.0, validator=_optional_number(0, strict=True))


def _headers_converter(value: Mapping[str, str] | None) -> Mapping[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArgumentTypeError(
            "additional_headers", f"expected a mapping of str to str, got {type(value).__name__}"
        )
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise InvalidArgumentTypeError("additional_headers", f"header {key!r} must map a str to a str")
        if not key or not all(ch.isascii() and (ch.isalnum() or ch in "!#$%&'*+-.^_`|~") for ch in key):
            raise InvalidArgumentError("additional_headers", f"{key!r} is not a valid header name")
        if not _header_safe(item):
            raise InvalidArgumentError("additional_headers", f"the value of {key!r} has control characters")
    return dict(value)


def _type_check(kind: type, argument: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and not isinstance(value, kind):
            raise InvalidArgumentTypeError(argument, f"expected {kind.__name__}, got {type(value).__name__}")

    return check


@attrs.frozen
class RequestOptions:
    """Options for one call (``request_options=``) or for every call of a client.

    ``additional_headers`` are sent with each request; the SDK's own headers win over them,
    except ``x-trigger-source``. ``public_access_token`` holds options for the token a
    trigger returns, e.g. ``{"expiration_time": "2h"}``.
    """

    retry: RetryOptions | None = attrs.field(default=None, validator=_type_check(RetryOptions, "request_options.retry"))
    additional_headers: Mapping[str, str] | None = attrs.field(default=None, converter=_headers_converter)
    timeout: Timeout | None = attrs.field(default=None, validator=_type_check(Timeout, "request_options.timeout"))
    public_access_token: Mapping[str, Any] | None = None

    def over(self, base: RequestOptions | None) -> RequestOptions:
        """Fields set here win over ``base``; retry options and headers merge key by key."""
        if base is None:
            return self
        retry = self.retry.over(base.retry) if self.retry and base.retry else self.retry or base.retry
        headers = (
            {**base.additional_headers, **self.additional_headers}
            if self.additional_headers and base.additional_headers
            else self.additional_headers or base.additional_headers
        )
        return RequestOptions(
            retry=retry,
            additional_headers=headers,
            timeout=self.timeout or base.timeout,
            public_access_token=self.public_access_token or base.public_access_token,
        )


def _token_repr(value: str | None) -> str:
    return "None" if value is None else "'***'"


@attrs.frozen
class ClientConfig:
    """The resolved, immutable configuration of a client.

    The access token is never shown by ``repr()``/``str()``.
    """

    access_token: str | None = attrs.field(repr=_token_repr)
    base_url: str = DEFAULT_BASE_URL
    preview_branch: str | None = None
    request_options: RequestOptions | None = None
    inherit_context: bool = False
    external_deployment_id: str | None = None
    realtime_streams_version: str = "v2"
    # Captured at construction; used only when the ambient task context is visible.
    env_version: str | None = attrs.field(default=None, repr=False)
    env_external_deployment_id: str | None = attrs.field(default=None, repr=False)


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A non-empty environment value, or ``None``."""
    value = (os.environ if environ is None else environ).get(name)
    return value or None


def env_access_token(environ: Mapping[str, str] | None = None) -> str | None:
    return env_value("TRIGGER_SECRET_KEY", environ) or env_value("TRIGGER_ACCESS_TOKEN", environ)


def env_preview_branch(environ: Mapping[str, str] | None = None) -> str | None:
    branch = env_value("TRIGGER_PREVIEW_BRANCH", environ) or env_value("VERCEL_GIT_COMMIT_REF", environ)
    if branch:
        return branch
    dev_branch = env_value("TRIGGER_DEV_BRANCH", environ)
    return None if dev_branch == "default" else dev_branch


def env_base_url(environ: Mapping[str, str] | None = None) -> str:
    return env_value("TRIGGER_API_URL", environ) or DEFAULT_BASE_URL


def normalize_base_url(value: str, argument: str = "base_url") -> str:
    """Check a base URL now (not at the first call) and drop one trailing ``/``."""
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(argument, f"expected str, got {type(value).__name__}")
    problem = None
    if not value.startswith(("http://", "https://")):
        problem = "must start with http:// or https://"
    elif any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        problem = "must not contain spaces or control characters"
    else:
        try:
            parts = urlsplit(value)
            if not parts.hostname:
                problem = "has no host"
            _ = parts.port  # raises for a port out of range
        except ValueError as error:
            problem = str(error)
        else:
            if parts.query or parts.fragment:
                problem = "must not have a query or fragment"
    if problem is not None:
        raise InvalidArgumentError(argument, f"{problem}, got {value!r}")
    return value[:-1] if value.endswith("/") else value


def check_optional_str(value: object, argument: str) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidArgumentTypeError(argument, f"expected str, got {type(value).__name__}")


def _header_safe(text: str) -> bool:
    return all(0x20 <= ord(ch) < 0x7F or 0x80 <= ord(ch) <= 0xFF for ch in text)


def check_token(value: object, argument: str = "access_token") -> None:
    check_optional_str(value, argument)
    if isinstance(value, str) and (not value or value != value.strip() or not _header_safe(value)):
        # The token goes into a header; never echo it back in the message.
        raise InvalidArgumentError(argument, "must be a non-empty token of printable characters, without spaces around")


def build_config(
    *,
    access_token: str | None,
    preview_branch: str | None,
    base_url: str | None,
    request_options: RequestOptions | None,
    inherit_context: bool,
    external_deployment_id: str | None,
    realtime_streams_version: str | None,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Resolve a config: explicit values win, missing ones come from the environment *now*."""
    check_token(access_token)
    check_optional_str(preview_branch, "preview_branch")
    check_optional_str(external_deployment_id, "external_deployment_id")
    if request_options is not None and not isinstance(request_options, RequestOptions):
        raise InvalidArgumentTypeError(
            "request_options", f"expected RequestOptions, got {type(request_options).__name__}"
        )
    if not isinstance(inherit_context, bool):
        raise InvalidArgumentTypeError("inherit_context", f"expected bool, got {inherit_context!r}")
    if realtime_streams_version not in (None, "v1", "v2"):
        raise InvalidArgumentError(
            "realtime_streams_version", f"must be 'v1' or 'v2', got {realtime_streams_version!r}"
        )
    if realtime_streams_version is None:
        flag = (
            (
                env_value("TRIGGER_V2_REALTIME_STREAMS", environ)
                or env_value("TRIGGER_REALTIME_STREAMS_V2", environ)
                or ""
            )
            .strip()
            .lower()
        )
        realtime_streams_version = "v1" if flag in ("0", "false") else "v2"
    return ClientConfig(
        access_token=access_token if access_token is not None else env_access_token(environ),
        base_url=normalize_base_url(base_url)
        if base_url is not None
        else normalize_base_url(env_base_url(environ), "TRIGGER_API_URL"),
        # "" means "explicitly no branch": the environment is not consulted then.
        preview_branch=(preview_branch or None) if preview_branch is not None else env_preview_branch(environ),
        request_options=request_options,
        inherit_context=inherit_context,
        external_deployment_id=external_deployment_id,
        realtime_streams_version=realtime_streams_version,
        env_version=env_value("TRIGGER_VERSION", environ),
        env_external_deployment_id=env_value("TRIGGER_EXTERNAL_DEPLOYMENT_ID", environ),
    )
