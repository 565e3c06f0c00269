"""The state one emulator instance owns."""

from __future__ import annotations

from collections import deque

import attrs

from ._live import LiveHub
from ._models import InjectedResponse, RecordedRequest
from ._ratelimit import RateLimiter
from ._store import Store
from ._timeutil import Clock


@attrs.frozen
class Settings:
    """Behaviour switches chosen when the emulator is created."""

    dedupe_request_idempotency: bool = False
    rate_limit: bool = False
    batch_idempotency_cached: bool = False
    # How long a live realtime request waits for a change before answering up-to-date.
    realtime_poll_timeout: float = 20.0


class State:
    """Settings, clock, store, limiter, realtime hub, recorded requests and pending injections."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = Clock()
        self.store = Store(self.clock)
        self.limiter = RateLimiter(enabled=settings.rate_limit)
        self.live = LiveHub(self.store, self.clock)
        self.requests: list[RecordedRequest] = []
        self.injections: dict[tuple[str, str], deque[InjectedResponse]] = {}

    def inject(self, method: str, path: str, responses: tuple[InjectedResponse, ...]) -> None:
        """Queue scripted answers for ``method`` + decoded ``path``."""
        self.injections.setdefault((method.upper(), path), deque()).extend(responses)

    def take_injection(self, method: str, path: str) -> InjectedResponse | None:
        """The next scripted answer for this request, if any."""
        queue = self.injections.get((method.upper(), path))
        if not queue:
            return None
        response = queue.popleft()
        if not queue:
            del self.injections[(method.upper(), path)]
        return response
