"""Wire constants shared with the official TypeScript SDK (v4.8.3)."""

from __future__ import annotations

SDK_VERSION = "4.8.3"
API_VERSION = "2025-07-16"
DEFAULT_BASE_URL = "https://api.trigger.dev"
MISSING_TOKEN_MESSAGE = (
    "You need to set the TRIGGER_SECRET_KEY environment variable. "
    "See https://trigger.dev/docs/management/overview#authentication"
)
MACHINE_PRESETS = frozenset({"micro", "small-1x", "small-2x", "medium-1x", "medium-2x", "large-1x", "large-2x"})
RUN_STATUSES = frozenset(
    {
        "PENDING_VERSION",
        "QUEUED",
        "DEQUEUED",
        "EXECUTING",
        "WAITING",
        "COMPLETED",
        "CANCELED",
        "FAILED",
        "CRASHED",
        "SYSTEM_FAILURE",
        "DELAYED",
        "EXPIRED",
        "TIMED_OUT",
    }
)
