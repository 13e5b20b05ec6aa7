"""The guided session: phases, time, and every rule R1–R11 applied in one place.

A :class:`Session` drives a :class:`~medctl.massager.Massager` (never a
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
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar

from medctl.clock import Clock, LoopClock
from medctl.devices.base import AUTO_OFF_HEATER_ONLY, DeviceStatus, FaultReport
from medctl.devices.base import FaultFlag as Fault
from medctl.errors import ConnectionLost, ControllerFailure, DeviceFault, MedctlError, WrongDevice
from medctl.session import rules
from medctl.session.choice import DEFAULT_HISTORY, HistoryChoice
from medctl.session.frequency import unreadable_warning
from medctl.session.plan import SafetyCheck, SessionPlan
from medctl.session.rules import RuleState, RuleViolation

if TYPE_CHECKING:
    from medctl.devices.base import Massager
    from medctl.history import HistoryStore, HistoryWriter

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

#: How often (session time) the engine re-evaluates phases and publishes an update.
TICK_S: Final = 0.25
#: During step-down, intensity drops one level this often (session time).
STEP_DOWN_INTERVAL_S: Final = 10.0
#: Temperature and levels are sampled into the history this often (session time).
SAMPLE_INTERVAL_S: Final = 10.0
#: At the end of a session, wait this long (real time, off the loop) for its history to be written;
#: a file still locked after it gets the rest written when it is free, while medctl stays open.
HISTORY_FLUSH_S: Final = 2.0
#: R10: the first reconnect attempts after a lost link, with these waits (link time) before them;
#: then one every RECONNECT_EVERY_S for as long as the session may stay interrupted (its pause limit).
RECONNECT_BACKOFF_S: Final = (0.5, 1.0, 2.0, 4.0)
RECONNECT_EVERY_S: Final = 5.0
#: A report this far above the cap means the device's own cut-off failed: the controller stops it.
PAD_TEMP_MARGIN_C: Final = 5.0
#: The name of the task that ends a session after an unexpected error in another one.
_FAIL_TASK: Final = "medctl-session-error"


#: FAULT AUTO_OFF's detail when only the heater's budget ran out (SPEC §5.8, §7.6): heat off, motor on.
SWITCHED_OFF: Final = "the massager switched itself off: it has run as long as it allows for now"


class Phase(StrEnum):
    READY = "ready"
    WARM_UP = "warm_up"
    MASSAGE = "massage"
    STEP_DOWN = "step_down"
    PAUSED = "paused"
    INTERRUPTED = "interrupted"
    DONE = "done"


ACTIVE_PHASES: Final = frozenset({Phase.WARM_UP, Phase.MASSAGE, Phase.STEP_DOWN})

PHASE_TEXT: Final = {
    Phase.READY: "ready to start at the lightest setting",
    Phase.WARM_UP: "warm-up at the lightest setting",
    Phase.MASSAGE: "massage",
    Phase.STEP_DOWN: "winding down",
    Phase.PAUSED: "paused — the massager is stopped",
    Phase.INTERRUPTED: "link lost — the massager stopped itself",
    Phase.DONE: "done",
}


class EndReason(StrEnum):
    COMPLETED = "completed"
    STOPPED = "stopped"
    TOO_MUCH = "too_much"
    PAUSE_TIMEOUT = "pause_timeout"
    FAULT = "fault"
    BATTERY_EMPTY = "battery_empty"
    LINK_LOST = "link_lost"
    ERROR = "error"
    #: The device reported something nobody asked for (a hazard); it was stopped.
    DEVICE_MISBEHAVED = "device_misbehaved"


@dataclass(frozen=True)
class SessionUpdate:
    """What a person needs to see, published on every tick and change."""

    phase: Phase
    massage_s: float
    planned_s: float
    intensity: int
    heat: int
    pad_temp_c: float | None
    next_action: str
    notice: str | None = None
    end_reason: EndReason | None = None

    @property
    def time_left_s(self) -> float:
        return max(0.0, self.planned_s - self.massage_s)

    @property
    def progress(self) -> float:
        return min(1.0, self.massage_s / self.planned_s)

    @property
    def phase_text(self) -> str:
        return PHASE_TEXT[self.phase]


@dataclass(frozen=True)
class SessionSummary:
    """How a session went; ``session_id`` is its history id when a history is kept."""

    session_id: int | None
    plan: SessionPlan
    end_reason: EndReason
    massage_s: float
    max_intensity: int
    too_much_count: int
    overrides: tuple[str, ...]
    notices: tuple[str, ...]
    advice: str | None = None


class FrequencyOverrideRequired(RuleViolation):
    """R9: recent sessions or feedback advise against a session now; ``warnings`` say why."""

    def __init__(self, warnings: list[str]) -> None:
        super().__init__(
            "R9",
            " ".join(warnings) + " To go ahead anyway, give a reason to override (it is recorded).",
        )
        self.warnings = warnings


class _SessionStopped(RuleViolation):
    """The session ended (STOP) while a command path was on its way: it goes no further."""

    def __init__(self) -> None:
        super().__init__("R6", "the session was stopped")


class Session:
    """One guided session on one massager. Use ``async with massager.session(...)``."""

    def __init__(
        self,
        massager: Massager,
        plan: SessionPlan,
        *,
        safety: SafetyCheck,
        clock: Clock | None = None,
        history: HistoryStore | HistoryChoice = DEFAULT_HISTORY,
        override_frequency: str | None = None,
        device_name: str = "",
        reconnect_backoff_s: tuple[float, ...] = RECONNECT_BACKOFF_S,
    ) -> None:
        if not isinstance(safety, SafetyCheck):
            raise TypeError("a session needs an explicit SafetyCheck (R8)")
        if not isinstance(plan, SessionPlan):
            raise TypeError("plan must be a SessionPlan")
        self._massager = massager
        self.plan = plan
        self._safety = safety
        self._clock = clock or LoopClock()
        if not isinstance(history, HistoryChoice) and not hasattr(history, "frequency_warnings"):
            raise TypeError("history must be a HistoryStore, DEFAULT_HISTORY or NO_HISTORY")
        self._history_choice = history if isinstance(history, HistoryChoice) else None
        self._history: HistoryStore | None = None if isinstance(history, HistoryChoice) else history
        #: The default history, opened by this session and closed when it is left.
        self._owned_history: HistoryStore | None = None
        self._override = override_frequency
        self._device_name = device_name or massager.description
        self._backoff = reconnect_backoff_s
        self.session_id: int | None = None
        self.phase = Phase.READY
        self._accumulated_s = 0.0
        self._active_since: float | None = None
        self._warm_up_end_s = rules.WARM_UP_S
        self._intensity = 1
        self._heat = 0
        self._max_intensity = 0
        self._last_increase_s: float | None = None
        self._last_heat_increase_s: float | None = None
        self._too_much = 0
        self._halt_since: float | None = None
        self._last_step_down_s = 0.0
        self._last_sample_s = -SAMPLE_INTERVAL_S
        self._heat_blocked: str | None = None
        self._pad_temp_c: float | None = None
        self._last_status: DeviceStatus | None = None
        #: R7: the climb's goal; a decrease or "too much" lowers it for the rest of the session.
        self._target = plan.target_intensity
        #: What the device may report while commands are on their way (the most recent asked for).
        self._allowed_running = False
        self._allowed_intensity = 1
        self._allowed_heat = 0
        #: Loop time from which statuses are checked against what was asked (None: not yet).
        self._checks_from: float | None = None
        #: Why the device is not trusted any more (set once; the session then ends).
        self._hazard: str | None = None
        #: Loop time of the last START we had acknowledged; statuses after it reflect it.
        self._commanded_at = 0.0
        self._faults: list[FaultReport] = []
        self._notice: str | None = None
        self._notices: list[str] = []
        self._overrides: list[str] = []
        self._advice: str | None = None
        self._end_reason: EndReason | None = None
        self._reconnecting = False
        self._lock = asyncio.Lock()
        self._done = asyncio.Event()
        self._subscribers: list[Callable[[SessionUpdate], None]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._history_failed = False
        self._writer: HistoryWriter | None = None
        #: While the session runs, its control loop is what keeps the device's watchdog fed.
        self._keepalive = contextlib.ExitStack()

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Session:
        try:
            await self.begin()
        except BaseException:
            self._close_owned_history()
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
        self._close_owned_history()

    def _device_model(self) -> str:
        identity = self._massager.identity
        return identity.model if identity is not None else ""

    async def begin(self) -> None:
        """R8 and R9, then a known state — the lightest setting (R2) and the plan's heat, 0
        included (R6) — before the warm-up counts."""
        self._safety.require()
        self._open_default_history()
        warnings = await self._frequency_warnings()
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
        self.session_id = await self._history_call(
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
            if self.session_id is not None and self._writer is not None:
                self._writer.record_override(self._sid, "R9", self._override, at_s=0.0)
        self._unsubscribe.append(self._massager.on_status(self._on_status))
        self._unsubscribe.append(self._massager.on_fault(self._on_fault))
        has_heat = self._massager.capabilities.heat_levels > 0
        heat = 1 if self.plan.heat and has_heat and not self._heat_blocked else 0
        rules.check_start_level(1, heat)
        try:
            await self._drive_intensity(1, start=True)
            if has_heat:
                await self._drive_heat(heat)  # set even when 0: the heater may have been left on
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

    async def wait(self) -> SessionSummary:
        """Until the session ends; returns its summary."""
        await self._done.wait()
        return self.record

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def record(self) -> SessionSummary:
        return SessionSummary(
            session_id=self.session_id,
            plan=self.plan,
            end_reason=self._end_reason or EndReason.STOPPED,
            massage_s=self.massage_s,
            max_intensity=self._max_intensity,
            too_much_count=self._too_much,
            overrides=tuple(self._overrides),
            notices=tuple(self._notices),
            advice=self._advice,
        )

    # --- what a person sees ----------------------------------------------------------------

    @property
    def massage_s(self) -> float:
        if self._active_since is None:
            return self._accumulated_s
        return self._accumulated_s + self._clock.now() - self._active_since

    @property
    def intensity(self) -> int:
        return self._intensity

    @property
    def heat(self) -> int:
        return self._heat

    def snapshot(self) -> SessionUpdate:
        return SessionUpdate(
            phase=self.phase,
            massage_s=min(self.massage_s, self.plan.duration_s),
            planned_s=self.plan.duration_s,
            intensity=self._intensity,
            heat=self._heat,
            pad_temp_c=self._pad_temp_c,
            next_action=self.next_action(),
            notice=self._notice,
            end_reason=self._end_reason,
        )

    def next_action(self) -> str:
        """The next thing the person may do, in words."""
        state = self._rule_state()
        if self.phase is Phase.DONE:
            return "session over"
        if self.phase is Phase.PAUSED:
            return f"resume or stop (ends by itself in {_clock_text(self._halt_left())})"
        if self.phase is Phase.INTERRUPTED:
            if self._reconnecting:
                return "reconnecting…"
            return f"resume at the lightest setting, or stop (ends in {_clock_text(self._halt_left())})"
        if self.phase is Phase.STEP_DOWN:
            return "winding down — stop whenever you like"
        try:
            level = rules.check_increase(state)
        except RuleViolation as refusal:
            if refusal.rule == "R3":
                return f"increases unlock in {_clock_text(state.warm_up_end_s - state.massage_s)}"
            return str(refusal)
        return f"you may increase to {level}"

    async def updates(self) -> AsyncIterator[SessionUpdate]:
        """Updates until the session ends (the last one has ``end_reason`` set)."""
        queue: asyncio.Queue[SessionUpdate] = asyncio.Queue(64)

        def push(update: SessionUpdate) -> None:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(update)

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
            self._announce(f"lowered to {level}; tell us again if it is still too much")
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

    async def pause(self) -> None:
        async with self._guard("pause"):
            self._require_active(allow_step_down=True)
            await self._massager.stop()
            self._allowed_running, self._allowed_heat = False, 0
            self._halt(Phase.PAUSED)
            self._record("pause")

    async def resume(self) -> None:
        """Back to massage at the lightest setting; a long gap means a new warm-up (R10)."""
        async with self._guard("resume"):
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
            except MedctlError:
                if self._end_reason is not None:  # a STOP came in between: it stays stopped
                    return
                await self._massager.stop()  # half started is not a state to leave the device in
                self._allowed_running, self._allowed_heat = False, 0
                raise
            self._heat = heat
            self._set_intensity(1)
            self._last_increase_s = self._last_heat_increase_s = None
            self._halt_since = None
            new_warm_up = gap >= rules.RESUME_WARM_UP_GAP_S or self._warm_up_end_s > self.massage_s
            if new_warm_up:
                self._warm_up_end_s = self.massage_s + rules.WARM_UP_S
            self._commanded_at = asyncio.get_running_loop().time()
            self._record("resume", detail=f"after {gap:.0f} s")
            self._enter(Phase.WARM_UP if new_warm_up else Phase.MASSAGE)

    # --- the control loop ------------------------------------------------------------------

    async def _run(self) -> None:
        while not self.done:
            await self._clock.sleep(TICK_S)
            async with self._lock:
                if self.done:
                    return
                try:
                    await self._tick()
                except RuleViolation:
                    pass
                except MedctlError as exc:
                    _LOGGER.info("session tick: %s", exc)
            await self._massager.keepalive()
            self._publish()

    async def _tick(self) -> None:
        if self._hazard is not None:  # the session is ending: nothing more goes to the device
            return
        await self._handle_faults()
        if self.done:
            return
        if self.phase in ACTIVE_PHASES and self._switched_itself_off():
            # its run budget ran out (SPEC §7.6), whether or not a FAULT event told us
            await self._finish(EndReason.COMPLETED, notice=SWITCHED_OFF)
            return
        if self.phase in ACTIVE_PHASES and self._stopped_elsewhere():
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

    def _switched_itself_off(self) -> bool:
        """The device reports its motor off with AUTO_OFF latched although we run it."""
        status = self._last_status
        return (
            status is not None
            and status.received_at > self._commanded_at
            and not status.running
            and bool(status.faults & Fault.AUTO_OFF)
        )

    def _stopped_elsewhere(self) -> bool:
        """The device reports its motor off although we run it, and no fault or link loss explains it."""
        status = self._last_status
        explained = Fault.LINK_LOST | Fault.MOTOR_STALL | Fault.BATTERY_EMPTY | Fault.AUTO_OFF
        return (
            status is not None
            and status.received_at > self._commanded_at
            and not status.running
            and status.owned
            and not status.faults & explained
        )

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
                self._announce("link lost: the massager stops by itself within seconds (watchdog); reconnecting…")
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
            return True
        return False

    def _reconnect_waits(self) -> Iterator[float]:
        yield from self._backoff
        while True:
            yield min(self._backoff[-1], RECONNECT_EVERY_S) if self._backoff else RECONNECT_EVERY_S

    # --- internals -------------------------------------------------------------------------

    async def _finish(self, reason: EndReason, *, notice: str | None = None, error: str | None = None) -> None:
        """End the session: the device stops first, then the record is closed.

        A second call waits for the first to be through; the session is done even when the
        STOP is interrupted (cancelled), so ``wait()`` and ``updates()`` always end.
        """
        if self._end_reason is not None:
            await self._done.wait()
            return
        self._end_reason = reason
        self._massager.end()  # before the STOP: whatever was issued before it goes no further
        self._allowed_running, self._allowed_heat = False, 0
        try:
            with contextlib.suppress(MedctlError):
                await self._massager.stop()
        finally:
            await self._close_session(reason, notice, error)

    async def _close_session(self, reason: EndReason, notice: str | None, error: str | None) -> None:
        """Close the record once the device is stopped; the session is done even if cancelled meanwhile."""
        if error is not None:
            self._record("error", detail=error)
        self._heat = 0  # STOP turns the heater off too
        if self._active_since is not None:
            self._accumulated_s = self.massage_s
            self._active_since = None
        self._accumulated_s = min(self._accumulated_s, self.plan.duration_s)
        self.phase = Phase.DONE
        self._record("stop", detail=reason.value)
        if notice:
            self._announce(notice)
        if self.session_id is not None and self._writer is not None:
            self._writer.end_session(
                self._sid, reason=reason.value, massage_s=self._accumulated_s, max_intensity=self._max_intensity
            )
        for unsubscribe in self._unsubscribe:
            with contextlib.suppress(ValueError):
                unsubscribe()
        self._unsubscribe.clear()
        self._keepalive.close()
        try:
            if self._writer is not None:  # the device is stopped: now wait (bounded, off the loop) for the record
                await self._writer.flush(HISTORY_FLUSH_S)
        finally:  # even if cancelled while waiting, the session is over
            self._done.set()
            self._publish()

    # --- commands: every path re-checks after its await that no STOP came in between ----------

    async def _drive_intensity(self, level: int, *, start: bool = False) -> None:
        """START at, or set, *level*; while on its way, statuses may show the old or the new level."""
        self._ensure_not_ended()
        self._allowed_intensity = max(self._allowed_intensity, level)
        if start:
            self._allowed_running = True
            await self._massager.start(level)
        else:
            await self._massager.set_intensity(level)
        self._ensure_not_ended()
        self._allowed_intensity = level

    async def _drive_heat(self, level: int) -> None:
        self._ensure_not_ended()
        self._allowed_heat = max(self._allowed_heat, level)
        await self._massager.set_heat(level)
        self._ensure_not_ended()
        self._allowed_heat = level

    def _ensure_not_ended(self) -> None:
        if self._end_reason is not None:
            raise _SessionStopped

    def _lower_target(self, level: int) -> None:
        """R7: the person's word is final; only the person raises the level again."""
        if self._target is not None and self._target > level:
            self._target = level
            self._record("target", intensity=level, detail="lowered by the person")

    # --- the device is trusted only as far as it does what was asked --------------------------

    def _untrusted(self, status: DeviceStatus) -> str | None:
        """Why *status* shows a device doing what nobody asked for, or None."""
        if self._checks_from is None or status.received_at <= self._checks_from:
            return None
        if self.phase not in ACTIVE_PHASES and self.phase is not Phase.PAUSED:
            return None  # before the start, during a reconnect, and after the end: nothing is expected
        caps = self._massager.capabilities
        if caps.reports_pad_temp and status.pad_temp_c > caps.pad_temp_cap_c + PAD_TEMP_MARGIN_C:
            cap = caps.pad_temp_cap_c
            return f"the massager reports a pad at {status.pad_temp_c:.0f} °C, above its {cap:.0f} °C cap"
        if status.faults & Fault.OVER_TEMPERATURE and status.heat > 0:
            return f"the massager reports over-temperature with its heater still at {status.heat}"
        if status.heat > self._allowed_heat:
            return f"the massager reports heat {status.heat}; this session asked for {self._allowed_heat}"
        if status.running and not self._allowed_running:
            return "the massager runs although this session stopped it"
        if status.running and status.intensity > self._allowed_intensity:
            asked = self._allowed_intensity
            return f"the massager runs at intensity {status.intensity}; this session asked for {asked}"
        return None

    async def _misbehaved(self, problem: str) -> None:
        with contextlib.suppress(MedctlError):
            await self._massager.stop()  # at once: the record can wait
        self._record("hazard", detail=problem)
        await self._finish(
            EndReason.DEVICE_MISBEHAVED,
            notice=f"{problem}: medctl stopped it and ended the session. Have the massager checked before using it"
            " again.",
        )

    async def _prepare_device(self) -> None:
        """Clear latched faults the device allows to clear; refuse to start on one that stays."""
        status = self._massager.status
        if status is not None and status.faults:
            await self._massager.clear_faults()
        status = self._massager.status
        blocking = Fault.MOTOR_STALL | Fault.BATTERY_EMPTY
        if status is not None and status.faults & blocking:
            raise DeviceFault(
                f"the massager reports {(status.faults & blocking).name}: check it before a session",
                faults=status.faults,
            )
        if status is not None and status.faults & Fault.OVER_TEMPERATURE:
            self._heat_blocked = "the pad is still too hot: heat stays off for this session"

    async def _frequency_warnings(self) -> list[str]:
        """R9, read off the event loop; a history that cannot be read needs the override too."""
        if self._history is None:
            return []
        try:
            found = await self._history.writer().frequency_warnings()
        except MedctlError as exc:
            return [unreadable_warning(str(exc)).message]
        return [warning.message for warning in found]

    def _enter(self, phase: Phase) -> None:
        if phase in ACTIVE_PHASES and self._active_since is None:
            self._active_since = self._clock.now()
        self.phase = phase
        self._record("phase", phase=phase.value)
        self._publish()

    def _halt(self, phase: Phase) -> None:
        if self._active_since is not None:
            self._accumulated_s = self.massage_s
            self._active_since = None
        self._halt_since = self._clock.now()
        self.phase = phase
        self._record("phase", phase=phase.value)
        self._publish()

    def _halt_elapsed(self) -> float:
        return 0.0 if self._halt_since is None else self._clock.now() - self._halt_since

    def _halt_left(self) -> float:
        return max(0.0, self.plan.pause_limit_s - self._halt_elapsed())

    def _set_intensity(self, level: int, *, increase: bool = False) -> None:
        self._intensity = level
        self._max_intensity = max(self._max_intensity, level)
        if increase:
            self._last_increase_s = self.massage_s
        self._record("intensity", intensity=level)

    def _rule_state(self) -> RuleState:
        caps = self._massager.capabilities
        return RuleState(
            massage_s=self.massage_s,
            warm_up_end_s=self._warm_up_end_s,
            intensity=self._intensity,
            heat=self._heat,
            max_intensity=caps.intensity_levels,
            max_heat=caps.heat_levels,
            last_increase_s=self._last_increase_s,
            increase_spacing_s=self.plan.increase_spacing_s,
            planned_s=self.plan.duration_s,
            stepping_down=self.phase is Phase.STEP_DOWN,
            heat_blocked=self._heat_blocked,
        )

    def _require_active(self, *, allow_step_down: bool = False) -> None:
        if self.phase in (Phase.WARM_UP, Phase.MASSAGE) or (allow_step_down and self.phase is Phase.STEP_DOWN):
            return
        if self.phase is Phase.DONE:
            raise RuleViolation("R5", "the session has ended")
        if self.phase is Phase.STEP_DOWN:
            raise RuleViolation("R5", "the session is winding down: no more increases")
        raise RuleViolation("R10", f"the session is {self.phase.value.replace('_', ' ')}: resume first")

    @contextlib.asynccontextmanager
    async def _guard(self, action: str) -> AsyncIterator[None]:
        """Serialise actions with the control loop; record refusals; publish the result."""
        async with self._lock:
            try:
                yield
            except RuleViolation as refusal:
                self._record("refused", detail=f"{action}: {refusal.rule}: {refusal}")
                raise
            finally:
                self._publish()

    def _on_status(self, status: DeviceStatus) -> None:
        self._pad_temp_c = status.pad_temp_c
        self._last_status = status
        problem = self._untrusted(status)
        if problem is not None and self._hazard is None and self._end_reason is None:
            self._hazard = problem
            self._spawn(self._misbehaved(problem), "medctl-hazard")

    def _on_fault(self, event: FaultReport) -> None:
        self._faults.append(event)

    def _announce(self, notice: str) -> None:
        self._notice = notice
        self._notices.append(notice)
        self._publish()

    def _publish(self) -> None:
        if not self._subscribers:
            return
        update = self.snapshot()
        for push in list(self._subscribers):
            push(update)

    @property
    def _sid(self) -> int:
        assert self.session_id is not None
        return self.session_id

    def _record(
        self,
        kind: str,
        *,
        phase: str | None = None,
        intensity: int | None = None,
        heat: int | None = None,
        pad_temp_c: float | None = None,
        detail: str | None = None,
    ) -> None:
        """Queue one event for the history's writer thread: never waits on the file."""
        if self.session_id is None or self._writer is None:
            return
        self._writer.record_event(
            self._sid,
            kind,
            at_s=round(self.massage_s, 3),
            phase=phase or self.phase.value,
            intensity=intensity,
            heat=heat,
            pad_temp_c=pad_temp_c,
            detail=detail,
        )

    async def _history_call(self, call: Callable[[HistoryWriter], Awaitable[T]]) -> T | None:
        """An answer from the history's writer thread, before the device starts.

        History problems never stop a session (the device's safety comes first): the person is
        told once, in one line (the writer tells of a lock or a failure later on the same way).
        """
        if self._history is None or self._history_failed:
            return None
        try:
            writer = self._writer or self._history.writer()
            result = await call(writer)
        except MedctlError as exc:
            self._history_failed = True
            self._writer = None
            self._announce(f"history is not being saved: {exc}")
            return None
        if self._writer is None:  # from now on the writer tells of its problems itself
            self._writer = writer
            self._unsubscribe.append(writer.on_problem(self._announce))
        return result

    def _open_default_history(self) -> None:
        """R9 on by default: the default history unless the caller chose another or NO_HISTORY."""
        if self._history_choice is HistoryChoice.DEFAULT and self._history is None:
            from medctl.history import HistoryStore, default_db_path

            # unopened: the session's writer opens it, and a file it cannot read needs the R9 override
            self._history = self._owned_history = HistoryStore(default_db_path())

    def _close_owned_history(self) -> None:
        owned, self._owned_history = self._owned_history, None
        if owned is not None:
            owned.close()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._supervise)

    def _supervise(self, task: asyncio.Task[None]) -> None:
        """An unexpected error in a background task stops the device and ends the session (``error``)."""
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        _LOGGER.error("session task %s failed", task.get_name(), exc_info=error)
        if self._end_reason is None and task.get_name() != _FAIL_TASK:
            self._spawn(self._fail(error), _FAIL_TASK)
        elif not self._done.is_set():  # the ending itself failed: still, the session is over
            self._end_reason = self._end_reason or EndReason.ERROR
            self.phase = Phase.DONE
            self._keepalive.close()
            self._done.set()
            self._publish()

    async def _fail(self, error: BaseException) -> None:
        what = f"{type(error).__name__}: {error}"
        await self._finish(
            EndReason.ERROR, notice=f"an internal error stopped the massager and ended the session ({what})", error=what
        )

    async def _cancel_tasks(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)  # their outcomes were read by _supervise


def _clock_text(seconds: float) -> str:
    whole = max(0, int(seconds + 0.999))
    return f"{whole // 60}:{whole % 60:02d}"


__all__ = [
    "ConnectionLost",
    "EndReason",
    "FrequencyOverrideRequired",
    "HistoryChoice",
    "Phase",
    "Session",
    "SessionSummary",
    "SessionUpdate",
]
