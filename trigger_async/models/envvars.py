"""Environment variables returned by ``envvars.*``."""

from __future__ import annotations

import attrs

__all__ = ["EnvVar"]


@attrs.frozen
class EnvVar:
    """An environment variable; secret values come back as ``<redacted>``."""

    name: str
    value: str
    is_secret: bool = False
