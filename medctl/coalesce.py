"""Latest wins: command slots (DESIGN §4) and the bounded queues that feed subscribers.

While one value is on its way to the device, newer requests replace each other
in a single pending slot; only the latest is sent next. Everyone who asked for a
value that got replaced waits for, and shares, the outcome of the one that won.
So a slow link never builds a backlog of stale intensity or heat changes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class CoalescingSlot:
    def __init__(self, send: Callable[[int], Awaitable[None]]) -> None:
        self._send = send
        self._pending: tuple[int, asyncio.Future[None]] | None = None
        self._worker: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self._worker is not None and not self._worker.done()

    async def submit(self, value: int) -> None:
        """Ask for *value*; returns when it (or a newer value that replaced it) is acknowledged."""
        if self._pending is not None:
            future = self._pending[1]
        else:
            future = asyncio.get_running_loop().create_future()
            # a caller cancelled while waiting leaves no one to read the outcome: read it here
            future.add_done_callback(_observe)
        self._pending = (value, future)
        if not self.busy:
            self._worker = asyncio.create_task(self._drain(), name="medctl-coalesce")
        await asyncio.shield(future)

    def cancel(self, error: BaseException) -> None:
        """Fail the value that has not been sent yet (STOP overtakes it)."""
        if self._pending is not None:
            _, future = self._pending
            self._pending = None
            if not future.done():
                future.set_exception(error)

    async def aclose(self) -> None:
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def _drain(self) -> None:
        while self._pending is not None:
            value, future = self._pending
            self._pending = None
            try:
                await self._send(value)
            except Exception as exc:  # handed to the waiting callers
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(None)


def _observe(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


class LatestWinsQueue(asyncio.Queue[T], Generic[T]):
    """A bounded queue whose :meth:`push` never blocks and never fails: when full, the oldest
    item is dropped, so a slow reader sees the latest state, never a backlog of stale ones."""

    def push(self, item: T) -> None:
        if self.full():
            self.get_nowait()
        self.put_nowait(item)
