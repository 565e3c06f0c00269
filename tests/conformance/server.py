"""Recording servers for the conformance suite (aiohttp.web on 127.0.0.1).

Each case gets fresh servers (``A``, and ``B`` when the case needs a second base URL) that
share one log: every request is recorded with its method, raw path, raw query, headers and
body, and answered from the case's script.

A script is a list of answers; each may restrict itself to a ``server``, a ``method``, a ``path``
(exact raw path) or ``path_re`` (regular expression, full match, on the raw path), and is
used ``times`` times (default 1; ``None`` = always). A request takes the first answer with
uses left that matches; when none has uses left, the last matching one is used again. An
unmatched request gets ``500 {"error": "unscripted request"}`` with ``x-should-retry: false``.

An answer holds ``status`` (default 200), ``headers``, and ``body`` (JSON) or ``text`` (raw),
or ``drop: true`` (the socket is closed without an answer). Strings in headers and bodies may
use ``{{A}}`` / ``{{B}}`` (the servers' base URLs), ``{{packet}}`` (the ``packet_…`` id in
the request path) and ``{{epoch_ms+N}}`` (now + N ms).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import attrs
from aiohttp import web

PACKET_ID = re.compile(r"packet_[0-9a-z]{21}")
_EPOCH = re.compile(r"\{\{epoch_ms\+(\d+)\}\}")
_SKIPPED_ANSWER_HEADERS = {"content-length", "connection", "keep-alive", "date", "transfer-encoding"}


@attrs.define
class Recorded:
    """One request as it arrived."""

    server: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    arrived: float

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "arrived": self.arrived,
        }


@attrs.define
class _Slot:
    spec: Mapping[str, Any]
    left: int | None

    def matches(self, server: str, method: str, path: str) -> bool:
        if "server" in self.spec and self.spec["server"] != server:
            return False
        if "method" in self.spec and self.spec["method"] != method:
            return False
        if "path" in self.spec and self.spec["path"] != path:
            return False
        return not ("path_re" in self.spec and re.fullmatch(self.spec["path_re"], path) is None)


class Script:
    """Answers of one case, shared by its servers."""

    def __init__(self, answers: Sequence[Mapping[str, Any]]) -> None:
        self.slots = [_Slot(answer, answer.get("times", 1)) for answer in answers]
        self.unscripted: list[str] = []

    def pick(self, server: str, method: str, path: str) -> Mapping[str, Any] | None:
        last = None
        for slot in self.slots:
            if not slot.matches(server, method, path):
                continue
            if slot.left is None or slot.left > 0:
                if slot.left is not None:
                    slot.left -= 1
                return slot.spec
            last = slot
        if last is not None:
            return last.spec
        self.unscripted.append(f"{method} {path}")
        return None


class RecordingServer:
    def __init__(self, label: str, log: list[Recorded], script: Script, urls: dict[str, str]) -> None:
        self.label = label
        self.log = log
        self.script = script
        self.urls = urls
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        path, _, query = request.raw_path.partition("?")
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self.log.append(Recorded(self.label, request.method, path, query, headers, body, time.monotonic()))
        answer = self.script.pick(self.label, request.method, path)
        if answer is None:
            return web.json_response(
                {"error": f"unscripted request {request.method} {path}"},
                status=500,
                headers={"x-should-retry": "false"},
            )
        if answer.get("delay_ms"):
            await asyncio.sleep(answer["delay_ms"] / 1000)
        if answer.get("drop"):
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        packet = PACKET_ID.search(path)

        def fill(text: str) -> str:
            text = text.replace("{{A}}", self.urls.get("A", "")).replace("{{B}}", self.urls.get("B", ""))
            if packet is not None:
                text = text.replace("{{packet}}", packet.group(0))
            return _EPOCH.sub(lambda m: str(int(time.time() * 1000) + int(m.group(1))), text)

        out_headers = {
            name: fill(str(value))
            for name, value in (answer.get("headers") or {}).items()
            if name.lower() not in _SKIPPED_ANSWER_HEADERS
        }
        if "text" in answer:
            payload = fill(answer["text"])
        elif "body" in answer:
            payload = fill(json.dumps(answer["body"], ensure_ascii=False))
            out_headers.setdefault("content-type", "application/json")
        else:
            payload = ""
        return web.Response(status=answer.get("status", 200), body=payload.encode("utf-8"), headers=out_headers)


class CaseServers:
    """The servers of one case (``A`` and optionally ``B``) with one shared log."""

    def __init__(self, answers: Sequence[Mapping[str, Any]], labels: Sequence[str] = ("A",)) -> None:
        self.log: list[Recorded] = []
        self.script = Script(answers)
        self.urls: dict[str, str] = {}
        self._servers = [RecordingServer(label, self.log, self.script, self.urls) for label in labels]

    async def start(self) -> CaseServers:
        for server in self._servers:
            self.urls[server.label] = await server.start()
        return self

    async def close(self) -> None:
        for server in self._servers:
            await server.close()

    async def __aenter__(self) -> CaseServers:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def fill(self, value: Any) -> Any:
        """``{{A}}`` / ``{{B}}`` in every string of ``value`` replaced by the base URLs."""
        if isinstance(value, str):
            return value.replace("{{A}}", self.urls.get("A", "")).replace("{{B}}", self.urls.get("B", ""))
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        return value


class ServerThread:
    """An event loop on a background thread hosting many ``CaseServers`` (for the Node run,
    which happens in a subprocess while the test's own loop is not running)."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="conformance-servers", daemon=True)
        self._thread.start()

    def run(self, coroutine: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout=60)

    def start(self, answers: Sequence[Mapping[str, Any]], labels: Sequence[str] = ("A",)) -> CaseServers:
        return self.run(CaseServers(answers, labels).start())  # type: ignore[no-any-return]

    def snapshot(self, servers: CaseServers) -> list[Recorded]:
        async def copy() -> list[Recorded]:
            return list(servers.log)

        return self.run(copy())  # type: ignore[no-any-return]

    def close(self, servers: Sequence[CaseServers]) -> None:
        async def close_all() -> None:
            for item in servers:
                await item.close()

        try:
            self.run(close_all())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
