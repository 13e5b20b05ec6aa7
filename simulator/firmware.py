"""The massager's firmware: a pure, synchronous state machine (SPEC.md §7, DESIGN.md §3).

:class:`Firmware` owns the device state and answers frames; it does no I/O and no asyncio.
Transports hand it the frames they receive (:meth:`Firmware.receive`), and it answers
through the :class:`Link` the frame arrived on. Something must call :meth:`Firmware.poll`
regularly to advance the physics, enforce the safety limits and send the periodic STATUS.

Two clocks are injected: device time (thermal model, auto-off, battery) and link time
(the watchdog), so an accelerated demo still expects a heartbeat every real second.
Pairing and the authentication of requests (SPEC.md §11) are in :mod:`simulator.auth`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

from firmware_protocol import (
    SUPPORTED_VERSIONS,
    Ack,
    ClearFaults,
    DeviceMessage,
    ErrorCode,
    Fault,
    FaultEvent,
    Feature,
    Frame,
    FrameError,
    GetInfo,
    GetStatus,
    Goodbye,
    Heartbeat,
    Hello,
    HelloResult,
    InfoField,
    InfoResult,
    Message,
    MessageError,
    MotorState,
    MsgType,
    Nack,
    PairBegin,
    PairConfirm,
    PakeBegin,
    PakePart,
    Request,
    SessionBegin,
    SetHeat,
    SetIntensity,
    SetMode,
    Start,
    Status,
    StatusFlag,
    Stop,
    UnknownType,
    UnsupportedVersion,
    decode_message,
    heat_targets_text,
)
from firmware_protocol.constants import NO_BATTERY
from firmware_protocol.messages import MESSAGE_TYPES
from simulator.auth import AUTH_PROTOCOL_VERSION, AuthRefused, Channel, DeviceAuth, PendingPake
from simulator.config import DeviceConfig
from simulator.thermal import step_temperature

#: Over-temperature may only be cleared once the pad has cooled this far below the limit.
OVER_TEMPERATURE_HYSTERESIS_C: Final = 3.0
#: Battery-empty may only be cleared above this charge (percent).
BATTERY_CLEAR_PERCENT: Final = 5.0
#: How far past the limit an injected over-temperature heats the pad.
FORCED_OVERSHOOT_C: Final = 1.0
#: Faults that keep the motor from starting.
START_BLOCKERS: Final = Fault.MOTOR_STALL | Fault.BATTERY_EMPTY
#: Faults that keep the heater from switching on.
HEAT_BLOCKERS: Final = Fault.OVER_TEMPERATURE
#: The only level the motor may start at from standstill (SPEC.md §7.4.5, DESIGN.md R2).
LIGHTEST_LEVEL: Final = 1
#: FAULT AUTO_OFF ``detail``: which time limit tripped (SPEC.md §5.6, §7.6).
AUTO_OFF_RUN: Final = 0
AUTO_OFF_HEAT: Final = 1
#: Types 0x80..0xFF flow device → controller (answers and events); a device never executes them.
DEVICE_TYPE_BIT: Final = 0x80
#: STATUS carries these as i16 hundredths of a degree and u16 seconds.
_I16: Final = (-0x8000, 0x7FFF)
_U16_MAX: Final = 0xFFFF


class Link(Protocol):
    """One connection to the device, as the firmware sees it. ``send_frame`` must not block."""

    @property
    def name(self) -> str: ...

    def send_frame(self, frame: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A snapshot of the device: what a STATUS reports, plus ownership and traffic counters."""

    state: MotorState
    intensity: int
    heat: int
    pad_temp_c: float
    faults: Fault
    owner: int | None
    battery: int | None
    run_seconds: float
    links: int = 0
    #: The massage mode's number (SPEC.md §7.4.11); 0 on a device without modes.
    mode: int = 0
    #: Motor and heater time used from their budgets (SPEC.md §7.6), and whether each is exhausted.
    run_used_s: float = 0.0
    heat_used_s: float = 0.0
    run_locked: bool = False
    heat_locked: bool = False
    frames_received: int = 0
    frames_sent: int = 0
    frames_dropped: int = 0
    nacks_sent: int = 0
    duplicates: int = 0
    requests_executed: int = 0
    #: Frames the authentication step refused (SPEC.md §11.6), by reason; forged STOPs count too.
    auth_required: int = 0
    auth_failed: int = 0
    replayed: int = 0
    paired_controllers: int = 0

    @property
    def running(self) -> bool:
        return self.state is MotorState.RUNNING

    @property
    def owned(self) -> bool:
        return self.owner is not None


