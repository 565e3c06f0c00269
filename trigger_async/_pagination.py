"""Pages and pagers: ``await`` a pager for one page, ``async for`` over it for every item."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

import attrs

from .errors import TriggerError

__all__ = ["CursorPage", "CursorPager", "NoMorePagesError", "OffsetPage", "OffsetPager", "Page"]

T = TypeVar("T")
Where = TypeVar("Where")
PageT = TypeVar("PageT", bound="Page[Any]")


class NoMorePagesError(TriggerError):
    """``get_next_page()`` / ``get_previous_page()`` with no page in that direction."""


class Page(Generic[T]):
    """One page of a list: the items are in ``data``.

    ``async for item in page`` yields this page's items and then those of every following
    page; ``iter_pages()`` yields the pages themselves.
    """

    data: list[T]

    def has_next_page(self) -> bool:
        raise NotImplementedError

    def has_previous_page(self) -> bool:
        raise NotImplementedError

    async def get_next_page(self: PageT) -> PageT:
        raise NotImplementedError

    async def get_previous_page(self: PageT) -> PageT:
        raise NotImplementedError

    async def iter_pages(self: PageT) -> AsyncIterator[PageT]:
        """This page, then each following page."""
        page = self
        yield page
        while page.has_next_page():
            page = await page.get_next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item


class _Pager(Generic[Where, PageT]):
    """What a ``list()`` call returns before any request is made.

    ``page = await pager`` fetches the first page; ``async for item in pager`` yields every
    item across all pages. Bad arguments were already rejected when ``list()`` was called.
    The pager is awaitable but not a coroutine (wrap it in one for ``asyncio.create_task``).
    """

    def __init__(self, fetch: Callable[[Where], Awaitable[PageT]], start: Where) -> None:
        self._fetch = fetch
        self._start = start

    def __await__(self) -> Generator[Any, None, PageT]:
        return self._fetch(self._start).__await__()

    async def iter_pages(self) -> AsyncIterator[PageT]:
        page = await self._fetch(self._start)
        async for each in page.iter_pages():
            yield each


@attrs.frozen
class Cursor:
    """Where a cursor page request starts: at most one of ``after`` / ``before``."""

    after: str | None = None
    before: str | None = None


class CursorPage(Page[T]):
    """A page of a cursor-paginated list (runs, deployments, bulk actions).

    Moving one way drops the other direction's cursor, and every filter of the original
    call is sent again with each page.
    """

    def __init__(
        self,
        data: list[T],
        next_cursor: str | None,
        previous_cursor: str | None,
        fetch: Callable[[Cursor], Awaitable[CursorPage[T]]],
    ) -> None:
        self.data = data
        self.next_cursor = next_cursor
        self.previous_cursor = previous_cursor
        self._fetch = fetch

    def __repr__(self) -> str:
        return (
            f"CursorPage(data=<{len(self.data)} items>, next_cursor={self.next_cursor!r}, "
            f"previous_cursor={self.previous_cursor!r})"
        )

    def has_next_page(self) -> bool:
        return bool(self.next_cursor)

    def has_previous_page(self) -> bool:
        return bool(self.previous_cursor)

    async def get_next_page(self) -> CursorPage[T]:
        if not self.next_cursor:
            raise NoMorePagesError("No next page available")
        return await self._fetch(Cursor(after=self.next_cursor))

    async def get_previous_page(self) -> CursorPage[T]:
        if not self.previous_cursor:
            raise NoMorePagesError("No previous page available")
        return await self._fetch(Cursor(before=self.previous_cursor))


class OffsetPage(Page[T]):
    """A page of a page-numbered list (schedules, queues)."""

    def __init__(
        self,
        data: list[T],
        current_page: int,
        total_pages: int,
        count: int,
        fetch: Callable[[int | None], Awaitable[OffsetPage[T]]],
    ) -> None:
        self.data = data
        self.current_page = current_page
        self.total_pages = total_pages
        self.count = count
        self._fetch = fetch

    def __repr__(self) -> str:
        return (
            f"OffsetPage(data=<{len(self.data)} items>, current_page={self.current_page}, "
            f"total_pages={self.total_pages}, count={self.count})"
        )

    def has_next_page(self) -> bool:
        return self.current_page < self.total_pages

    def has_previous_page(self) -> bool:
        return self.current_page > 1

    async def get_next_page(self) -> OffsetPage[T]:
        if not self.has_next_page():
            raise NoMorePagesError("No next page available")
        return await self._fetch(self.current_page + 1)

    async def get_previous_page(self) -> OffsetPage[T]:
        if not self.has_previous_page():
            raise NoMorePagesError("No previous page available")
        return await self._fetch(self.current_page - 1)


class CursorPager(_Pager[Cursor, CursorPage[T]]):
    """The pager of a cursor-paginated list; see :class:`Page` for iteration."""

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._fetch(self._start)
        async for item in page:
            yield item


class OffsetPager(_Pager["int | None", OffsetPage[T]]):
    """The pager of a page-numbered list; see :class:`Page` for iteration."""

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._fetch(self._start)
        async for item in page:
            yield item
