"""Deployments returned by ``deployments.*``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

__all__ = ["Deployment", "DeploymentError"]


@attrs.frozen
class DeploymentError:
    name: str
    message: str
    stack: str | None = None
    stderr: str | None = None


@attrs.frozen(kw_only=True)
class Deployment:
    id: str
    created_at: datetime
    short_code: str
    version: str
    status: str
    runtime: str | None = None
    runtime_version: str | None = None
    deployed_at: datetime | None = None
    git: dict[str, Any] | None = None
    error: DeploymentError | None = None
    external_id: str | None = None
