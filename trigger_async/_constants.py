"""Wire constants shared with the official TypeScript SDK (v4.8.3)."""

from __future__ import annotations

from typing import get_args

from .models.runs import MachinePreset, RunStatus

SDK_VERSION = "4.8.3"
API_VERSION = "2025-07-16"
DEFAULT_BASE_URL = "https://api.trigger.dev"
MISSING_TOKEN_MESSAGE = (
    "You need to set the TRIGGER_SECRET_KEY environment variable. "
    "See https://trigger.dev/docs/management/overview#authentication"
)
MACHINE_PRESETS = frozenset(get_args(MachinePreset))
RUN_STATUSES = frozenset(get_args(RunStatus))