@dataclass
class _Counters:
    frames_received: int = 0
    frames_sent: int = 0
    frames_dropped: int = 0
    nacks_sent: int = 0
    duplicates: int = 0
    requests_executed: int = 0


@dataclass
class _LinkState:
    """Per-connection memory: the HELLO session and the last request with its answer."""

    controller_id: int | None = None
    last_request: bytes | None = None
    last_answer: bytes | None = None
    pairing: PendingPake | None = None
    #: The connection keys of SESSION_BEGIN (SPEC.md §12.2); authenticated frames are checked with them.
    channel: Channel | None = None
    #: True when the HELLO session was opened by an authenticated HELLO.
    authenticated: bool = False

    def end_session(self) -> None:
        self.controller_id = None
        self.authenticated = False
        self.forget()

    def forget(self) -> None:
        self.last_request = None
        self.last_answer = None


@dataclass
class _Injected:
    """Device faults switched on from outside (see :class:`simulator.faults.FaultInjector`)."""

    stall: bool = False
    refusal: ErrorCode | None = None
    overheat: bool = False


@dataclass
class _Budget:
    """Time an output may still be on (SPEC.md §7.6): used while on, given back slowly while off.

    Once exhausted it stays ``locked`` until rest has refilled it completely, so stopping
    and starting again cannot reset it.
    """

    used: float = 0.0
    locked: bool = False

    def step(self, on: bool, dt: float, refill: float) -> None:
        if on:
            self.used += dt
            return
        self.used = max(0.0, self.used - refill * dt)
        if self.used == 0.0:
            self.locked = False


@dataclass
class _Physics:
    motor: MotorState = MotorState.IDLE
    intensity: int = 1
    heat: int = 0
    #: The massage mode (SPEC.md §7.4.11): STOP and the watchdog leave it as it is.
    mode: int = 0
    pad_temp_c: float = 0.0
    run_s: float = 0.0
    battery: float | None = None
    faults: Fault = Fault.NONE
    run_budget: _Budget = field(default_factory=_Budget)
    heat_budget: _Budget = field(default_factory=_Budget)


class _Refused(Exception):
    """Raised inside a request handler to answer with a NACK."""

    def __init__(self, code: ErrorCode, detail: int = 0) -> None:
        super().__init__(code.name)
        self.code = code
        self.detail = detail


@dataclass
class _Ownership:
    controller_id: int | None = None
    link: Link | None = None
    deadline: float | None = None
    epoch: int = 0


@dataclass
class _Schedule:
    last_time: float | None = None
    next_status: float = math.inf
    status_key: tuple[object, ...] = ()
    event_seq: int = 0
    pending: list[DeviceMessage] = field(default_factory=list)


