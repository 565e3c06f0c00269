"""Typed results of the API (attrs, frozen, snake_case)."""

from __future__ import annotations

from .runs import (
    ListedRun,
    MachinePreset,
    RelatedRuns,
    RetrievedRun,
    Run,
    RunEnvironment,
    RunError,
    RunHandle,
    RunSchedule,
    RunStatus,
    ScheduleGenerator,
)

__all__ = [
    "ListedRun",
    "MachinePreset",
    "RelatedRuns",
    "RetrievedRun",
    "Run",
    "RunEnvironment",
    "RunError",
    "RunHandle",
    "RunSchedule",
    "RunStatus",
    "ScheduleGenerator",
]
