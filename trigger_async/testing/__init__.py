"""A local emulator of the Trigger.dev management API, for tests and demos.

``Emulator`` serves an ``aiohttp.web`` app on the running event loop; ``ThreadedEmulator``
serves it from a background thread for synchronous code and tests that start several event
loops. Both record every request, can script faults (``inject``), and expose controls that
move runs through their lifecycle. ``python -m trigger_async.testing serve`` runs it from the
command line; the ``trigger_emulator`` pytest fixture comes from
``trigger_async.testing.pytest_plugin``.

The emulator answers like the real server: status codes, error texts, headers and response
shapes (see the module docs of ``trigger_async.testing._app`` for the request pipeline).
"""

from __future__ import annotations

from ._emulator import (
    DEV_KEY,
    PREVIEW_KEY,
    PROD_KEY,
    STAGING_KEY,
    Emulator,
    ThreadedEmulator,
)
from ._models import InjectedResponse, RecordedRequest
from ._store import PROJECT_REF

__all__ = [
    "DEV_KEY",
    "PREVIEW_KEY",
    "PROD_KEY",
    "PROJECT_REF",
    "STAGING_KEY",
    "Emulator",
    "InjectedResponse",
    "RecordedRequest",
    "ThreadedEmulator",
]
