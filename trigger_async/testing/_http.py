"""Request context, JSON answers and route declarations shared by every endpoint module."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, NoReturn
from urllib.parse import unquote

import attrs
from aiohttp import web

from ._packets import js_json
from ._statuses import NEW_API_VERSION
from ._validation import Issue, Schema, validate, validation_error_text

if TYPE_CHECKING:
    from ._state import State


class Reply(Exception):
    """Raised by handlers and helpers to answer at once with ``response``."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


#: Headers the server's middleware puts on every answer.
COMMON_HEADERS: Final = {
    "Strict-Transport-Security": "max-age=3153600000",
    "X-Robots-Tag": "noindex, nofollow",
}


def add_cors(request: web.Request, response: web.StreamResponse) -> None:
    """The reflect-origin CORS headers of a ``cors`` route's answer (when ``Origin`` is sent).

    An ``Access-Control-Expose-Headers`` the route set itself is kept.
    """
    origin = request.headers.get("Origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        response.headers.setdefault("Access-Control-Expose-Headers", "x-trigger-jwt,x-trigger-jwt-claims")


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A compact JSON answer, encoded like ``JSON.stringify``."""
    return web.Response(
        body=js_json(data).encode(),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json",
        charset="utf-8",
    )


def problem_response(data: Mapping[str, Any], status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    """The rate limiter's ``application/problem+json`` answers, pretty-printed."""
    return web.Response(
        body=json.dumps(data, indent=2, ensure_ascii=False).encode(),
        status=status,
        headers=dict(headers or {}),
        content_type="application/problem+json",
    )


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None, **extra: Any) -> web.Response:
    """``{"error": message, ...extra}`` with ``status``."""
    return json_response({"error": message, **extra}, status, headers)


def fail(status: int, message: str, headers: Mapping[str, str] | None = None, **extra: Any) -> NoReturn:
    """Stop handling and answer ``{"error": message, ...}``."""
    raise Reply(error_response(status, message, headers, **extra))


def forbidden() -> NoReturn:
    """The builder's 403 for a credential whose scopes do not cover the resource."""
    fail(403, "Unauthorized", code="unauthorized", param="access_token", type="authorization")


def empty_response(status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    """An answer without a body (the framework's 405)."""
    return web.Response(status=status, headers=dict(headers or {}))


@attrs.define
class Call:
    """Everything a handler needs about one request."""

    request: web.Request
    state: State
    body: bytes
    params: dict[str, str]
    query: dict[str, str]

    @property
    def method(self) -> str:
        """The request method, upper-cased."""
        return self.request.method.upper()

    def header(self, name: str) -> str | None:
        """A request header (repeated headers joined with ``", "``), or ``None``."""
        values = self.request.headers.getall(name, [])
        return ", ".join(values) if values else None

    @property
    def base_url(self) -> str:
        """The emulator's own origin as the caller addressed it (for presigned URLs)."""
        return str(self.request.url.origin())

    @property
    def new_vocabulary(self) -> bool:
        """Whether the caller asked for the 2025-07-16 run status names."""
        return self.header("x-trigger-api-version") == NEW_API_VERSION

    def body_text(self) -> str:
        """The body as text (invalid UTF-8 replaced, as a JavaScript decoder does)."""
        return self.body.decode("utf-8", errors="replace")

    # builder-route steps, in the server's order ---------------------------------------------

    def require_content_length(self, limit: int) -> None:
        """``maxContentLength``: a missing or too large ``Content-Length`` is a 413."""
        length = self.request.content_length
        if length is None or length > limit:
            fail(413, "Request body too large")

    def validated_headers(self, schema: Schema) -> dict[str, Any]:
        """Validate the lower-cased request headers; 400 ``Headers Error`` with zod details."""
        values = {name.lower(): self.header(name) for name in self.request.headers}
        parsed, issues = validate(schema, values)
        if issues:
            raise_details("Headers Error", issues)
        return dict(parsed)

    def validated_query(self, schema: Schema) -> dict[str, Any]:
        """Validate the (flattened) query; 400 ``Query Error`` with zod details."""
        parsed, issues = validate(schema, dict(self.query))
        if issues:
            raise_details("Query Error", issues)
        return dict(parsed)

    def json_body(self, schema: Schema) -> Any:
        """Read a builder body: empty, invalid JSON, falsy JSON and zod errors are 400s."""
        text = self.body_text()
        if text == "":
            fail(400, "Request body is empty")
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except ValueError:
            fail(400, "Invalid JSON")
        if data is None or data is False or data == 0 or data == "":
            fail(400, "Invalid JSON")
        parsed, issues = validate(schema, data)
        if issues:
            fail(400, validation_error_text(issues))
        return parsed


def _reject_constant(name: str) -> NoReturn:
    # JSON.parse knows no NaN / Infinity literals.
    raise ValueError(name)


def raise_details(error: str, issues: Sequence[Issue]) -> NoReturn:
    """400 ``{"error": "<Params|Query|Headers> Error", "details": [zod issues]}``."""
    fail(400, error, details=[issue.to_zod() for issue in issues])


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@attrs.frozen
class Route:
    """One endpoint.

    ``pattern`` uses ``{name}`` for one path segment and a final ``{name*}`` for the rest of
    the path. ``loader`` answers GET/HEAD, ``action`` every other method (or only
    ``action_methods`` when the route pins them). ``limiter`` names the rate-limit budget
    (``None``: not limited). ``cors`` enables the reflect-origin CORS behaviour.
    """

    pattern: str
    loader: Handler | None = None
    action: Handler | None = None
    action_methods: frozenset[str] | None = None
    # Legacy routes answer a wrong method with HTTP 200 and this object (a server quirk).
    legacy_wrong_method: bool = False
    cors: bool = False
    limiter: str | None = "api"

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        """Path parameters when the percent-encoded ``segments`` match, else ``None``."""
        parts = self.pattern.strip("/").split("/")
        params: dict[str, str] = {}
        for index, part in enumerate(parts):
            if part.startswith("{") and part.endswith("*}"):
                rest = segments[index:]
                if not rest or not "".join(rest):
                    return None
                params[part[1:-2]] = unquote("/".join(rest))
                return params
            if index >= len(segments):
                return None
            segment = unquote(segments[index])
            if part.startswith("{") and part.endswith("}"):
                if segment == "":
                    return None
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params if len(parts) == len(segments) else None
