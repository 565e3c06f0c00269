"""Pytest fixtures for the emulator (registered as the ``trigger_async`` pytest11 plugin).

The fixtures yield a started ``ThreadedEmulator``: it serves from its own thread, so it works
from synchronous tests and from any event loop a test framework creates. No asyncio plugin is
required.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._emulator import ThreadedEmulator


@pytest.fixture
def trigger_emulator() -> Iterator[ThreadedEmulator]:
    """A fresh emulator for one test."""
    with ThreadedEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def trigger_emulator_session() -> Iterator[ThreadedEmulator]:
    """One emulator shared by the whole test session (state carries over between tests)."""
    with ThreadedEmulator() as emulator:
        yield emulator
