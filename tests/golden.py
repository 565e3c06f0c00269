"""The golden files of the official SDK, for the Python-side replay (``tests/test_golden.py``).

Everything lives in ``tests/conformance`` (shared with the conformance suite): where the
goldens are (``goldens.GOLDEN_DIR``, overridable with ``TRIGGER_ASYNC_GOLDEN_DIR``), how a
golden case becomes server answers and expected requests (``goldens``), the one mapping of
an official-SDK call to ours (``calls``), and the comparisons (``compare``). This module
re-exports what the replay needs.
"""

from __future__ import annotations

from .conformance import calls, compare, goldens
from .conformance.goldens import GOLDEN_DIR, available, load
from .conformance.harness import Run, run_ours
from .conformance.server import CaseServers, Recorded

__all__ = [
    "GOLDEN_DIR",
    "CaseServers",
    "Recorded",
    "Run",
    "available",
    "calls",
    "compare",
    "goldens",
    "load",
    "run_ours",
]
