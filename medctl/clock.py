"""Session time: an injected clock, so one engine runs on real, accelerated and virtual time.

The session engine measures warm-up, spacing and session length with a
:class:`Clock`. Link timeouts (answers, heartbeats) stay on the event loop's
own time, so ``sim://?speed=60`` speeds up the session, never the watchdog.
Under the ``looptime`` test plugin the loop's time is itself virtual.
"""

from __future__ import annotations

import asyncio
import math
from typing import Final, Protocol

#: asyncio runs a timer that falls due within its clock's resolution at once, without its clock
#: moving; a loop that sleeps "until *t*" and then asks "has *t* passed?" can find it a hair short
#: again and again — and on a virtual clock, where time moves only while the loop is idle, for
#: ever. Every wait for a moment therefore takes one of two forms, both with this margin:
#:
#: - wait :func:`seconds_until` the moment, then test it exactly (``now >= due``): the wait ends
#:   this far past the moment (the session's rules compare exactly, so the engine waits this way);
#: - or wait exactly until the moment, and test it with :func:`reached`, which counts a moment
#:   this close as come; a loop then only waits when the moment is further off than this.
DUE_MARGIN_S: Final = 1e-3


def seconds_until(due: float, now: float) -> float:
    """How long to wait from *now* so that *due* has passed at waking: 0.0 when it has already,
    otherwise the gap plus :data:`DUE_MARGIN_S` (never a wait too short to move the clock)."""
    return 0.0 if now >= due else due - now + DUE_MARGIN_S


def reached(due: float, now: float) -> bool:
    """Whether *due* has come at *now*, or is within :data:`DUE_MARGIN_S` of it (so that a loop that
    waits ``due - now`` when this is False always waits long enough to move the clock)."""
    return now >= due - DUE_MARGIN_S


async def wait_set(event: asyncio.Event, delay: float | None) -> None:
    """Wait until *event* is set, or at most *delay* loop seconds (None: no limit), by setting it.

    A loop that sleeps on an event until the next thing falls due times out on most rounds;
    ``asyncio.timeout`` would cancel the waiting task each time (an exception raised and caught
    every round), where a timer that sets the event costs one handle. The caller clears the event
    before it next waits, as it does after any wake.
    """
    alarm = None if delay is None else asyncio.get_running_loop().call_later(delay, event.set)
    try:
        await event.wait()
    finally:
        if alarm is not None:
            alarm.cancel()


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The running event loop's clock."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def loop_seconds(self, seconds: float) -> float:
        """How long *seconds* of this clock take on the event loop (a clock that knows can be waited
        for by a plain loop timeout, without a task of its own)."""
        return seconds

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock:
    """Runs ``speed`` times faster than the event loop (a 10-minute session in 10 s at speed 60)."""

    def __init__(self, speed: float = 1.0) -> None:
        if not (math.isfinite(speed) and speed > 0):  # the one check of a clock's speed (NaN, inf refused)
            raise ValueError(f"clock speed must be a finite number above 0, got {speed}")
        self.speed = speed
        self._origin: float | None = None

    def now(self) -> float:
        loop_now = asyncio.get_running_loop().time()
        if self._origin is None:
            self._origin = loop_now
        return self._origin + (loop_now - self._origin) * self.speed

    def loop_seconds(self, seconds: float) -> float:
        return seconds / self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)
