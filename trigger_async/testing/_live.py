"""Live state behind the realtime endpoints: Electric shapes over runs, and run streams.

A shape is one subscription's view of the ``TaskRun`` table: its definition (which runs, which
columns), the rows it has published and a log of the changes since. Offsets are positions in
one log sequence number counter shared by every shape (``<n>_0`` on the wire); a shape's
snapshot is its current rows at its latest offset, a follow-up gets the log entries after
the offset it sends.

``sync`` finds what changed: it rebuilds the row of every run, compares it with the row last
seen, and logs an ``insert`` (a run entering a shape), an ``update`` (the changed columns
plus ``id``, Electric's default replica mode) or a ``delete`` (a run leaving a shape) in every
shape concerned. The app calls it after each request and the emulator's controls after each
change, so whatever moved a run (a trigger, a control, a cancel, a lazy time-driven
transition...) reaches the shapes without hooks in the engine. It costs one row per run and
only runs while shapes exist; shapes nobody asked about for ``SHAPE_IDLE_S`` are dropped (a
later request with their handle gets the 409 of a rotated shape).

Waiting requests (live long-polls and open streams) sleep on one ``asyncio.Event`` that is
swapped for a new one on every change; a woken waiter re-checks its own shape or stream.
Everything runs on the emulator's event loop; ``notify`` hops onto it when called from
another thread.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import re
import time
from collections.abc import Iterator
from typing import Any, Final

import attrs

from ._packets import js_json
from ._presenters import raw_row
from ._store import Run, Store
from ._timeutil import Clock

#: Shapes without a request or a waiter for this long are forgotten (their handles then 409).
SHAPE_IDLE_S: Final = 300.0

_EVENT_ID: Final = re.compile(r"^(\d+)(?:-(\d+))?$")

# A stream event id as Redis orders them: (milliseconds, sequence).
EventId = tuple[int, int]


def row_key(internal_id: str) -> str:
    """The Electric key of a ``TaskRun`` row."""
    return f'"public"."TaskRun"/"{internal_id}"'


def parse_event_id(text: str | None) -> EventId | None:
    """``<ms>-<seq>`` (or a bare ``<ms>``) as Redis reads it; ``None`` when not one."""
    match = _EVENT_ID.match(text.strip()) if text else None
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


@attrs.frozen
class ShapeDefinition:
    """Which runs a shape holds (``kind``: ``run``, ``runs`` for tags, ``batch``) and the
    columns it leaves out. ``created_after`` (tag shapes) is pinned when the shape is made."""

    env_id: str
    kind: str
    target: str | None = None
    tags: tuple[str, ...] = ()
    skip: frozenset[str] = frozenset()
    created_after: int | None = None

    @property
    def identity(self) -> tuple[str, str, str | None, tuple[str, ...], frozenset[str]]:
        """What a follow-up request must repeat to keep using a shape (not the pinned window)."""
        return self.env_id, self.kind, self.target, self.tags, self.skip

    def matches(self, run: Run) -> bool:
        """Whether ``run`` belongs to the shape."""
        if self.kind == "run":
            return run.id == self.target
        if run.env.id != self.env_id:
            return False
        if self.kind == "batch":
            return run.batch_id == self.target
        if self.created_after is not None and run.created_at <= self.created_after:
            return False
        # `"runTags" @> ARRAY[...]`: the run has every tag asked for.
        return all(tag in run.tags for tag in self.tags)

    def project(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row without the skipped columns."""
        if not self.skip:
            return row
        return {column: value for column, value in row.items() if column not in self.skip}


@attrs.frozen
class Change:
    """One logged change message of a shape."""

    offset: int
    key: str
    operation: str
    value: dict[str, Any]


@attrs.define(eq=False)
class Shape:
    """A shape: its rows as last published (by run id) and the changes logged since creation."""

    handle: str
    definition: ShapeDefinition
    offset: int
    last_used: float
    rows: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    log: list[Change] = attrs.field(factory=list)
    waiters: int = 0

    def changes_after(self, offset: int) -> list[Change]:
        """The logged changes after ``offset``, oldest first."""
        start = bisect.bisect_right(self.log, offset, key=lambda change: change.offset)
        return self.log[start:]