class Firmware:
    """The device's state machine. Every public method returns promptly and never raises on input."""

    def __init__(
        self,
        config: DeviceConfig,
        clock: Callable[[], float],
        link_clock: Callable[[], float],
        on_change: Callable[[], None] | None = None,
        auth: DeviceAuth | None = None,
    ) -> None:
        self.config = config
        #: Pairing code and keys; outlive links and power cycles (SPEC.md §11, §12).
        self.auth = auth if auth is not None else DeviceAuth(config.pairing_code)
        self.auth.power_on()
        self._clock = clock
        self._link_clock = link_clock
        self._on_change = on_change
        self._links: dict[Link, _LinkState] = {}
        self._physics = _Physics(pad_temp_c=config.ambient_c, battery=100.0 if config.battery else None)
        self._owner = _Ownership()
        self._injected = _Injected()
        self._schedule = _Schedule()
        self._counters = _Counters()
        self._schedule.status_key = self._status_key()

    # --- links -----------------------------------------------------------------------------

    def attach(self, link: Link) -> None:
        """Start talking to *link*: it may send requests; it gets events only after HELLO."""
        self._links.setdefault(link, _LinkState())
        self._changed()

    def detach(self, link: Link) -> None:
        """Forget *link*. Ownership survives: the watchdog or a reconnect of the same controller ends it."""
        self._links.pop(link, None)
        if self._owner.link is link:
            self._owner.link = None
        self._changed()

    @property
    def links(self) -> tuple[Link, ...]:
        return tuple(self._links)

    @property
    def owner_link(self) -> Link | None:
        """The link the owner spoke on last; None when nobody owns the device (endpoints never evict it)."""
        return self._owner.link

    @property
    def pairing_code(self) -> str:
        """The code printed on the device, e.g. ``7KQM-3XHP``."""
        return self.auth.code

    def open_pairing_window(self) -> None:
        """The pairing button: pairing is open for a while (SPEC.md §12.4)."""
        self.auth.open_window(self._link_clock())
        self._changed()

    # --- input -----------------------------------------------------------------------------

    def receive(self, link: Link, data: bytes) -> None:
        """Handle one frame's bytes from *link*, answering on *link*. Invalid frames are dropped."""
        state = self._links.get(link) or self._links.setdefault(link, _LinkState())
        self._advance()
        try:
            frame = Frame.loads(data)
        except UnsupportedVersion as exc:
            self._nack_version(link, exc)
        except FrameError:
            self._counters.frames_dropped += 1
        else:
            self._on_frame(link, state, frame, bytes(data))
        self._settle()
        self._changed()

    def frame_error(self, link: Link, error: FrameError) -> None:
        """A stream decoder on *link* rejected a packet: answer it if the header can be trusted."""
        self._links.setdefault(link, _LinkState())
        if isinstance(error, UnsupportedVersion):
            self._nack_version(link, error)
        else:
            self._counters.frames_dropped += 1
        self._changed()

    def poll(self) -> None:
        """Advance the physics to now, enforce the safety limits, send STATUS when due."""
        now = self._advance()
        self._apply_forced_overheat()
        self._check_watchdog()
        self._check_over_temperature()
        self._check_stall()
        self._check_battery()
        self._check_auto_off()
        self._check_heat_limit()
        self._settle()
        self._send_periodic_status(now)
        self._changed()

    def due_in(self) -> tuple[float, float]:
        """How long until :meth:`poll` has something to do: (device seconds, link seconds); ``inf``
        when nothing is coming. Frames and injected faults poll through ``on_change`` instead."""
        p, cfg, schedule = self._physics, self.config, self._schedule
        now = self._now()
        device = [math.inf if cfg.deviations.no_periodic_status else schedule.next_status - now]
        if p.motor is MotorState.RUNNING:
            if not p.run_budget.locked:
                device.append(cfg.auto_off_s - p.run_budget.used)
            if p.battery is not None and p.battery > 0 and cfg.battery_drain_per_min > 0:
                device.append(p.battery / cfg.battery_drain_per_min * 60)
        if p.heat > 0 and not p.heat_budget.locked:
            device.append(cfg.heat_limit_s - p.heat_budget.used)
        device.append(self._over_temperature_in())
        link = math.inf
        if self._owner.controller_id is not None and self._owner.deadline is not None:
            link = self._owner.deadline - self._link_clock()
        return max(0.0, min(device)), max(0.0, link)

    def _over_temperature_in(self) -> float:
        """Device seconds until the pad crosses the limit on its way to the heat target (first order)."""
        p, cfg = self._physics, self.config
        target, limit = cfg.heat_target_c(p.heat), cfg.max_temp_c
        if p.faults & Fault.OVER_TEMPERATURE or target <= limit:
            return math.inf
        if p.pad_temp_c > limit:
            return 0.0
        return cfg.time_constant_s * math.log((target - p.pad_temp_c) / (target - limit))

    # --- observation -----------------------------------------------------------------------

    @property
    def state(self) -> DeviceState:
        p, c, a = self._physics, self._counters, self.auth.counters
        return DeviceState(
            state=p.motor,
            intensity=p.intensity,
            heat=p.heat,
            pad_temp_c=p.pad_temp_c,
            faults=p.faults,
            owner=self._owner.controller_id,
            battery=self._battery_percent(),
            run_seconds=p.run_s,
            links=len(self._links),
            mode=p.mode,
            run_used_s=p.run_budget.used,
            heat_used_s=p.heat_budget.used,
            run_locked=p.run_budget.locked,
            heat_locked=p.heat_budget.locked,
            frames_received=c.frames_received,
            frames_sent=c.frames_sent,
            frames_dropped=c.frames_dropped,
            nacks_sent=c.nacks_sent,
            duplicates=c.duplicates,
            requests_executed=c.requests_executed,
            auth_required=a.auth_required,
            auth_failed=a.auth_failed,
            replayed=a.replayed,
            paired_controllers=len(self.auth.controllers),
        )

    def status(self) -> Status:
        """The STATUS message describing the device right now."""
        p = self._physics
        battery = self._battery_percent()
        return Status(
            state=p.motor,
            intensity=p.intensity,
            heat=p.heat,
            pad_temp_centi_c=min(max(round(p.pad_temp_c * 100), _I16[0]), _I16[1]),
            faults=p.faults,
            battery=NO_BATTERY if battery is None else battery,
            flags=StatusFlag.OWNED if self._owner.controller_id is not None else StatusFlag.NONE,
            run_seconds=min(int(p.run_s), _U16_MAX),
        )

    # --- injected device faults -------------------------------------------------------------

    def inject_stall(self, stalled: bool) -> None:
        """Block (or free) the motor; a running motor stalls at the next poll."""
        self._injected.stall = stalled
        self._changed()

    def inject_refusal(self, code: ErrorCode | None) -> None:
        """NACK every request but STOP with *code* (None: answer normally again)."""
        self._injected.refusal = code
        self._changed()

    def inject_over_temperature(self) -> None:
        """Make the pad overshoot the temperature limit at the next poll."""
        self._injected.overheat = True
        self._changed()

    def set_battery(self, percent: float) -> None:
        """Set the battery charge (0..100); empty trips BATTERY_EMPTY at the next poll."""
        if self._physics.battery is None:
            raise RuntimeError("this device has no battery (DeviceConfig.battery is False)")
        self._physics.battery = min(max(percent, 0.0), 100.0)
        self._changed()

    def exhaust_run_budget(self) -> None:
        """Use up the motor's run budget now, as after 15 minutes of running; events go at the next poll."""
        budget = self._physics.run_budget
        budget.used = max(budget.used, self.config.auto_off_s)
        if not budget.locked:
            self._trip_run_budget()
        self._changed()

    def exhaust_heat_budget(self) -> None:
        """Use up the heater's budget now, as after 15 minutes of heating; events go at the next poll."""
        budget = self._physics.heat_budget
        budget.used = max(budget.used, self.config.heat_limit_s)
        if not budget.locked:
            self._trip_heat_budget()
        self._changed()

    def power_cycle(self) -> None:
        """Switched off and on, or a brown-out: outputs off and every setting at its power-on value
        (intensity 1, heat 0, mode 0, no faults), nobody owns the device and no link has a session.
        What a real unit keeps survives: the budgets (SPEC.md §7.1), the pairing keys, the pad's heat."""
        old = self._physics
        self._physics = _Physics(
            pad_temp_c=old.pad_temp_c, battery=old.battery, run_budget=old.run_budget, heat_budget=old.heat_budget
        )
        self._release_ownership()
        for state in self._links.values():
            state.end_session()
        self.auth.power_on()
        self._changed()

    @property
    def stall_injected(self) -> bool:
        return self._injected.stall

    # --- frames ------------------------------------------------------------------------------

    def _on_frame(self, link: Link, state: _LinkState, frame: Frame, data: bytes) -> None:
        self._counters.frames_received += 1
        if self._owner.link is link and not self.auth.paired and frame.msg_type != MsgType.HELLO:
            self._feed_watchdog()  # once paired, only the owner's authenticated frames feed it (SPEC §12.3)
        if data == state.last_request and state.last_answer is not None and not self.config.deviations.no_dedup:
            self._counters.duplicates += 1
            self._send(link, state.last_answer)
            return
        answer, remember = self._answer(link, state, frame)
        if remember:
            state.last_request, state.last_answer = data, answer
        self._send(link, answer)

    def _answer(self, link: Link, state: _LinkState, frame: Frame) -> tuple[bytes, bool]:
        """The answer to *frame*, and whether it enters the de-duplication memory."""
        if frame.msg_type == MsgType.SET_MODE and not self.config.modes:  # a device without modes (§7.4.11)
            return self._nack(frame.msg_type, frame.seq, ErrorCode.UNKNOWN_TYPE), True
        try:
            message = _decode_request(frame)
        except MessageError as exc:
            code = exc.code or ErrorCode.BAD_VALUE
            return self._nack(frame.msg_type, frame.seq, code, _error_detail(frame, code)), True
        deviated = False
        try:
            authenticated = self.auth.check(frame, message, state.channel, state.controller_id)
        except AuthRefused as refusal:  # refused frames never displace the memory (SPEC §11.6)
            if not self.config.deviations.accepts(refusal.code):
                return self._nack(frame.msg_type, frame.seq, refusal.code, refusal.detail), False
            authenticated = deviated = True
        owners = self._owner.link is link and (deviated or self._is_owner_channel(link, state))
        if authenticated and owners and not isinstance(message, Hello):
            self._feed_watchdog()
        try:
            data = self._execute(link, state, message, authenticated)
        except (_Refused, AuthRefused) as refusal:
            return self._nack(frame.msg_type, frame.seq, refusal.code, refusal.detail), True
        self._counters.requests_executed += 1
        return bytes(Ack(message.TYPE, data).to_frame(frame.seq)), True

    def _nack(self, msg_type: int, seq: int, code: ErrorCode, detail: int = 0) -> bytes:
        self._counters.nacks_sent += 1
        return bytes(Nack(msg_type, self.config.deviations.error_code(code), detail).to_frame(seq))

    def _nack_version(self, link: Link, error: UnsupportedVersion) -> None:
        self._counters.frames_received += 1
        self._send(link, self._nack(error.msg_type, error.seq, ErrorCode.UNSUPPORTED_VERSION, max(SUPPORTED_VERSIONS)))

    def _send(self, link: Link, frame: bytes) -> None:
        self._counters.frames_sent += 1
        link.send_frame(self.config.deviations.outgoing(frame))

    # --- requests ----------------------------------------------------------------------------

    def _is_owner_channel(self, link: Link, state: _LinkState) -> bool:
        """Whether *link* is the owner's and its connection keys are the owner's (SPEC.md §12.3)."""
        owner = self._owner
        return owner.link is link and state.channel is not None and state.channel.controller_id == owner.controller_id

    def _execute(self, link: Link, state: _LinkState, message: Request, authenticated: bool = False) -> bytes:
        message = self.config.deviations.level(message, self.config.intensity_levels, self.config.heat_levels)
        if self._injected.refusal is not None and not isinstance(message, Stop):
            raise _Refused(self._injected.refusal)
        match message:
            case Hello():
                data = self._hello(link, state, message)
                state.authenticated = authenticated
                return data
            case Goodbye():
                self._goodbye(link, state)
            case GetInfo():
                return self._info(message.info)
            case GetStatus():
                return self.status().payload()
            case Start():
                self._start(link, state, message.level)
            case Stop():
                self._stop_outputs()
            case SetIntensity():
                self._set_intensity(link, state, message.level)
            case SetHeat():
                self._set_heat(link, state, message.level)
            case SetMode():
                self._set_mode(link, state, message.mode)
            case ClearFaults():
                self._clear_faults(link, state, message.faults)
            case Heartbeat():
                pass
            case SessionBegin():
                state.channel, data = self.auth.begin_session(message)
                return data
            case PakeBegin():
                state.pairing = self.auth.begin_pake(self.config.serial, message, self._link_clock())
            case PakePart():
                return self.auth.pake_part(state.pairing, message)
            case PairBegin():  # version 2's pairing can be guessed offline from a recording (SPEC §12.4)
                raise _Refused(ErrorCode.UNSUPPORTED_VERSION, AUTH_PROTOCOL_VERSION)
            case PairConfirm():
                pending, state.pairing = state.pairing, None
                proof = self.auth.confirm(pending, message)
                self._end_plain_ownership()
                return proof
        return b""

    def _hello(self, link: Link, state: _LinkState, hello: Hello) -> bytes:
        version = _negotiate(hello.min_version, hello.max_version)
        owner = self._owner
        if owner.controller_id is not None and owner.controller_id != hello.controller_id:
            raise _Refused(ErrorCode.NOT_OWNER)
        self._end_other_session(link)
        owner.controller_id, owner.link = hello.controller_id, link
        owner.epoch += 1
        state.controller_id = hello.controller_id
        self._feed_watchdog()
        return self._hello_result(version).to_bytes()

    def _hello_result(self, version: int) -> HelloResult:
        cfg = self.config
        features = Feature.HEAT if cfg.heat_levels > 0 else Feature.NONE
        if cfg.battery:
            features |= Feature.BATTERY
        if cfg.modes:
            features |= Feature.MODES
        watchdog_ms = round(cfg.watchdog_s * 1000)
        return HelloResult(version, cfg.intensity_levels, cfg.heat_levels, features, watchdog_ms)

    def _end_plain_ownership(self) -> None:
        """A key was stored: an owner without authentication loses the device at once (SPEC.md §12.4)."""
        owner = self._owner
        if owner.controller_id is None:
            return
        state = self._links.get(owner.link) if owner.link is not None else None
        if state is not None and state.authenticated:
            return
        self._stop_outputs()
        self._release_ownership()  # its link still gets the STATUS that says so

    def _end_other_session(self, link: Link) -> None:
        """The owner reconnected on *link*: its previous link no longer speaks for it."""
        previous = self._owner.link
        if previous is not None and previous is not link and previous in self._links:
            self._links[previous].end_session()

    def _goodbye(self, link: Link, state: _LinkState) -> None:
        if self._owner.link is not link:
            return
        self._stop_outputs()
        self._release_ownership()
        state.end_session()

    def _info(self, info: InfoField) -> bytes:
        cfg = self.config
        if info is InfoField.HEAT_TARGETS and not cfg.reports_heat_targets:
            raise _Refused(ErrorCode.BAD_VALUE, info)  # as a firmware from before the field decodes it
        if info >= InfoField.MODE_0:
            if not cfg.modes:  # a device without modes knows no such field (SPEC.md §7.4.11)
                raise _Refused(ErrorCode.BAD_VALUE, info)
            number = info - InfoField.MODE_0
            return InfoResult(info, cfg.modes[number] if number < len(cfg.modes) else "").to_bytes()
        texts = {
            InfoField.MODEL: cfg.model,
            InfoField.FIRMWARE: cfg.firmware,
            InfoField.SERIAL: cfg.serial,
            InfoField.HEAT_TARGETS: heat_targets_text(cfg.heat_targets_c),
        }
        return InfoResult(info, texts[info]).to_bytes()

    def _start(self, link: Link, state: _LinkState, level: int) -> None:
        self._require_control(link, state)
        _require_range(level, 1, self.config.intensity_levels)
        p = self._physics
        if p.motor is MotorState.IDLE and not self.config.deviations.start_above_lightest:
            _require_range(level, LIGHTEST_LEVEL, LIGHTEST_LEVEL)  # from standstill only at the lightest level
        blocking = p.faults & START_BLOCKERS
        if p.run_budget.locked:
            blocking |= Fault.AUTO_OFF
        _require_clear(blocking)
        if p.motor is MotorState.IDLE:
            p.motor, p.run_s = MotorState.RUNNING, 0.0
        p.intensity = level

    def _set_intensity(self, link: Link, state: _LinkState, level: int) -> None:
        self._require_control(link, state)
        _require_range(level, 1, self.config.intensity_levels)
        self._physics.intensity = level

    def _set_mode(self, link: Link, state: _LinkState, mode: int) -> None:
        self._require_control(link, state)
        _require_range(mode, 0, len(self.config.modes) - 1)
        self._physics.mode = mode

    def _set_heat(self, link: Link, state: _LinkState, level: int) -> None:
        self._require_control(link, state)
        _require_range(level, 0, self.config.heat_levels)
        if level > 0:
            locked = Fault.AUTO_OFF if self._physics.heat_budget.locked else Fault.NONE
            _require_clear(self._physics.faults & HEAT_BLOCKERS | locked)
        self._physics.heat = level

    def _clear_faults(self, link: Link, state: _LinkState, mask: Fault) -> None:
        self._require_control(link, state)
        cleared = mask & self._physics.faults & self._clearable()
        self._physics.faults &= ~cleared
        for fault in Fault:
            if fault and fault & cleared:
                self._schedule.pending.append(FaultEvent(fault, active=False, detail=self._fault_detail(fault)))

    def _clearable(self) -> Fault:
        """Latched faults whose cause is gone."""
        clearable = Fault.LINK_LOST
        p = self._physics
        if not (p.run_budget.locked or p.heat_budget.locked):
            clearable |= Fault.AUTO_OFF
        if p.pad_temp_c < self.config.max_temp_c - OVER_TEMPERATURE_HYSTERESIS_C:
            clearable |= Fault.OVER_TEMPERATURE
        if not self._injected.stall:
            clearable |= Fault.MOTOR_STALL
        if p.battery is None or p.battery > BATTERY_CLEAR_PERCENT:
            clearable |= Fault.BATTERY_EMPTY
        return clearable

    def _require_control(self, link: Link, state: _LinkState) -> None:
        if self.config.deviations.ignore_ownership:
            return
        if state.controller_id is None:
            raise _Refused(ErrorCode.HELLO_REQUIRED)
        if self._owner.link is not link:
            raise _Refused(ErrorCode.NOT_OWNER)

    # --- outputs, ownership, faults ----------------------------------------------------------

    def _stop_outputs(self) -> None:
        p = self._physics
        p.motor, p.heat, p.run_s = MotorState.IDLE, 0, 0.0

    def _release_ownership(self) -> None:
        self._owner.controller_id = None
        self._owner.link = None
        self._owner.deadline = None

    def _feed_watchdog(self) -> None:
        self._owner.deadline = self._link_clock() + self.config.deviations.watchdog_s(self.config.watchdog_s)

    def _latch(self, fault: Fault, detail: int = 0) -> None:
        """Latch *fault*; a fault already latched is not raised again (no new FAULT event)."""
        if not self._physics.faults & fault:
            self._physics.faults |= fault
            self._schedule.pending.append(FaultEvent(fault, active=True, detail=detail))

    def _fault_detail(self, fault: Fault) -> int:
        """A FAULT event's detail: the pad's whole °C for over-temperature, else 0."""
        if fault is Fault.OVER_TEMPERATURE:
            return min(max(math.floor(self._physics.pad_temp_c), 0), 0xFF)
        return 0

    # --- physics and limits --------------------------------------------------------------------

    def _advance(self) -> float:
        """Bring the physics up to the device clock's now; return now."""
        now = self._clock()
        last = self._schedule.last_time
        if last is None:
            self._schedule.last_time = now
            self._schedule.next_status = now + self.config.status_interval_s
            return now
        if now <= last:  # a frame and the poll it triggers share a moment: the second step has nothing to do
            return last
        self._schedule.last_time = now
        self._step_physics(now - last)
        return now

    def _step_physics(self, dt: float) -> None:
        p, cfg = self._physics, self.config
        p.pad_temp_c = step_temperature(p.pad_temp_c, cfg.heat_target_c(p.heat), dt, cfg.time_constant_s)
        p.run_budget.step(p.motor is MotorState.RUNNING, dt, cfg.rest_refill)
        p.heat_budget.step(p.heat > 0, dt, cfg.rest_refill)
        if p.motor is MotorState.RUNNING:
            p.run_s += dt
            if p.battery is not None:
                p.battery = max(0.0, p.battery - cfg.battery_drain_per_min * dt / 60)

    def _apply_forced_overheat(self) -> None:
        if self._injected.overheat:
            self._injected.overheat = False
            limit = self.config.max_temp_c + FORCED_OVERSHOOT_C
            self._physics.pad_temp_c = max(self._physics.pad_temp_c, limit)

    def _check_watchdog(self) -> None:
        deadline = self._owner.deadline
        if self._owner.controller_id is None or deadline is None or self._link_clock() < deadline:
            return
        previous = self._owner.link
        self._stop_outputs()
        self._latch(Fault.LINK_LOST)
        self._release_ownership()
        if previous is not None and previous in self._links:
            self._links[previous].forget()

    def _check_over_temperature(self) -> None:
        p = self._physics
        if p.pad_temp_c > self.config.max_temp_c and not p.faults & Fault.OVER_TEMPERATURE:
            p.heat = 0
            self._latch(Fault.OVER_TEMPERATURE, self._fault_detail(Fault.OVER_TEMPERATURE))

    def _check_stall(self) -> None:
        if self._injected.stall and self._physics.motor is MotorState.RUNNING:
            self._stop_motor()
            self._latch(Fault.MOTOR_STALL)

    def _check_battery(self) -> None:
        p = self._physics
        if p.battery is not None and p.battery <= 0 and not p.faults & Fault.BATTERY_EMPTY:
            self._stop_outputs()
            self._latch(Fault.BATTERY_EMPTY)

    def _check_auto_off(self) -> None:
        """The run budget is used up: stop as for STOP, and refuse START until rest refills it."""
        budget = self._physics.run_budget
        if budget.used >= self.config.auto_off_s and not budget.locked:
            self._trip_run_budget()

    def _trip_run_budget(self) -> None:
        self._physics.run_budget.locked = True
        self._stop_outputs()
        self._latch(Fault.AUTO_OFF, AUTO_OFF_RUN)

    def _check_heat_limit(self) -> None:
        """The heater budget is used up, motor running or not: heat off until rest refills it."""
        budget = self._physics.heat_budget
        if budget.used >= self.config.heat_limit_s and not budget.locked:
            self._trip_heat_budget()

    def _trip_heat_budget(self) -> None:
        self._physics.heat_budget.locked = True
        self._physics.heat = 0
        self._latch(Fault.AUTO_OFF, AUTO_OFF_HEAT)

    def _stop_motor(self) -> None:
        self._physics.motor, self._physics.run_s = MotorState.IDLE, 0.0

    def _battery_percent(self) -> int | None:
        level = self._physics.battery
        return None if level is None else min(math.ceil(level), 100)

    # --- events --------------------------------------------------------------------------------

    def _settle(self) -> None:
        """Send queued FAULT events, then a STATUS if anything reportable changed."""
        pending, self._schedule.pending = self._schedule.pending, []
        for event in pending:
            self._broadcast(event)
        key = self._status_key()
        if key != self._schedule.status_key:
            self._schedule.status_key = key
            self._broadcast(self.status())
            self._schedule.next_status = self._now() + self.config.status_interval_s

    def _send_periodic_status(self, now: float) -> None:
        schedule = self._schedule
        if now < schedule.next_status or self.config.deviations.no_periodic_status:
            return
        self._broadcast(self.status())
        schedule.next_status += self.config.status_interval_s
        if schedule.next_status <= now:
            schedule.next_status = now + self.config.status_interval_s

    def _status_key(self) -> tuple[object, ...]:
        p, owner = self._physics, self._owner
        return (p.motor, p.intensity, p.heat, p.faults, owner.controller_id is not None, owner.epoch)

    def _broadcast(self, message: DeviceMessage) -> None:
        subscribers = [link for link, state in self._links.items() if state.controller_id is not None]
        if not subscribers:
            return
        frame = bytes(message.to_frame(self._schedule.event_seq))
        self._schedule.event_seq = (self._schedule.event_seq + 1) & 0xFF
        for link in subscribers:
            self._send(link, frame)

    def _now(self) -> float:
        last = self._schedule.last_time
        return self._clock() if last is None else last

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


