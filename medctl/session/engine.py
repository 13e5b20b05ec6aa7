"""The guided session: phases, time, and every rule R1–R11 applied in one place.

A :class:`Session` drives a :class:`~medctl.devices.base.Massager` (never a
transport, never a UI) on an injected :class:`~medctl.clock.Clock`:

    ready → warm-up → massage → step-down → done
                 ↘ paused / interrupted (link lost) ↗      ↘ done (stopped, fault, too much…)

User actions (increase, decrease, too much, heat, pause, resume, stop) are
checked by :mod:`medctl.session.rules`; a refusal raises ``RuleViolation``
with the rule id and a sentence to act on. STOP goes to the device first, is
never refused and latches: every command path re-checks after each await that
the session has not ended, so nothing issued before a STOP, or racing it, turns
motor or heat on again (the client latches too). A decrease or "too much"
lowers the climb's target for good. A device that reports what nobody asked for
(a pad far above its cap, heat on through over-temperature, levels above the
commanded ones, running while paused) is stopped and the session ends. Every
background task is supervised: an unexpected error stops the device and ends
the session with ``error``. Every change is written to the history as it
happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from types import TracebackType

from medctl.coalesce import LatestWinsQueue
from medctl.devices.base import FaultFlag
from medctl.errors import CommandRefused, ConnectionLost, MedctlError, Unsupported
from medctl.session import rules
from medctl.session.choice import HistoryChoice
from medctl.session.core import RECONNECT_BACKOFF_S
from medctl.session.loop import TICK_S, ControlLoop
from medctl.session.rules import RuleViolation
from medctl.session.state import (
    EndReason,
    FrequencyOverrideRequired,
    Phase,
    SessionSummary,
    SessionUpdate,
)

#: How the notice after "too much" begins; a summary leaves it out (it asks for a running session).
LOWERED = "lowered to"


class Session(ControlLoop):
    """One guided session on one massager. Use ``async with massager.session(...)``."""

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Session:
        try:
            await self.begin()
        except BaseException:
            self._recorder.close_owned()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Leaving the block always stops the device."""
        if self._end_reason is None:
            reason = EndReason.STOPPED if exc is None or isinstance(exc, asyncio.CancelledError) else EndReason.ERROR
            await self._finish(reason, notice="session ended by leaving its block" if exc is None else None)
        await self._cancel_tasks()
        self._recorder.close_owned()

    def _device_model(self) -> str:
        identity = self._massager.identity
        return identity.model if identity is not None else ""

    async def begin(self) -> None:
        """R8 and R9, then a known state — the lightest setting (R2) and the plan's heat, 0
        included (R6) — before the warm-up counts."""
        self._safety.require()
        self._recorder.open_default()
        warnings = await self._recorder.frequency_warnings()
        if warnings and not self._override:
            raise FrequencyOverrideRequired(warnings)
        self._keepalive.enter_context(self._massager.exclusive())  # one session per connection
        try:
            await self._prepare_device()
        except BaseException:
            self._keepalive.close()
            raise
        if self._end_reason is not None:  # stopped before it started
            return
        self._recorder.session_id = await self._recorder.call(
            lambda w: w.begin_session(
                device=self._device_name,
                device_model=self._device_model(),
                planned_s=self.plan.duration_s,
                heat=self.plan.heat,
                target_intensity=self.plan.target_intensity,
                simulated=self._massager.simulated,
            )
        )
        if warnings and self._override:
            self._overrides.append(f"R9: {self._override}")
            self._recorder.override("R9", self._override)
        self._unsubscribe.append(self._massager.on_status(self._on_status))
        self._unsubscribe.append(self._massager.on_fault(self._on_fault))
        has_heat = self._massager.capabilities.heat_levels > 0
        heat = 1 if self.plan.heat and has_heat and not self._heat_blocked else 0
        if self.plan.heat and has_heat and self._heat_blocked:
            self._announce(self._heat_blocked)  # heat was planned: say why there is none
        rules.check_start_level(1, heat)
        try:
            await self._drive_intensity(1, start=True)
            if has_heat:
                heat = await self._start_heat(heat)
        except BaseException:
            if self._end_reason is not None:  # stopped while starting: that stop is the outcome
                return
            await self._finish(EndReason.ERROR)
            raise
        self._heat = heat
        self._intensity = 1
        self._max_intensity = 1
        self._commanded_at = self._checks_from = asyncio.get_running_loop().time()
        self._enter(Phase.WARM_UP)
        self._record("intensity", intensity=1)
        if self._heat:
            self._record("heat", heat=self._heat)
        self._spawn(self._run(), "medctl-session")
        self._spawn(self._watch_link(), "medctl-link-watch")

    async def _start_heat(self, heat: int) -> int:
        """The plan's heat, set even when 0 (the heater may have been left on). Heat is optional
        (R2): a massager that refuses it now (a fault such as over-temperature or its heater's
        time limit, latched before we could see it) gets a session without heat (R11), said so."""
        try:
            await self._drive_heat(heat)
            return heat
        except CommandRefused as refusal:
            if heat == 0:
                raise
            status = self._massager.status  # its STATUS came before the refusal, on the same link
            if status is not None and status.faults & FaultFlag.OVER_TEMPERATURE:
                reason = f"the pad overheated ({status.pad_temp_c:.0f} °C)"
            else:
                reason = f"the massager refused heat ({refusal})"
            self._heat_blocked = f"{reason}: heat stays off for this session"
            self._announce(f"{reason}; the massager keeps the heat off — the session goes on without it")
            await self._drive_heat(0)
            return 0

    async def wait(self) -> SessionSummary:
        """Until the session ends; returns its summary."""
        await self._done.wait()
        return self.record

    # --- what a person sees ----------------------------------------------------------------

    async def updates(self) -> AsyncIterator[SessionUpdate]:
        """Updates until the session ends (the last one has ``end_reason`` set)."""
        queue: LatestWinsQueue[SessionUpdate] = LatestWinsQueue(64)
        push = queue.push

        self._subscribers.append(push)
        try:
            push(self.snapshot())
            while True:
                update = await queue.get()
                yield update
                if update.end_reason is not None:
                    return
        finally:
            self._subscribers.remove(push)

    # --- actions ---------------------------------------------------------------------------

    async def stop(self) -> SessionSummary:
        """R6: from any state, never refused, the device first."""
        await self._finish(EndReason.STOPPED)
        return self.record

    async def increase(self) -> int:
        async with self._guard("increase"):
            self._require_active()
            level = rules.check_increase(self._rule_state())
            await self._drive_intensity(level)
            self._set_intensity(level, increase=True)
            return level

    async def decrease(self) -> int:
        """Always allowed; final: the climb's target drops with it (R7)."""
        async with self._guard("decrease"):
            self._require_active(allow_step_down=True)
            level = rules.check_decrease(self._rule_state())
            self._lower_target(level)
            await self._drive_intensity(level)
            self._set_intensity(level)
            return level

    async def too_much(self) -> int:
        """R7: one step lighter, recorded; repeated, it ends the session with advice."""
        async with self._guard("too much"):
            self._require_active(allow_step_down=True)
            self._too_much += 1
            before = self._intensity
            self._record("too_much", detail=f"count {self._too_much} at intensity {before}")
            if rules.too_much_ends_session(self._too_much, before):
                self._advice = rules.TOO_MUCH_ADVICE
                await self._finish(EndReason.TOO_MUCH, notice=rules.TOO_MUCH_ADVICE)
                return 0
            level = before - 1
            self._lower_target(level)
            await self._drive_intensity(level)
            self._set_intensity(level)
            # the next increase waits a full spacing from now
            self._last_increase_s = self.massage_s
            self._announce(f"{LOWERED} {level}; tell us again if it is still too much")
            return level

    async def set_heat(self, level: int) -> int:
        async with self._guard("heat"):
            self._require_active(allow_step_down=level < self._heat)
            state = replace(self._rule_state(), last_increase_s=self._last_heat_increase_s)
            rules.check_heat(state, level)
            await self._drive_heat(level)
            if level > self._heat:
                self._last_heat_increase_s = self.massage_s
            self._heat = level
            self._record("heat", heat=level)
            return level

    async def set_mode(self, name: str) -> str:
        """Switch the massage pattern to *name*, one of the device's ``capabilities.modes``.

        A pattern is not an intensity: no warm-up or spacing rule (R3, R4) holds it back. Only
        a running session switches it, and the history records each switch (event ``mode``).
        A name the device does not offer is refused before anything is sent.
        """
        modes = self._massager.capabilities.modes
        if name not in modes:
            offered = f"it offers {', '.join(modes)}" if modes else "it has none"
            raise Unsupported(f"the massager has no massage mode {name!r} ({offered})")
        async with self._guard("mode"):
            self._require_active(allow_step_down=True)
            self._ensure_not_ended()
            await self._massager.set_mode(name)
            self._ensure_not_ended()
            self._mode = name
            self._record("mode", detail=name)
            return name

    @property
    def mode(self) -> str | None:
        return self._mode

    @property
    def modes(self) -> tuple[str, ...]:
        """The massage patterns the device offers (empty: it has none)."""
        return self._massager.capabilities.modes

    def next_mode(self) -> str:
        """The mode after the current one: the first when none is set, the first again after the last."""
        modes, current = self.modes, self._mode
        if not modes:
            raise Unsupported("the massager has no massage modes")
        return modes[(modes.index(current) + 1) % len(modes)] if current in modes else modes[0]

    async def pause(self) -> None:
        async with self._guard("pause"):
            self._require_active(allow_step_down=True)
            await self._massager.stop()
            self._allowed_running, self._allowed_heat = False, 0
            self._halt(Phase.PAUSED)
            self._record("pause")

    @property
    def can_continue(self) -> bool:
        """The link was lost and is back: :meth:`continue_after_link_loss` may go on."""
        return self.phase is Phase.INTERRUPTED and not self._reconnecting and not self.done

    async def continue_after_link_loss(self) -> None:
        """Continue this session after its link came back: always a new warm-up at the lightest setting (R10).

        The session stays one session: the history has its ``link_lost``, ``reconnected`` and
        ``continue`` events (with the gap in seconds), and the time already massaged counts.
        The engine keeps an interrupted session open until the pause limit; after that it has
        ended (``link_lost`` or ``pause_timeout``) and a new session is the way on.
        """
        if self.phase is not Phase.INTERRUPTED:
            raise RuleViolation("R10", "only a session whose link was lost can be continued")
        await self._resume("continue", new_warm_up=True)

    async def resume(self) -> None:
        """Back to massage at the lightest setting; a long gap means a new warm-up (R10)."""
        await self._resume("resume", new_warm_up=False)

    async def _resume(self, action: str, *, new_warm_up: bool) -> None:
        async with self._guard(action):
            if self.phase not in (Phase.PAUSED, Phase.INTERRUPTED):
                raise RuleViolation("R10", "only a paused or interrupted session can be resumed")
            if self._reconnecting:
                raise RuleViolation("R10", "still reconnecting to the massager; wait a moment")
            gap = self._halt_elapsed()
            heat = 1 if self._heat > 0 and not self._heat_blocked else 0
            try:
                await self._drive_intensity(1, start=True)
                if heat:
                    await self._drive_heat(1)
                if self._mode is not None:  # the device may have lost it (reconnect) or reset it on START
                    await self._massager.set_mode(self._mode)
            except MedctlError:
                if self._end_reason is not None:  # a STOP came in between: it stays stopped
                    return
                await self._massager.stop()  # half started is not a state to leave the device in
                self._allowed_running, self._allowed_heat = False, 0
                raise
            self._heat = heat
            self._set_intensity(1)
            self._last_increase_s = self._last_heat_increase_s = None
            self._timer.end_halt()
            new_warm_up = new_warm_up or gap >= rules.RESUME_WARM_UP_GAP_S or self._warm_up_end_s > self.massage_s
            if new_warm_up:
                self._warm_up_end_s = self.massage_s + rules.WARM_UP_S
            self._commanded_at = asyncio.get_running_loop().time()
            self._record(action, detail=f"after {gap:.0f} s")
            self._enter(Phase.WARM_UP if new_warm_up else Phase.MASSAGE)


__all__ = [
    "RECONNECT_BACKOFF_S",
    "TICK_S",
    "ConnectionLost",
    "EndReason",
    "FrequencyOverrideRequired",
    "HistoryChoice",
    "Phase",
    "Session",
    "SessionSummary",
    "SessionUpdate",
]
