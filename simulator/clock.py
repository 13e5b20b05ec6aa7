"""Where the simulated device gets its time from.

Device time drives the physics (pad temperature, auto-off, battery). :class:`LoopClock`
is the event loop's own clock — under the ``looptime`` test plugin already a virtual one —
and :class:`ScaledClock` runs device time faster than the loop for demos
(``sim://?speed=60``). Link-level timeouts such as the watchdog never use these: they stay
on the loop's time (DESIGN.md §2).
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol


class Clock(Protocol):
    """A monotonic source of device time, in seconds."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """Device time is the running event loop's ``loop.time()``."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock:
    """Device time runs *speed* times faster than the event loop, from the first reading on."""

    def __init__(self, speed: float) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"ScaledClock speed must be a positive number, got {speed}")
        self.speed = speed
        self._origin: float | None = None

    def now(self) -> float:
        loop_now = asyncio.get_running_loop().time()
        if self._origin is None:
            self._origin = loop_now
        return self._origin + (loop_now - self._origin) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)
