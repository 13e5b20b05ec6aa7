"""The state every part of a guided session shares, and what ends a session safely.

:class:`SessionCore` holds the session's state and the paths that touch the device: every
command path re-checks after each await that no STOP came in between (the STOP latch), the
end always stops the device first, statuses are checked against what was asked
(:mod:`.hazards`), and background tasks are supervised. The control loop (:mod:`.loop`) and the
person's actions (:mod:`.engine`) build on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final, TypeVar

from medctl.clock import Clock, LoopClock
from medctl.devices.base import DeviceStatus, FaultReport
from medctl.devices.base import FaultFlag as Fault
from medctl.errors import DeviceFault, MedctlError
from medctl.formatting import clock_text
from medctl.session import hazards, rules
from medctl.session.choice import DEFAULT_HISTORY, HistoryChoice
from medctl.session.plan import SafetyCheck, SessionPlan
from medctl.session.recorder import SessionRecorder
from medctl.session.rules import RuleState, RuleViolation
from medctl.session.state import (
    ACTIVE_PHASES,
    EndReason,
    Phase,
    SessionStopped,
    SessionSummary,
    SessionUpdate,
)
from medctl.session.timer import SessionTimer

if TYPE_CHECKING:
    from medctl.devices.base import Massager
    from medctl.history import HistoryStore, HistoryWriter

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

#: Temperature and levels are sampled into the history this often (session time).
SAMPLE_INTERVAL_S: Final = 10.0
#: At the end of a session, wait this long (real time, off the loop) for its history to be written;
#: a file still locked after it gets the rest written when it is free, while medctl stays open.
HISTORY_FLUSH_S: Final = 2.0
#: R10: the first reconnect attempts after a lost link, with these waits (link time) before them;
#: then one every RECONNECT_EVERY_S for as long as the session may stay interrupted (its pause limit).
RECONNECT_BACKOFF_S: Final = (0.5, 1.0, 2.0, 4.0)
RECONNECT_EVERY_S: Final = 5.0
#: The name of the task that ends a session after an unexpected error in another one.
_FAIL_TASK: Final = "medctl-session-error"


class SessionCore:
    """One guided session's state and its safe paths to the device (see :class:`~medctl.session.Session`)."""

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
        self._recorder = SessionRecorder(history, self._announce)
        self._override = override_frequency
        self._device_name = device_name or massager.description
        self._backoff = reconnect_backoff_s
        self.phase = Phase.READY
        self._timer = SessionTimer(self._clock)
        self._warm_up_end_s = rules.WARM_UP_S
        self._intensity = 1
        self._heat = 0
        self._mode: str | None = None
        self._max_intensity = 0
        self._last_increase_s: float | None = None
        self._last_heat_increase_s: float | None = None
        self._too_much = 0
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
        #: Set by whatever may make something due sooner (a status, a fault, an action, the link).
        self._wake = asyncio.Event()
        #: Loop time at which the device's watchdog next needs feeding (None: it has none).
        self._heartbeat_at: float | None = None
        self._done = asyncio.Event()
        self._subscribers: list[Callable[[SessionUpdate], None]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        #: While the session runs, its control loop is what keeps the device's watchdog fed.
        self._keepalive = contextlib.ExitStack()

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

    # --- what a person sees (the engine publishes it) ----------------------------------------------------------------

    @property
    def massage_s(self) -> float:
        return self._timer.massage_s

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
            mode=self._mode,
        )

    def next_action(self) -> str:
        """The next thing the person may do, in words."""
        state = self._rule_state()
        if self.phase is Phase.DONE:
            return "session over"
        if self.phase is Phase.PAUSED:
            return f"resume or stop (ends by itself in {clock_text(self._halt_left())})"
        if self.phase is Phase.INTERRUPTED:
            if self._reconnecting:
                return "reconnecting…"
            return f"resume at the lightest setting, or stop (ends in {clock_text(self._halt_left())})"
        if self.phase is Phase.STEP_DOWN:
            return "stop whenever you like"
        try:
            level = rules.check_increase(state)
        except RuleViolation as refusal:
            if refusal.rule == "R3":
                return f"increases unlock in {clock_text(state.warm_up_end_s - state.massage_s)}"
            return str(refusal)
        return f"you may increase to {level}"

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
        massage_s = self._timer.end(self.plan.duration_s)
        self.phase = Phase.DONE
        self._record("stop", detail=reason.value)
        if notice:
            self._announce(notice)
        self._recorder.end(reason.value, massage_s=massage_s, max_intensity=self._max_intensity)
        for unsubscribe in self._unsubscribe:
            with contextlib.suppress(ValueError):
                unsubscribe()
        self._unsubscribe.clear()
        if self._recorder.unsubscribe is not None:
            with contextlib.suppress(ValueError):
                self._recorder.unsubscribe()
        self._keepalive.close()
        try:
            await self._recorder.flush(HISTORY_FLUSH_S)  # the device is stopped: now wait (bounded, off the loop)
        finally:  # even if cancelled while waiting, the session is over
            self._done.set()
            self._wake.set()
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
            raise SessionStopped

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
        allowed = hazards.Allowed(self._allowed_running, self._allowed_intensity, self._allowed_heat)
        return hazards.untrusted(status, allowed, self._massager.capabilities)

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
        blocking = hazards.BLOCKING
        if status is not None and status.faults & blocking:
            raise DeviceFault(
                f"the massager reports {(status.faults & blocking).name}: check it before a session",
                faults=status.faults,
            )
        if status is not None and status.faults & Fault.OVER_TEMPERATURE:
            self._heat_blocked = "the pad overheated and is still too hot: heat stays off for this session"

    def _enter(self, phase: Phase) -> None:
        if phase in ACTIVE_PHASES:
            self._timer.run()
        self.phase = phase
        self._record("phase", phase=phase.value)
        self._publish()

    def _halt(self, phase: Phase) -> None:
        self._timer.halt()
        self.phase = phase
        self._record("phase", phase=phase.value)
        self._publish()

    def _halt_elapsed(self) -> float:
        return self._timer.halt_elapsed()

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
                self._wake.set()  # the action may have made something due sooner
                self._publish()

    def _on_status(self, status: DeviceStatus) -> None:
        previous, self._last_status = self._last_status, status
        self._pad_temp_c = status.pad_temp_c
        if not status.running or previous is None or status.faults != previous.faults:
            self._wake.set()  # what a round acts on: a motor reported off (R11, stopped elsewhere), faults
        else:
            self._publish()  # a new reading, nothing to act on: shown without a round
        problem = self._untrusted(status)
        if problem is not None and self._hazard is None and self._end_reason is None:
            self._hazard = problem
            self._spawn(self._misbehaved(problem), "medctl-hazard")

    def _on_fault(self, event: FaultReport) -> None:
        self._faults.append(event)
        self._wake.set()

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
    def session_id(self) -> int | None:
        """This session's id in the history, once it is recorded there."""
        return self._recorder.session_id

    @property
    def _writer(self) -> HistoryWriter | None:
        return self._recorder.writer

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
        self._recorder.event(
            kind,
            at_s=self.massage_s,
            phase=phase or self.phase.value,
            intensity=intensity,
            heat=heat,
            pad_temp_c=pad_temp_c,
            detail=detail,
        )

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
