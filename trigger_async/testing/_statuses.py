"""Run status vocabulary: internal ``TaskRunStatus`` values and the two API dialects."""

from __future__ import annotations

from typing import Final

#: The only ``x-trigger-api-version`` value that selects the new status names.
NEW_API_VERSION: Final = "2025-07-16"

INTERNAL_STATUSES: Final = (
    "DELAYED",
    "PENDING",
    "PENDING_VERSION",
    "WAITING_FOR_DEPLOY",
    "DEQUEUED",
    "EXECUTING",
    "RETRYING_AFTER_FAILURE",
    "WAITING_TO_RESUME",
    "PAUSED",
    "COMPLETED_SUCCESSFULLY",
    "CANCELED",
    "COMPLETED_WITH_ERRORS",
    "INTERRUPTED",
    "SYSTEM_FAILURE",
    "CRASHED",
    "EXPIRED",
    "TIMED_OUT",
)

# internal -> (new dialect, legacy dialect)
_API_NAMES: Final = {
    "DELAYED": ("DELAYED", "DELAYED"),
    "PENDING": ("QUEUED", "QUEUED"),
    "PENDING_VERSION": ("PENDING_VERSION", "PENDING_VERSION"),
    "WAITING_FOR_DEPLOY": ("PENDING_VERSION", "WAITING_FOR_DEPLOY"),
    "DEQUEUED": ("DEQUEUED", "EXECUTING"),
    "EXECUTING": ("EXECUTING", "EXECUTING"),
    "RETRYING_AFTER_FAILURE": ("EXECUTING", "REATTEMPTING"),
    "WAITING_TO_RESUME": ("WAITING", "FROZEN"),
    "PAUSED": ("WAITING", "FROZEN"),
    "COMPLETED_SUCCESSFULLY": ("COMPLETED", "COMPLETED"),
    "CANCELED": ("CANCELED", "CANCELED"),
    "COMPLETED_WITH_ERRORS": ("FAILED", "FAILED"),
    "INTERRUPTED": ("FAILED", "INTERRUPTED"),
    "SYSTEM_FAILURE": ("SYSTEM_FAILURE", "SYSTEM_FAILURE"),
    "CRASHED": ("CRASHED", "CRASHED"),
    "EXPIRED": ("EXPIRED", "EXPIRED"),
    "TIMED_OUT": ("TIMED_OUT", "TIMED_OUT"),
}

FINAL_STATUSES: Final = frozenset(
    {
        "COMPLETED_SUCCESSFULLY",
        "CANCELED",
        "COMPLETED_WITH_ERRORS",
        "INTERRUPTED",
        "SYSTEM_FAILURE",
        "CRASHED",
        "EXPIRED",
        "TIMED_OUT",
    }
)

#: Final statuses that free a task idempotency key for a new run.
KEY_RELEASING_STATUSES: Final = frozenset(
    {"INTERRUPTED", "COMPLETED_WITH_ERRORS", "SYSTEM_FAILURE", "CRASHED", "TIMED_OUT", "EXPIRED"}
)

#: Statuses ``fail_run`` may set.
FAILURE_STATUSES: Final = frozenset({"COMPLETED_WITH_ERRORS", "INTERRUPTED", "SYSTEM_FAILURE", "CRASHED", "TIMED_OUT"})

#: Not started yet: the TTL clock applies.
UNSTARTED_STATUSES: Final = frozenset({"PENDING", "PENDING_VERSION", "WAITING_FOR_DEPLOY"})

# `filter[status]` accepts both dialects and maps them to internal statuses.
FILTER_STATUS_MAP: Final = {
    "PENDING_VERSION": ("PENDING_VERSION",),
    "WAITING_FOR_DEPLOY": ("WAITING_FOR_DEPLOY",),
    "QUEUED": ("PENDING",),
    "DEQUEUED": ("DEQUEUED",),
    "EXECUTING": ("EXECUTING",),
    "REATTEMPTING": ("RETRYING_AFTER_FAILURE",),
    "WAITING": ("WAITING_TO_RESUME",),
    "FROZEN": ("PAUSED", "WAITING_TO_RESUME"),
    "COMPLETED": ("COMPLETED_SUCCESSFULLY",),
    "CANCELED": ("CANCELED",),
    "FAILED": ("COMPLETED_WITH_ERRORS",),
    "INTERRUPTED": ("INTERRUPTED",),
    "CRASHED": ("CRASHED",),
    "SYSTEM_FAILURE": ("SYSTEM_FAILURE",),
    "DELAYED": ("DELAYED",),
    "EXPIRED": ("EXPIRED",),
    "TIMED_OUT": ("TIMED_OUT",),
}


def api_status(internal: str, new_vocabulary: bool) -> str:
    """The status name the API reports for an internal status."""
    new, legacy = _API_NAMES[internal]
    return new if new_vocabulary else legacy


def status_flags(status: str) -> dict[str, bool]:
    """The boolean helpers, computed from the *API* status as the presenter does."""
    completed = status in {
        "COMPLETED",
        "CANCELED",
        "FAILED",
        "CRASHED",
        "INTERRUPTED",
        "SYSTEM_FAILURE",
    }
    return {
        "isQueued": status in {"QUEUED", "WAITING_FOR_DEPLOY", "DELAYED", "PENDING_VERSION"},
        "isExecuting": status in {"EXECUTING", "REATTEMPTING", "FROZEN", "DEQUEUED"},
        "isWaiting": status == "WAITING",
        "isCompleted": completed,
        "isSuccess": status == "COMPLETED",
        "isFailed": completed and status != "COMPLETED",
        "isCancelled": status == "CANCELED",
    }
