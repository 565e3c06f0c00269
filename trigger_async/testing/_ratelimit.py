"""The API rate limiter: a token bucket per environment, a fixed window per public token.

Disabled (the default), every request sees a full bucket, so the headers are always present
and realistic but nothing is ever refused.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from ._validation import js_number_text

API_MAX_TOKENS: Final = 750
API_REFILL_TOKENS: Final = 250
API_REFILL_INTERVAL_MS: Final = 10_000
JWT_WINDOW_TOKENS: Final = 60
JWT_WINDOW_MS: Final = 60_000
DEPLOYMENT_MAX_TOKENS: Final = 1500
DEPLOYMENT_REFILL_TOKENS: Final = 500
BATCH_MAX_TOKENS: Final = 1200
BATCH_REFILL_TOKENS: Final = 100
REFILL_INTERVAL_MS: Final = 10_000


@attrs.frozen
class Outcome:
    """One limiter decision and the header values it produces."""

    allowed: bool
    limit: int
    remaining: int  # raw: -1 when refused
    reset_ms: int

    def headers(self) -> dict[str, str]:
        """``x-ratelimit-*`` headers (reset in epoch milliseconds)."""
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(max(0, self.remaining)),
            "x-ratelimit-reset": str(self.reset_ms),
        }

    def problem(self, now_ms: int) -> dict[str, Any]:
        """The 429 ``application/problem+json`` body."""
        seconds = max(0.0, (self.reset_ms - now_ms) / 1000)
        detail = (
            f"Rate limit exceeded {max(0, self.remaining)}/{self.limit} requests remaining. "
            f"Retry in {js_number_text(seconds)} seconds."
        )
        return {
            "title": "Rate Limit Exceeded",
            "status": 429,
            "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/429",
            "detail": detail,
            "reset": self.reset_ms,
            "limit": self.limit,
            "remaining": self.remaining,
            "secondsUntilReset": int(seconds) if seconds.is_integer() else seconds,
            "error": detail,
        }


UNAUTHORIZED_PROBLEM: Final = {
    "title": "Unauthorized",
    "status": 401,
    "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/401",
    "detail": "No authorization header provided",
    "error": "No authorization header provided",
}


class TokenBucket:
    """Upstash-style token bucket: starts full, refills whole intervals at a time."""

    def __init__(self, max_tokens: int, refill: int, interval_ms: int) -> None:
        self.max_tokens = max_tokens
        self.refill = refill
        self.interval_ms = interval_ms
        self._buckets: dict[str, tuple[int, int]] = {}  # key -> (tokens, refilled_at)

    def take(self, key: str, now_ms: int, cost: int = 1) -> Outcome:
        """Consume ``cost`` tokens if available."""
        tokens, refilled_at = self._buckets.get(key, (self.max_tokens, now_ms))
        if now_ms >= refilled_at + self.interval_ms:
            intervals = (now_ms - refilled_at) // self.interval_ms
            tokens = min(self.max_tokens, tokens + intervals * self.refill)
            refilled_at += intervals * self.interval_ms
        reset = refilled_at + self.interval_ms
        if tokens < cost:
            self._buckets[key] = (tokens, refilled_at)
            return Outcome(False, self.max_tokens, -1, reset)
        tokens -= cost
        self._buckets[key] = (tokens, refilled_at)
        return Outcome(True, self.max_tokens, tokens, reset)

    def peek_full(self, now_ms: int, cost: int = 1) -> Outcome:
        """What a fresh bucket answers (used when limiting is off)."""
        return Outcome(True, self.max_tokens, self.max_tokens - cost, now_ms + self.interval_ms)


class FixedWindow:
    """A fixed window counter (public access tokens: 60 requests per minute)."""

    def __init__(self, tokens: int, window_ms: int) -> None:
        self.tokens = tokens
        self.window_ms = window_ms
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window start, used)

    def take(self, key: str, now_ms: int) -> Outcome:
        """Count one request in the current window."""
        start = now_ms - now_ms % self.window_ms
        window, used = self._counts.get(key, (start, 0))
        if window != start:
            used = 0
        reset = start + self.window_ms
        if used >= self.tokens:
            return Outcome(False, self.tokens, -1, reset)
        used += 1
        self._counts[key] = (start, used)
        return Outcome(True, self.tokens, self.tokens - used, reset)

    def peek_full(self, now_ms: int) -> Outcome:
        """What an unused window answers (used when limiting is off)."""
        start = now_ms - now_ms % self.window_ms
        return Outcome(True, self.tokens, self.tokens - 1, start + self.window_ms)


class RateLimiter:
    """The ``api`` and ``deployment`` budgets, public-token windows and the batch item quota."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.api = TokenBucket(API_MAX_TOKENS, API_REFILL_TOKENS, API_REFILL_INTERVAL_MS)
        self.deployment = TokenBucket(DEPLOYMENT_MAX_TOKENS, DEPLOYMENT_REFILL_TOKENS, REFILL_INTERVAL_MS)
        self.jwt = FixedWindow(JWT_WINDOW_TOKENS, JWT_WINDOW_MS)
        #: Consumed by ``POST /api/v3/batches`` (``runCount`` tokens per batch, per environment).
        self.batch = TokenBucket(BATCH_MAX_TOKENS, BATCH_REFILL_TOKENS, REFILL_INTERVAL_MS)

    def check(self, key: str, *, public_token: bool, now_ms: int, budget: str = "api") -> Outcome:
        """Decide one request of the bucket ``key`` against the ``api`` or ``deployment`` budget."""
        if public_token:
            return self.jwt.take(key, now_ms) if self.enabled else self.jwt.peek_full(now_ms)
        bucket = self.deployment if budget == "deployment" else self.api
        return bucket.take(key, now_ms) if self.enabled else bucket.peek_full(now_ms)
