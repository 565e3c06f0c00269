"""Public value types of the emulator: recorded requests and scripted responses."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

#: A header value of an injected response: a string, or a callable evaluated when answering.
HeaderValue = str | Callable[[], str]


@attrs.frozen
class RecordedRequest:
    """One request as the emulator received it.

    ``path`` is percent-decoded; ``raw_path`` and ``query_string`` are exactly as sent.
    ``headers`` has lower-cased names, repeated headers joined with ``", "``.
    ``arrived_at`` is ``time.monotonic()`` when the request reached the emulator.
    """

    method: str
    path: str
    raw_path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    arrived_at: float

    def json(self) -> Any:
        """The body decoded as JSON (``None`` for an empty body)."""
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))

    def ndjson(self) -> list[Any]:
        """The body decoded as newline-delimited JSON (blank lines skipped)."""
        return [json.loads(line) for line in self.body.decode("utf-8").splitlines() if line.strip()]


def _headers_converter(value: Mapping[str, HeaderValue] | None) -> Mapping[str, HeaderValue]:
    return dict(value or {})


@attrs.frozen
class InjectedResponse:
    """A scripted answer, used once, instead of the emulator's normal handling.

    ``body`` is JSON-encoded unless it is ``bytes`` or ``str``; ``None`` sends no body.
    ``headers`` values may be zero-argument callables, evaluated when the answer is sent
    (after ``delay``), e.g. to compute an ``x-ratelimit-reset`` relative to that moment.
    ``drop_connection`` closes the socket without answering (after ``delay``).
    """

    status: int
    body: Any = None
    headers: Mapping[str, HeaderValue] = attrs.field(factory=dict, converter=_headers_converter)
    delay: float = 0.0
    drop_connection: bool = False