def _decode_request(frame: Frame) -> Request:
    if frame.msg_type & DEVICE_TYPE_BIT:
        raise UnknownType(f"message type 0x{frame.msg_type:02X} flows device → controller, not a request")
    message: Message = decode_message(frame)
    if not isinstance(message, Request):
        raise UnknownType(f"message type 0x{frame.msg_type:02X} is not a request")
    return message


def _error_detail(frame: Frame, code: ErrorCode) -> int:
    """NACK detail for a message error: the expected payload length, or the undefined value."""
    if code is ErrorCode.BAD_LENGTH:
        kind = MESSAGE_TYPES.get(frame.msg_type)
        layout = getattr(kind, "LAYOUT", None)
        return layout.size if isinstance(layout, struct.Struct) else 0
    if code is ErrorCode.BAD_VALUE and frame.payload:
        return frame.payload[0]
    return 0


def _negotiate(lowest: int, highest: int) -> int:
    usable = [v for v in SUPPORTED_VERSIONS if lowest <= v <= highest]
    if not usable:
        raise _Refused(ErrorCode.UNSUPPORTED_VERSION, max(SUPPORTED_VERSIONS))
    return max(usable)


def _require_range(value: int, lowest: int, highest: int) -> None:
    if not lowest <= value <= highest:
        raise _Refused(ErrorCode.OUT_OF_RANGE, highest)


def _require_clear(blocking: Fault) -> None:
    if blocking:
        raise _Refused(ErrorCode.FAULT_ACTIVE, int(blocking))
