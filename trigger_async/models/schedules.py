"""Schedules returned by ``schedules.*``."""

from __future__ import annotations

from datetime import datetime

import attrs

from .runs import ScheduleGenerator

__all__ = ["AppliedSchedulePolicy", "Schedule", "ScheduleEnvironment", "ScheduleGenerator"]


@attrs.frozen
class ScheduleEnvironment:
    id: str
    type: str
    user_name: str | None = None


@attrs.frozen
class AppliedSchedulePolicy:
    minimum_window_seconds: float
    reason: str


@attrs.frozen(kw_only=True)
class Schedule:
    """A cron schedule of a task, with the environments it runs in."""

    id: str
    type: str
    task: str
    active: bool
    generator: ScheduleGenerator
    timezone: str
    environments: list[ScheduleEnvironment] = attrs.field(factory=list)
    deduplication_key: str | None = None
    external_id: str | None = None
    window: str | None = None
    next_run: datetime | None = None
    next_run_effective_at: datetime | None = None
    applied_schedule_policy: AppliedSchedulePolicy | None = None
