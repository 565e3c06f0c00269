from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from trigger_async import RequestOptions, RetryOptions
from trigger_async._context import reset_configuration

ENV_VARS = (
    "TRIGGER_SECRET_KEY",
    "TRIGGER_ACCESS_TOKEN",
    "TRIGGER_RUN_TOKEN",
    "TRIGGER_API_URL",
    "TRIGGER_PREVIEW_BRANCH",
    "VERCEL_GIT_COMMIT_REF",
    "TRIGGER_DEV_BRANCH",
    "TRIGGER_VERSION",
    "TRIGGER_EXTERNAL_DEPLOYMENT_ID",
    "TRIGGER_V2_REALTIME_STREAMS",
    "TRIGGER_REALTIME_STREAMS_V2",
)

# The field reports' "fast retry config": 3 attempts, 10 ms x 2, capped at 100 ms.
FAST_RETRY = RetryOptions(max_attempts=3, min_timeout=0.01, factor=2, max_timeout=0.1, randomize=False)
FAST = RequestOptions(retry=FAST_RETRY)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts with no Trigger.dev env vars and no configure()."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    reset_configuration()
    yield
    reset_configuration()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session for tests that speak raw HTTP to the emulator."""
    async with aiohttp.ClientSession() as client:
        yield client
