"""The session's control loop: phases by time, the climb, step-down, faults (R11) and the link (R10)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Final

from medctl.clock import seconds_until, wait_set
from medctl.devices.base import AUTO_OFF_HEATER_ONLY
from medctl.devices.base import FaultFlag as Fault
from medctl.errors import ControllerFailure, MedctlError, WrongDevice
from medctl.session import hazards, rules
from medctl.session.core import RECONNECT_EVERY_S, SAMPLE_INTERVAL_S, SessionCore
from medctl.session.rules import RuleViolation
from medctl.session.state import (
    ACTIVE_PHASES,
    EndReason,
    Phase,
)

_LOGGER = logging.getLogger(__name__)

#: The most a heartbeat may come after it falls due: the loop wakes for it at once, so this
#: covers only the scheduling of the loop (and is what the link's timing is checked against).
TICK_S: Final = 0.25
LINK_LOST_WATCHDOG: Final = "link lost: the massager stops by itself within seconds (watchdog); reconnecting…"
#: A device without a watchdog of its own keeps running until its own timer ends: the person must know.
LINK_LOST_NO_WATCHDOG: Final = (
    "link lost: this massager has no watchdog and may keep running until its own timer ends — switch it off"
    " at its button if it does; reconnecting to stop it…"
)
#: During step-down, intensity drops one level this often (session time).
STEP_DOWN_INTERVAL_S: Final = 10.0
#: FAULT AUTO_OFF's detail when only the heater's budget ran out (SPEC §5.8, §7.6): heat off, motor on.
SWITCHED_OFF: Final = "the massager switched itself off: it has run as long as it allows for now"


class ControlLoop(SessionCore):
    """What happens without the person doing anything."""

    # --- the control loop ------------------------------------------------------------------

    async def _run(self) -> None:
        """Wake when something is due (a phase's end, a step, a sample, the next second shown, a
        heartbeat) or when something happens (a status, a fault, an action, the link), then act."""
        self._heartbeat_at = await self._massager.keepalive()
        while not self.done:
            await self._sleep_until_due()
            self._wake.clear()  # what happens from here on wakes the next round
            async with self._lock:
                if self.done:
                    return
                try:
                    await self._tick()
                except RuleViolation:
                    pass
                except MedctlError as exc:
                    _LOGGER.info("session tick: %s", exc)
            # from this loop only: if it hangs, the device stops hearing us and its watchdog stops it
            self._heartbeat_at = await self._massager.keepalive()
            self._publish()

    async def _sleep_until_due(self) -> None:
        if self._wake.is_set():
            return
        session_delay = self._session_due_in()
        loop_delay = None
        now = asyncio.get_running_loop().time()
        if self._heartbeat_at is not None and self._heartbeat_at > now:
            # past the due time, so the driver finds it due however its clock rounds
            loop_delay = seconds_until(self._heartbeat_at, now)
        # (a due time already past means the heartbeat failed to go: the next round tries again)
        if session_delay is not None:  # on the session's clock, which may run faster than the loop's
            to_loop: Callable[[float], float] | None = getattr(self._clock, "loop_seconds", None)
            if to_loop is None:  # a clock only its own sleep can wait for (a test's frozen clock)
                await self._sleep_or_wake(self._clock.sleep(session_delay), loop_delay)
                return
            delay = to_loop(session_delay)
            loop_delay = delay if loop_delay is None else min(loop_delay, delay)
        # one timer on the wake event: no task and no cancellation per round (one comes every second)
        await wait_set(self._wake, loop_delay)

    async def _sleep_or_wake(self, sleep: Coroutine[Any, Any, None], loop_delay: float | None) -> None:
        waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(sleep)}
        try:
            await asyncio.wait(waits, timeout=loop_delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    def _session_due_in(self) -> float | None:
        """Session seconds until the next thing the loop must do by time, or None (nothing is)."""
        if self.phase in (Phase.PAUSED, Phase.INTERRUPTED):
            elapsed = self._halt_elapsed()
            marks = [self.plan.pause_limit_s, math.floor(elapsed) + 1.0]  # the limit; the countdown shown
            return seconds_until(min(mark for mark in marks if mark > elapsed), elapsed)
        if self.phase not in ACTIVE_PHASES:
            return None
        massage = self.massage_s
        marks = [self.plan.duration_s, math.floor(massage) + 1.0, self._last_sample_s + SAMPLE_INTERVAL_S]
        if self.phase is Phase.WARM_UP:
            marks.append(self._warm_up_end_s)
        if self.phase is Phase.STEP_DOWN:
            marks.append(self._last_step_down_s + STEP_DOWN_INTERVAL_S)
        else:
            marks.append(self.plan.duration_s - rules.STEP_DOWN_S)
        if self.phase is Phase.MASSAGE and self._target is not None and self._intensity < self._target:
            spaced = -math.inf if self._last_increase_s is None else self._last_increase_s
            marks.append(max(self._warm_up_end_s, spaced + self.plan.increase_spacing_s))
        return seconds_until(min(mark for mark in marks if mark > massage), massage)

    async def _tick(self) -> None:
        if self._hazard is not None:  # the session is ending: nothing more goes to the device
            return
        await self._handle_faults()
        if self.done:
            return
        if self.phase in ACTIVE_PHASES and hazards.switched_itself_off(self._last_status, self._commanded_at):
            # its run budget ran out (SPEC §7.6), whether or not a FAULT event told us
            await self._finish(EndReason.COMPLETED, notice=SWITCHED_OFF)
            return
        if self.phase in ACTIVE_PHASES and hazards.stopped_elsewhere(self._last_status, self._commanded_at):
            await self._finish(
                EndReason.STOPPED,
                notice="the massager was stopped outside this session (its own button, or another controller)",
            )
            return
        massage = self.massage_s
        if self.phase in (Phase.PAUSED, Phase.INTERRUPTED) and not self._reconnecting:
            if rules.pause_expired(self._halt_elapsed(), self.plan.pause_limit_s):
                await self._finish(EndReason.PAUSE_TIMEOUT, notice="paused too long: the session has ended")
            return
        if self.phase not in ACTIVE_PHASES:
            return
        if massage >= self.plan.duration_s:
            await self._finish(EndReason.COMPLETED, notice="session complete — well done")
            return
        if self.phase is Phase.WARM_UP and massage >= self._warm_up_end_s:
            self._enter(Phase.MASSAGE)
        if self.phase is not Phase.STEP_DOWN and massage >= self.plan.duration_s - rules.STEP_DOWN_S:
            await self._begin_step_down()
        elif self.phase is Phase.STEP_DOWN and massage - self._last_step_down_s >= STEP_DOWN_INTERVAL_S:
            await self._step_down()
        elif self.phase is Phase.MASSAGE:
            await self._climb_towards_target()
        if massage - self._last_sample_s >= SAMPLE_INTERVAL_S:
            self._last_sample_s = massage
            self._record("status", intensity=self._intensity, heat=self._heat, pad_temp_c=self._pad_temp_c)

    async def _climb_towards_target(self) -> None:
        target = self._target
        if target is None or self._intensity >= min(target, self._massager.capabilities.intensity_levels):
            return
        level = rules.check_increase(self._rule_state())  # raises while not yet allowed
        await self._drive_intensity(level)
        self._set_intensity(level, increase=True)

    async def _begin_step_down(self) -> None:
        self._enter(Phase.STEP_DOWN)
        self._last_step_down_s = self.massage_s
        if self._heat:
            await self._drive_heat(0)
            self._heat = 0
            self._record("heat", heat=0, detail="step-down")
        await self._step_down()

    async def _step_down(self) -> None:
        self._last_step_down_s = self.massage_s
        if self._intensity > 1:
            level = self._intensity - 1
            await self._drive_intensity(level)
            self._set_intensity(level)

    async def _handle_faults(self) -> None:
        """R11: over-temperature → heat off for the session; motor stall or empty battery → end."""
        faults, self._faults = self._faults, []
        for event in faults:
            if not event.active:
                continue
            name = (event.fault.name or "fault").lower()
            self._record("fault", detail=name, pad_temp_c=self._pad_temp_c)
            if event.fault is Fault.OVER_TEMPERATURE:
                self._heat = self._allowed_heat = 0
                self._heat_blocked = f"the pad overheated ({event.detail} °C): heat stays off for this session"
                self._announce(f"the pad overheated ({event.detail} °C); the massager turned the heat off")
            elif event.fault is Fault.MOTOR_STALL:
                await self._finish(
                    EndReason.FAULT, notice="the motor stalled: the session has ended; check the massager"
                )
            elif event.fault is Fault.BATTERY_EMPTY:
                await self._finish(EndReason.BATTERY_EMPTY, notice="the battery is empty: charge the massager")
            elif event.fault is Fault.AUTO_OFF and event.detail == AUTO_OFF_HEATER_ONLY:
                self._heat = self._allowed_heat = 0
                self._heat_blocked = "the massager's heater reached its time limit: heat stays off for this session"
                self._announce("the massager's heater reached its time limit and switched off; massage goes on")
            elif event.fault is Fault.AUTO_OFF:
                await self._finish(EndReason.COMPLETED, notice=SWITCHED_OFF)

    async def _watch_link(self) -> None:
        """R10: on link loss, pause the session, reconnect with back-off, never resume by itself."""
        while not self.done:
            lost = await self._massager.wait_lost()
            if self.done:
                return
            if isinstance(lost, ControllerFailure):  # a bug in the connection: a new link would hide it
                await self._fail(lost)
                return
            async with self._lock:
                self._reconnecting = True
                self._halt(Phase.INTERRUPTED)
                self._record("link_lost", detail=str(lost))
                self._announce(LINK_LOST_WATCHDOG if self._massager.capabilities.watchdog_s else LINK_LOST_NO_WATCHDOG)
                self._wake.set()
            if not await self._reconnect():
                self._reconnecting = False
                await self._finish(EndReason.LINK_LOST, notice="could not reconnect to the massager: session ended")
                return

    async def _reconnect(self) -> bool:
        """Try again and again, backing off, until the massager is back or the pause limit is reached."""
        for wait in self._reconnect_waits():
            if self._halt_left() <= 0:
                return False
            await asyncio.sleep(wait)  # link time, not session time
            if self.done:
                return True
            try:
                await self._massager.reconnect()
                # never carry on at the old setting; after a STOP during the reconnect, this is it
                await self._massager.stop()
                self._allowed_running, self._allowed_heat = False, 0
            except WrongDevice as exc:  # another massager answers there: never use it; ours may come back
                if self._notice != str(exc):
                    self._announce(str(exc))
                    self._record("wrong_device", detail=str(exc))
                continue
            except MedctlError as exc:
                _LOGGER.info("reconnect failed: %s", exc)
                continue
            async with self._lock:
                self._reconnecting = False
                self._record("reconnected")
                self._announce("reconnected; the massager is stopped — resume to continue at the lightest setting")
                self._wake.set()
            return True
        return False

    def _reconnect_waits(self) -> Iterator[float]:
        yield from self._backoff
        while True:
            yield min(self._backoff[-1], RECONNECT_EVERY_S) if self._backoff else RECONNECT_EVERY_S