@attrs.define(eq=False)
class RunStream:
    """A realtime stream of a run: JSON chunks with Redis-style ids, open until closed."""

    events: list[tuple[EventId, str]] = attrs.field(factory=list)
    closed: bool = False

    def position_after(self, event_id: EventId | None) -> int:
        """The index of the first event after ``event_id`` (0 for ``None``)."""
        if event_id is None:
            return 0
        return bisect.bisect_right(self.events, event_id, key=lambda event: event[0])


class LiveHub:
    """Shapes, streams and the waiters of one emulator."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._shapes: dict[str, Shape] = {}
        # The full row of every run as the last sync saw it (kept only while shapes exist).
        self._seen: dict[str, dict[str, Any]] = {}
        # run id -> its ``number``: the run's position among its task's runs in its environment.
        self._numbers: dict[str, int] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._streams: dict[tuple[str, str], RunStream] = {}
        # run id -> stream keys, in creation order (the ``realtimeStreams`` column)
        self._run_streams: dict[str, list[str]] = {}
        self._lsn = 0
        self._handles = itertools.count(1)
        self._cursor = 0
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closing = False

    # lifecycle ------------------------------------------------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve waiters on ``loop`` (called when the emulator starts)."""
        self._loop = loop
        self.closing = False

    def shutdown(self) -> None:
        """Answer every held request now: long-polls with up-to-date, streams end."""
        self.closing = True
        self._wake()

    def notify(self) -> None:
        """Wake every waiter so it re-checks its shape or stream (thread-safe)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                loop.call_soon_threadsafe(self._wake)
                return
        self._wake()

    def _wake(self) -> None:
        event, self._event = self._event, None
        if event is not None:
            event.set()

    async def wait(self, timeout: float) -> bool:
        """Sleep until the next change (``True``) or for ``timeout`` seconds (``False``)."""
        if self.closing:
            return True
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), max(timeout, 0.0))
        except asyncio.TimeoutError:
            return False
        return True

    def next_cursor(self) -> str:
        """A fresh ``electric-cursor`` value (the client echoes it; it only busts caches)."""
        self._cursor += 1
        return str(self._cursor)

    # rows -----------------------------------------------------------------------------------

    def _number(self, run: Run) -> int:
        number = self._numbers.get(run.id)
        if number is None:
            # Number every run not numbered yet, in creation order, so numbers follow it.
            for other in self._store.runs.values():
                if other.id not in self._numbers:
                    counter = (other.env.id, other.task_identifier)
                    self._counters[counter] = self._counters.get(counter, 0) + 1
                    self._numbers[other.id] = self._counters[counter]
            number = self._numbers.get(run.id, 0)
        return number

    def row(self, run: Run) -> dict[str, Any]:
        """The run's full raw row as of now."""
        return raw_row(run, number=self._number(run), streams=self._run_streams.get(run.id, ()))

    # shapes ---------------------------------------------------------------------------------

    def shape(self, handle: str) -> Shape | None:
        """The live shape with this handle."""
        shape = self._shapes.get(handle)
        if shape is not None:
            shape.last_used = time.monotonic()
        return shape

    def _candidates(self, definition: ShapeDefinition) -> Iterator[Run]:
        if definition.kind == "run":
            run = self._store.runs.get(definition.target or "")
            if run is not None:
                yield run
            return
        yield from self._store.runs.values()

    def new_shape(self, definition: ShapeDefinition) -> Shape:
        """A fresh shape holding the runs that match ``definition`` now."""
        self.sync()
        handle = f"{next(self._handles)}-{self._clock.now_ms()}"
        shape = Shape(handle, definition, self._lsn, time.monotonic())
        for run in self._candidates(definition):
            if definition.matches(run):
                shape.rows[run.id] = definition.project(self.row(run))
        self._shapes[handle] = shape
        return shape

    def snapshot_shape(self, definition: ShapeDefinition, handle: str | None) -> Shape:
        """The shape an ``offset=-1`` request reads: the one its handle names when that is the
        same definition (after a 409), else one with exactly this definition, else a new one."""
        named = self.shape(handle) if handle else None
        if named is not None and named.definition.identity == definition.identity:
            return named
        for shape in self._shapes.values():
            if shape.definition == definition:
                shape.last_used = time.monotonic()
                return shape
        return self.new_shape(definition)

    def rotate(self) -> None:
        """Forget every shape: requests with their handles get 409 must-refetch."""
        self._shapes.clear()
        self._seen.clear()
        self.notify()

    def sync(self) -> None:
        """Log what changed in every shape since the last sync, and wake waiters if anything did."""
        if not self._shapes:
            self._seen.clear()
            return
        self._forget_idle(time.monotonic())
        changed: list[tuple[Run, dict[str, Any]]] = []
        for run in self._store.runs.values():
            row = self.row(run)
            if self._seen.get(run.id) != row:
                self._seen[run.id] = row
                changed.append((run, row))
        logged = False
        for shape in self._shapes.values():
            for run, row in changed:
                logged = self._apply(shape, run, row) or logged
        if logged:
            self.notify()

    def _apply(self, shape: Shape, run: Run, row: dict[str, Any]) -> bool:
        definition = shape.definition
        previous = shape.rows.get(run.id)
        key = row_key(row["id"])
        if definition.matches(run):
            current = definition.project(row)
            if previous is None:
                operation, value = "insert", current
            elif previous != current:
                operation = "update"
                value = {"id": current["id"]}
                value.update((column, v) for column, v in current.items() if previous.get(column) != v)
            else:
                return False
            shape.rows[run.id] = current
        elif previous is not None:
            del shape.rows[run.id]
            operation, value = "delete", {"id": previous["id"]}
        else:
            return False
        self._lsn += 1
        shape.log.append(Change(self._lsn, key, operation, value))
        shape.offset = self._lsn
        return True

    def _forget_idle(self, now: float) -> None:
        idle = [h for h, s in self._shapes.items() if s.waiters == 0 and now - s.last_used > SHAPE_IDLE_S]
        for handle in idle:
            del self._shapes[handle]

    async def changes_after(self, shape: Shape, offset: int, timeout: float) -> list[Change] | None:
        """A live request: the changes after ``offset``, waiting up to ``timeout`` seconds for
        one (``[]`` when none came). ``None`` when the shape was rotated meanwhile.

        While waiting it also wakes for the delays and TTLs that move runs by themselves.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        shape.waiters += 1
        try:
            while True:
                if self._shapes.get(shape.handle) is not shape:
                    return None
                changes = shape.changes_after(offset)
                if changes or self.closing:
                    return changes
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                due = self._store.next_transition_ms()
                if due is not None:
                    remaining = min(remaining, max(due - self._clock.now_ms(), 0) / 1000 + 0.001)
                if not await self.wait(remaining):
                    self._store.advance()
                    self.sync()
        finally:
            shape.waiters -= 1
            shape.last_used = time.monotonic()

    # streams --------------------------------------------------------------------------------

    def peek_stream(self, run_id: str, key: str) -> RunStream | None:
        """The stream ``key`` of a run, if anything was appended to it or it was closed."""
        return self._streams.get((run_id, key))

    def stream(self, run_id: str, key: str) -> RunStream:
        """The stream ``key`` of a run, created (empty and open) on first use."""
        stream = self._streams.get((run_id, key))
        if stream is None:
            stream = RunStream()
            self._streams[(run_id, key)] = stream
            self._run_streams.setdefault(run_id, []).append(key)
        return stream

    def append(self, run_id: str, key: str, chunk: Any) -> str:
        """Add a JSON chunk to a stream; returns its event id ``<ms>-<seq>``."""
        data = js_json(chunk)
        stream = self.stream(run_id, key)
        if stream.closed:
            raise ValueError(f"the stream {key!r} of {run_id} is closed")
        now = self._clock.now_ms()
        if stream.events and stream.events[-1][0][0] >= now:
            last_ms, last_seq = stream.events[-1][0]
            event_id = (last_ms, last_seq + 1)
        else:
            event_id = (now, 0)
        stream.events.append((event_id, data))
        self.sync()
        self.notify()
        return f"{event_id[0]}-{event_id[1]}"

    def close_stream(self, run_id: str, key: str) -> None:
        """Close a stream (an unknown one is created closed): readers finish."""
        self.stream(run_id, key).closed = True
        self.sync()
        self.notify()
