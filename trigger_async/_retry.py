"""Retry decisions, as pure functions of a response and the clock (no I/O here)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

import attrs

from ._config import RetryOptions

RETRYABLE_STATUSES = frozenset({408, 409, 429})


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a response with this status and these headers may be retried."""
    hint = headers.get("x-should-retry")
    if hint == "true":
        return True
    if hint == "false":
        return False
    return status in RETRYABLE_STATUSES or status >= 500


def backoff_delay(attempt: int, policy: RetryOptions, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    assert policy.min_timeout is not None and policy.factor is not None
    assert policy.max_timeout is not None
    scale = 1.0 + rng() if policy.randomize else 1.0
    try:
        growth = policy.factor ** (attempt - 1)
    except OverflowError:
        growth = math.inf
    delay = min(policy.max_timeout, scale * policy.min_timeout * growth) if policy.min_timeout else 0.0
    # The official client rounds to whole milliseconds.
    return round(delay * 1000) / 1000


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from ``now`` that a ``Retry-After`` header asks for (delta or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def ratelimit_reset_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until a future ``x-ratelimit-reset`` (an epoch in **milliseconds**)."""
    raw = headers.get("x-ratelimit-reset")
    if raw is None:
        return None
    text = raw.strip()
    # An epoch in milliseconds has 13 digits; anything absurdly long is not one.
    if len(text) > 20:
        return None
    try:
        reset_ms = int(text)
    except ValueError:
        return None
    wait = reset_ms / 1000 - now
    return wait if wait > 0 else None


@attrs.frozen
class Decision:
    """``retry`` with ``delay`` seconds, or give up (``retry`` false).

    ``server_wait`` is a wait the server asked for that exceeded ``max_retry_after``.
    """

    retry: bool
    delay: float = 0.0
    server_wait: float | None = None


GIVE_UP = Decision(retry=False)


def decide(
    attempt: int,
    policy: RetryOptions,
    *,
    status: int | None,
    headers: Mapping[str, str],
    now: float,
    rng: Callable[[], float] = random.random,
) -> Decision:
    """What to do after failed attempt ``attempt``; ``status`` is ``None`` for no response."""
    assert policy.max_attempts is not None and policy.max_retry_after is not None
    if attempt >= policy.max_attempts:
        return GIVE_UP
    if status is None:
        return Decision(retry=True, delay=backoff_delay(attempt, policy, rng))
    if not should_retry(status, headers):
        return GIVE_UP
    # The official client reads x-ratelimit-reset only on 429: the real server sends it on
    # every response, where it means "the bucket refills then", not "come back then".
    server_wait = ratelimit_reset_wait(headers, now) if status == 429 else None
    jitter = rng() if server_wait is not None else 0.0
    if server_wait is None:
        server_wait = parse_retry_after(headers.get("retry-after"), now)
    if server_wait is not None:
        if server_wait > policy.max_retry_after:
            return Decision(retry=False, server_wait=server_wait)
        return Decision(retry=True, delay=server_wait + jitter)
    return Decision(retry=True, delay=backoff_delay(attempt, policy, rng))
