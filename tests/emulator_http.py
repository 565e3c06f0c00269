"""The raw HTTP call the emulator tests share: send exactly what is written, parse the answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp
import yarl

Answer = tuple[int, Any, Mapping[str, str]]


async def fetch(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """``(status, parsed JSON or text or None, headers)``; the path and query are sent unquoted."""
    target = yarl.URL(url, encoded=True)
    async with session.request(method, target, data=data, headers=dict(headers or {}), allow_redirects=False) as resp:
        raw = await resp.read()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode()
        return resp.status, parsed, resp.headers
