"""Massage time: it runs only in the active phases, on the session's clock; a halt is timed apart.

The engine asks it what time it is in the session and when a moment of massage time will come,
so the control loop can sleep until the next thing is due.
"""

from __future__ import annotations

from medctl.clock import Clock


class SessionTimer:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._accumulated_s = 0.0
        self._active_since: float | None = None
        self._halt_since: float | None = None

    @property
    def running(self) -> bool:
        return self._active_since is not None

    @property
    def massage_s(self) -> float:
        if self._active_since is None:
            return self._accumulated_s
        return self._accumulated_s + self.clock.now() - self._active_since

    def run(self) -> None:
        """Massage time counts from now (a no-op while it counts already)."""
        if self._active_since is None:
            self._active_since = self.clock.now()

    def halt(self) -> None:
        """Massage time stops; the halt (pause, lost link) is timed from now."""
        self._freeze()
        self._halt_since = self.clock.now()

    def end_halt(self) -> None:
        self._halt_since = None

    def end(self, planned_s: float) -> float:
        """The session is over: massage time stops for good, at most *planned_s*; returns it."""
        self._freeze()
        self._accumulated_s = min(self._accumulated_s, planned_s)
        return self._accumulated_s

    def halt_elapsed(self) -> float:
        return 0.0 if self._halt_since is None else self.clock.now() - self._halt_since

    def halt_left(self, limit_s: float) -> float:
        return max(0.0, limit_s - self.halt_elapsed())

    def clock_at(self, massage_s: float) -> float | None:
        """The clock time at which massage time reaches *massage_s*, or None while it stands still."""
        if self._active_since is None:
            return None
        return self._active_since + massage_s - self._accumulated_s

    def halt_ends_at(self, limit_s: float) -> float | None:
        """The clock time at which a halt reaches *limit_s*, or None when not halted."""
        return None if self._halt_since is None else self._halt_since + limit_s

    def _freeze(self) -> None:
        if self._active_since is not None:
            self._accumulated_s = self.massage_s
            self._active_since = None
