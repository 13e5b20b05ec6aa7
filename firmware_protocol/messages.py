"""Message types and their payloads (SPEC.md §5-§7).

Each message is a frozen dataclass that knows its type byte and how to pack
and unpack its payload. Requests flow controller → device (types 0x01-0x7F);
answers and events flow device → controller (0x80-0xFF). Multi-byte fields
are big-endian. An authenticated frame (SPEC.md §11) carries the same message
payloads followed by a trailer; :func:`decode_message` reads the message of either.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from typing import ClassVar, Final, Self, TypeVar

from firmware_protocol.constants import AUTH_FRAME_VERSION, MAX_INFO_LEN, NO_BATTERY, TRAILER_LEN
from firmware_protocol.errors import BadPayload, BadValue, ErrorCode, UnknownType
from firmware_protocol.frame import Frame


class MsgType(IntEnum):
    """The message type byte: requests below ``0x80``, answers and events above (SPEC.md §5.1)."""

    HELLO = 0x01
    GOODBYE = 0x02
    GET_INFO = 0x03
    GET_STATUS = 0x04
    START = 0x05
    STOP = 0x06
    SET_INTENSITY = 0x07
    SET_HEAT = 0x08
    HEARTBEAT = 0x09
    CLEAR_FAULTS = 0x0A
    PAIR_BEGIN = 0x0B
    PAIR_CONFIRM = 0x0C
    SESSION_BEGIN = 0x10
    PAKE_BEGIN = 0x11
    PAKE_PART = 0x12
    SET_MODE = 0x13
    ACK = 0x80
    NACK = 0x81
    STATUS = 0x90
    FAULT = 0x91


class InfoField(IntEnum):
    """Which text GET_INFO asks for: model, firmware version or serial number (SPEC.md §7.4.3)."""

    MODEL = 0x01
    FIRMWARE = 0x02
    SERIAL = 0x03
    #: The pad temperature each heat level aims at, whole °C: ``"38,42"`` (SPEC.md §7.4.3).
    HEAT_TARGETS = 0x04
    #: The name of massage mode 0..7, for a device with the MODES feature (SPEC.md §7.4.11).
    MODE_0 = 0x10
    MODE_1 = 0x11
    MODE_2 = 0x12
    MODE_3 = 0x13
    MODE_4 = 0x14
    MODE_5 = 0x15
    MODE_6 = 0x16
    MODE_7 = 0x17


#: A device offers at most this many massage modes, numbered from 0 (SPEC.md §7.4.11).
MAX_MODES: Final = 8


def mode_name_field(mode: int) -> InfoField:
    """The GET_INFO field that holds the name of massage mode *mode* (``0..7``)."""
    if not 0 <= mode < MAX_MODES:
        raise ValueError(f"mode {mode} is outside 0..{MAX_MODES - 1}")
    return InfoField(InfoField.MODE_0 + mode)


#: The identity fields every device answers; a device older than HEAT_TARGETS NACKs it ``bad_value``.
IDENTITY_FIELDS: Final = (InfoField.MODEL, InfoField.FIRMWARE, InfoField.SERIAL)


def heat_targets_text(targets_c: Sequence[float]) -> str:
    """HEAT_TARGETS text: each level's target in whole °C, comma-separated (``"38,42"``)."""
    return ",".join(str(round(t)) for t in targets_c)


def parse_heat_targets(text: str, heat_levels: int) -> tuple[int, ...]:
    """The targets of a HEAT_TARGETS text; ``bad_value`` unless one whole °C (0..99) per heat level."""
    parts = text.split(",") if text else []
    if len(parts) != heat_levels or not all(p.isascii() and p.isdigit() and len(p) <= 2 for p in parts):
        raise BadValue(f"HEAT_TARGETS {text!r} is not one whole °C per heat level ({heat_levels})")
    return tuple(int(p) for p in parts)


class MotorState(IntEnum):
    """Whether the motor runs, as STATUS reports it (SPEC.md §5.5)."""

    IDLE = 0
    RUNNING = 1


class Fault(IntFlag):
    """Latched fault bits, as carried in STATUS and CLEAR_FAULTS."""

    NONE = 0
    LINK_LOST = 0x01
    OVER_TEMPERATURE = 0x02
    MOTOR_STALL = 0x04
    BATTERY_EMPTY = 0x08
    AUTO_OFF = 0x10


ALL_FAULTS: Final = Fault(0x1F)
#: Pairing nonces and confirmations are 8 bytes (SPEC.md §11.4).
NONCE_LEN: Final = 8
CONFIRMATION_LEN: Final = 8
#: The device's proof in SESSION_BEGIN's answer (SPEC.md §12.2).
SESSION_PROOF_LEN: Final = 4
#: A PAKE message travels in parts of at most this many bytes (SPEC.md §12.4).
PAKE_PART_LEN: Final = 12
#: Bits of a fault byte that name no fault. (``~ALL_FAULTS`` would be ``Fault.NONE``:
#: inverting a Flag keeps only defined bits, so the mask must be computed on the int.)
UNDEFINED_FAULT_BITS: Final = 0xFF & ~ALL_FAULTS.value


class Feature(IntFlag):
    """What a device has besides the motor, as HELLO's answer reports it (SPEC.md §5.7)."""

    NONE = 0
    HEAT = 0x01
    BATTERY = 0x02
    #: Massage modes: names by GET_INFO ``MODE_0..MODE_7``, chosen by SET_MODE (SPEC.md §7.4.11).
    MODES = 0x04


class StatusFlag(IntFlag):
    """STATUS's flag bits: charging, and whether this link owns the session (SPEC.md §5.7)."""

    NONE = 0
    CHARGING = 0x01
    OWNED = 0x02


def _unpack(layout: struct.Struct, payload: bytes, what: str) -> tuple[int, ...]:
    _check_size(payload, layout.size, what)
    return layout.unpack(payload)


def _check_size(payload: bytes, size: int, what: str) -> None:
    if len(payload) != size:
        raise BadPayload(f"{what} payload must be {size} bytes, got {len(payload)}")


E = TypeVar("E", bound=IntEnum)


def _enum(kind: type[E], value: int, what: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise BadValue(f"{what}: 0x{value:02X} is not a defined value") from None


class Message:
    """Base of every message: a type byte and a payload codec."""

    TYPE: ClassVar[MsgType]

    def payload(self) -> bytes:
        return b""

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        if payload:
            raise BadPayload(f"{cls.TYPE.name} carries no payload, got {len(payload)} bytes")
        return cls()

    def to_frame(self, seq: int) -> Frame:
        return Frame(msg_type=self.TYPE, seq=seq, payload=self.payload())


class Request(Message):
    """Controller → device; always answered by ACK or NACK with the same sequence number."""


class DeviceMessage(Message):
    """Device → controller."""


class _ByteRequest(Request):
    """A request whose payload is a single unsigned byte named ``level``."""

    LAYOUT: ClassVar = struct.Struct(">B")
    level: int

    def payload(self) -> bytes:
        return self.LAYOUT.pack(self.level)

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        (level,) = _unpack(cls.LAYOUT, payload, cls.TYPE.name)
        return cls(level)  # type: ignore[call-arg]


@dataclass(frozen=True, slots=True)
class Hello(Request):
    """Open a session: negotiate the version and claim ownership under ``controller_id``."""

    TYPE: ClassVar = MsgType.HELLO
    LAYOUT: ClassVar = struct.Struct(">BBI")
    min_version: int
    max_version: int
    controller_id: int

    def payload(self) -> bytes:
        return self.LAYOUT.pack(self.min_version, self.max_version, self.controller_id)

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        lo, hi, cid = _unpack(cls.LAYOUT, payload, "HELLO")
        return cls(lo, hi, cid)


@dataclass(frozen=True, slots=True)
class Goodbye(Request):
    """GOODBYE: the controller leaves; the device stops if this link owned the session (SPEC.md §7.4.2)."""

    TYPE: ClassVar = MsgType.GOODBYE


@dataclass(frozen=True, slots=True)
class GetInfo(Request):
    """GET_INFO: one text field of the device's identity (SPEC.md §7.4.3)."""

    TYPE: ClassVar = MsgType.GET_INFO
    LAYOUT: ClassVar = struct.Struct(">B")
    info: InfoField

    def payload(self) -> bytes:
        return self.LAYOUT.pack(self.info)

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        (value,) = _unpack(cls.LAYOUT, payload, "GET_INFO")
        return cls(_enum(InfoField, value, "GET_INFO field"))


@dataclass(frozen=True, slots=True)
class GetStatus(Request):
    """GET_STATUS: a STATUS now, besides the periodic ones (SPEC.md §7.4.4)."""

    TYPE: ClassVar = MsgType.GET_STATUS


@dataclass(frozen=True, slots=True)
class Start(_ByteRequest):
    """Run the motor at ``level`` (idempotent: starting at the running level changes nothing)."""

    TYPE: ClassVar = MsgType.START
    level: int


@dataclass(frozen=True, slots=True)
class Stop(Request):
    """Motor and heater off. Accepted from any link, owner or not, at any time."""

    TYPE: ClassVar = MsgType.STOP


@dataclass(frozen=True, slots=True)
class SetIntensity(_ByteRequest):
    """SET_INTENSITY: the motor's level while it runs (SPEC.md §7.4.7)."""

    TYPE: ClassVar = MsgType.SET_INTENSITY
    level: int


@dataclass(frozen=True, slots=True)
class SetHeat(_ByteRequest):
    """SET_HEAT: the heater's level, 0 for off (SPEC.md §7.4.8)."""

    TYPE: ClassVar = MsgType.SET_HEAT
    level: int


@dataclass(frozen=True, slots=True)
class Heartbeat(Request):
    """HEARTBEAT: feeds the device's watchdog when there is nothing else to send (SPEC.md §7.4.9, §7.5)."""

    TYPE: ClassVar = MsgType.HEARTBEAT


@dataclass(frozen=True, slots=True)
class ClearFaults(Request):
    """CLEAR_FAULTS: clear the latched faults named, if their cause has gone (SPEC.md §7.4.10, §7.7)."""

    TYPE: ClassVar = MsgType.CLEAR_FAULTS
    LAYOUT: ClassVar = struct.Struct(">B")
    faults: Fault

    def payload(self) -> bytes:
        return self.LAYOUT.pack(self.faults)

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        (mask,) = _unpack(cls.LAYOUT, payload, "CLEAR_FAULTS")
        if mask & UNDEFINED_FAULT_BITS:
            raise BadValue(f"CLEAR_FAULTS: undefined fault bits 0x{mask & UNDEFINED_FAULT_BITS:02X}")
        return cls(Fault(mask))


@dataclass(frozen=True, slots=True)
class SetMode(Request):
    """SET_MODE: the massage pattern, by number ``0..K-1`` (SPEC.md §7.4.11); the device checks the range."""

    TYPE: ClassVar = MsgType.SET_MODE
    LAYOUT: ClassVar = struct.Struct(">B")
    mode: int

    def payload(self) -> bytes:
        return self.LAYOUT.pack(self.mode)

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        (mode,) = _unpack(cls.LAYOUT, payload, "SET_MODE")
        return cls(mode)


def _require_len(value: bytes, size: int, what: str) -> None:
    if len(value) != size:
        raise ValueError(f"{what} must be {size} bytes, got {len(value)}")


@dataclass(frozen=True, slots=True)
class PairBegin(Request):
    """Start pairing (SPEC.md §11.4): the controller's id and its nonce."""

    TYPE: ClassVar = MsgType.PAIR_BEGIN
    LAYOUT: ClassVar = struct.Struct(f">I{NONCE_LEN}s")
    controller_id: int
    nonce: bytes

    def __post_init__(self) -> None:
        _require_len(self.nonce, NONCE_LEN, "PAIR_BEGIN nonce")

    def payload(self) -> bytes:
        return self.LAYOUT.pack(self.controller_id, self.nonce)

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        _check_size(payload, cls.LAYOUT.size, "PAIR_BEGIN")
        return cls(int.from_bytes(payload[:4], "big"), bytes(payload[4:]))


@dataclass(frozen=True, slots=True)
class PairConfirm(Request):
    """Finish pairing (SPEC.md §11.4): proof that the controller derived the key."""

    TYPE: ClassVar = MsgType.PAIR_CONFIRM
    LAYOUT: ClassVar = struct.Struct(f">{CONFIRMATION_LEN}s")
    confirmation: bytes

    def __post_init__(self) -> None:
        _require_len(self.confirmation, CONFIRMATION_LEN, "PAIR_CONFIRM confirmation")

    def payload(self) -> bytes:
        return self.confirmation

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        _check_size(payload, cls.LAYOUT.size, "PAIR_CONFIRM")
        return cls(bytes(payload))


@dataclass(frozen=True, slots=True)
class SessionBegin(Request):
    """Open a connection-bound channel (SPEC.md §12.2): the paired controller's id and a fresh nonce."""

    TYPE: ClassVar = MsgType.SESSION_BEGIN
    LAYOUT: ClassVar = struct.Struct(f">I{NONCE_LEN}s")
    controller_id: int
    nonce: bytes

    def __post_init__(self) -> None:
        _require_len(self.nonce, NONCE_LEN, "SESSION_BEGIN nonce")

    def payload(self) -> bytes:
        return self.LAYOUT.pack(self.controller_id, self.nonce)

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        _check_size(payload, cls.LAYOUT.size, "SESSION_BEGIN")
        return cls(int.from_bytes(payload[:4], "big"), bytes(payload[4:]))


@dataclass(frozen=True, slots=True)
class PakeBegin(Request):
    """Start a SPAKE2 pairing (SPEC.md §12.4) as a fresh controller id."""

    TYPE: ClassVar = MsgType.PAKE_BEGIN
    LAYOUT: ClassVar = struct.Struct(">I")
    controller_id: int

    def payload(self) -> bytes:
        return self.LAYOUT.pack(self.controller_id)

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        (controller_id,) = _unpack(cls.LAYOUT, payload, "PAKE_BEGIN")
        return cls(controller_id)


@dataclass(frozen=True, slots=True)
class PakePart(Request):
    """One part of the controller's SPAKE2 message (SPEC.md §12.4); the ACK carries the device's part."""

    TYPE: ClassVar = MsgType.PAKE_PART
    index: int
    chunk: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.index <= 0xFF or not 1 <= len(self.chunk) <= PAKE_PART_LEN:
            raise ValueError(f"PAKE_PART carries an index byte and 1..{PAKE_PART_LEN} bytes")

    def payload(self) -> bytes:
        return bytes([self.index]) + self.chunk

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        if not 2 <= len(payload) <= PAKE_PART_LEN + 1:
            raise BadPayload(f"PAKE_PART payload must be 2..{PAKE_PART_LEN + 1} bytes, got {len(payload)}")
        return cls(payload[0], bytes(payload[1:]))


@dataclass(frozen=True, slots=True)
class SessionBeginResult:
    """ACK data for SESSION_BEGIN: the device's nonce and its proof that it holds the pairing key."""

    nonce: bytes
    proof: bytes

    def __post_init__(self) -> None:
        _require_len(self.nonce, NONCE_LEN, "SESSION_BEGIN result nonce")
        _require_len(self.proof, SESSION_PROOF_LEN, "SESSION_BEGIN result proof")

    def to_bytes(self) -> bytes:
        return self.nonce + self.proof

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        if len(data) != NONCE_LEN + SESSION_PROOF_LEN:
            raise BadPayload(f"SESSION_BEGIN result must be {NONCE_LEN + SESSION_PROOF_LEN} bytes, got {len(data)}")
        return cls(bytes(data[:NONCE_LEN]), bytes(data[NONCE_LEN:]))


@dataclass(frozen=True, slots=True)
class Ack(DeviceMessage):
    """Success. ``data`` is request-specific: see :class:`HelloResult`, :class:`InfoResult`, :class:`Status`."""

    TYPE: ClassVar = MsgType.ACK
    request: MsgType
    data: bytes = b""

    def payload(self) -> bytes:
        return bytes([self.request]) + self.data

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        """Decode an ACK and check its result (SPEC.md §4.2 step 6 for ACK, §5.3).

        The ``request`` byte decides the layout of the rest, so it is checked first: a byte
        that names no request type is ``bad_value`` whatever follows. Then the data must have
        the length §5.3 gives for that request (``bad_payload``) and defined values (``bad_value``).
        """
        if not payload:
            raise BadPayload("ACK payload must name the request type")
        if payload[0] not in REQUEST_TYPES:
            raise BadValue(f"ACK request type: 0x{payload[0]:02X} is not a request type")
        request, data = MsgType(payload[0]), bytes(payload[1:])
        _check_ack_data(request, data)
        return cls(request, data)


@dataclass(frozen=True, slots=True)
class Nack(DeviceMessage):
    """Refusal: ``code`` says why; ``detail`` is code-specific (e.g. the highest allowed level)."""

    TYPE: ClassVar = MsgType.NACK
    LAYOUT: ClassVar = struct.Struct(">BBB")
    request: int
    code: ErrorCode
    detail: int = 0

    def payload(self) -> bytes:
        return self.LAYOUT.pack(self.request, self.code, self.detail)

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        request, code, detail = _unpack(cls.LAYOUT, payload, "NACK")
        return cls(request, _enum(ErrorCode, code, "NACK code"), detail)


@dataclass(frozen=True, slots=True)
class Status(DeviceMessage):
    """The device's state; sent every second, on every change, and in answer to GET_STATUS."""

    TYPE: ClassVar = MsgType.STATUS
    LAYOUT: ClassVar = struct.Struct(">BBBhBBBH")
    state: MotorState
    intensity: int
    heat: int
    pad_temp_centi_c: int
    faults: Fault = Fault.NONE
    battery: int = NO_BATTERY
    flags: StatusFlag = StatusFlag.NONE
    run_seconds: int = 0

    @property
    def pad_temp_c(self) -> float:
        return self.pad_temp_centi_c / 100

    @property
    def running(self) -> bool:
        return self.state is MotorState.RUNNING

    @property
    def battery_percent(self) -> int | None:
        return None if self.battery == NO_BATTERY else self.battery

    def payload(self) -> bytes:
        return self.LAYOUT.pack(
            self.state,
            self.intensity,
            self.heat,
            self.pad_temp_centi_c,
            self.faults,
            self.battery,
            self.flags,
            self.run_seconds,
        )

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        state, intensity, heat, temp, faults, battery, flags, run = _unpack(cls.LAYOUT, payload, "STATUS")
        if faults & UNDEFINED_FAULT_BITS:
            raise BadValue(f"STATUS: undefined fault bits 0x{faults:02X}")
        if battery > 100 and battery != NO_BATTERY:
            raise BadValue(f"STATUS: battery {battery} is neither 0..100 nor 0xFF")
        return cls(
            _enum(MotorState, state, "STATUS state"),
            intensity,
            heat,
            temp,
            Fault(faults),
            battery,
            StatusFlag(flags),  # reserved bits kept: ignored by readers, but the frame re-encodes exactly
            run,
        )


@dataclass(frozen=True, slots=True)
class FaultEvent(DeviceMessage):
    """A fault was raised (``active``) or cleared; ``detail`` is fault-specific (°C for over-temperature)."""

    TYPE: ClassVar = MsgType.FAULT
    LAYOUT: ClassVar = struct.Struct(">BBB")
    fault: Fault
    active: bool
    detail: int = 0

    def payload(self) -> bytes:
        return self.LAYOUT.pack(self.fault, int(self.active), self.detail)

    @classmethod
    def from_payload(cls, payload: bytes) -> Self:
        fault, active, detail = _unpack(cls.LAYOUT, payload, "FAULT")
        if fault not in {f.value for f in Fault if f} or active > 1:
            raise BadValue(f"FAULT: 0x{fault:02X}/{active} is not one defined fault with a 0/1 flag")
        return cls(Fault(fault), bool(active), detail)


# --- results carried in ACK data -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HelloResult:
    """ACK data for HELLO: the negotiated version and the device's capabilities."""

    LAYOUT: ClassVar = struct.Struct(">BBBBH")
    version: int
    intensity_levels: int
    heat_levels: int
    features: Feature
    watchdog_ms: int

    def to_bytes(self) -> bytes:
        return self.LAYOUT.pack(self.version, self.intensity_levels, self.heat_levels, self.features, self.watchdog_ms)

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        version, levels, heat, features, watchdog = _unpack(cls.LAYOUT, data, "HELLO result")
        return cls(version, levels, heat, Feature(features), watchdog)  # reserved bits kept (SPEC.md §5.8)


@dataclass(frozen=True, slots=True)
class InfoResult:
    """ACK data for GET_INFO: the field id and up to 12 bytes of UTF-8 text."""

    info: InfoField
    text: str = field(default="")

    def to_bytes(self) -> bytes:
        raw = self.text.encode()
        if len(raw) > MAX_INFO_LEN:
            raise ValueError(f"info text is {len(raw)} bytes, at most {MAX_INFO_LEN} fit")
        return bytes([self.info]) + raw

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        if not data:
            raise BadPayload("GET_INFO result must name its field")
        try:
            text = bytes(data[1:]).decode()
        except UnicodeDecodeError:
            raise BadValue("GET_INFO result is not UTF-8") from None
        return cls(_enum(InfoField, data[0], "GET_INFO result field"), text)


@dataclass(frozen=True, slots=True)
class PairBeginResult:
    """ACK data for PAIR_BEGIN: the device's nonce."""

    nonce: bytes

    def __post_init__(self) -> None:
        _require_len(self.nonce, NONCE_LEN, "PAIR_BEGIN result nonce")

    def to_bytes(self) -> bytes:
        return self.nonce

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        if len(data) != NONCE_LEN:
            raise BadPayload(f"PAIR_BEGIN result must be {NONCE_LEN} bytes, got {len(data)}")
        return cls(bytes(data))


@dataclass(frozen=True, slots=True)
class PairConfirmResult:
    """ACK data for PAIR_CONFIRM: proof that the device derived the same key."""

    confirmation: bytes

    def __post_init__(self) -> None:
        _require_len(self.confirmation, CONFIRMATION_LEN, "PAIR_CONFIRM result confirmation")

    def to_bytes(self) -> bytes:
        return self.confirmation

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        if len(data) != CONFIRMATION_LEN:
            raise BadPayload(f"PAIR_CONFIRM result must be {CONFIRMATION_LEN} bytes, got {len(data)}")
        return cls(bytes(data))


#: Types 0x01..0x7F that name a request (SPEC.md §5.1): what an ACK or a device may accept.
REQUEST_TYPES: Final = frozenset(t for t in MsgType if t < 0x80)


def _check_ack_data(request: MsgType, data: bytes) -> None:
    """Raise ``bad_payload`` / ``bad_value`` unless *data* is a valid result of *request* (SPEC.md §5.3)."""
    match request:
        case MsgType.HELLO:
            HelloResult.from_bytes(data)
        case MsgType.GET_INFO:
            InfoResult.from_bytes(data)
        case MsgType.GET_STATUS:
            Status.from_payload(data)
        case MsgType.PAIR_BEGIN:
            PairBeginResult.from_bytes(data)
        case MsgType.PAIR_CONFIRM:
            PairConfirmResult.from_bytes(data)
        case MsgType.SESSION_BEGIN:
            SessionBeginResult.from_bytes(data)
        case MsgType.PAKE_PART:  # a part of the device's SPAKE2 message (SPEC.md §12.4)
            if not 1 <= len(data) <= PAKE_PART_LEN:
                raise BadPayload(f"an ACK of PAKE_PART carries 1..{PAKE_PART_LEN} bytes, got {len(data)}")
        case _:
            if data:
                raise BadPayload(f"an ACK of {request.name} carries no data, got {len(data)} bytes")


MESSAGE_TYPES: Final[dict[int, type[Message]]] = {
    cls.TYPE: cls
    for cls in (
        Hello,
        Goodbye,
        GetInfo,
        GetStatus,
        Start,
        Stop,
        SetIntensity,
        SetHeat,
        Heartbeat,
        ClearFaults,
        PairBegin,
        PairConfirm,
        SessionBegin,
        PakeBegin,
        PakePart,
        SetMode,
        Ack,
        Nack,
        Status,
        FaultEvent,
    )
}


def decode_message(frame: Frame) -> Message:
    """Interpret a valid frame; raise :class:`MessageError` for unknown types or bad payloads.

    An authenticated frame's trailer is not part of the message: it is checked by
    :func:`firmware_protocol.auth.verify_frame`, never here.
    """
    kind = MESSAGE_TYPES.get(frame.msg_type)
    if kind is None:
        raise UnknownType(f"message type 0x{frame.msg_type:02X} is not defined")
    return kind.from_payload(message_payload(frame))


def message_payload(frame: Frame) -> bytes:
    """The message's own payload: the frame's, less the trailer of an authenticated frame."""
    if frame.version != AUTH_FRAME_VERSION:
        return frame.payload
    if len(frame.payload) < TRAILER_LEN:
        raise BadPayload(f"an authenticated frame needs a {TRAILER_LEN}-byte trailer, got {len(frame.payload)} bytes")
    return frame.payload[:-TRAILER_LEN]


def encode_message(message: Message, seq: int) -> bytes:
    """The frame bytes for *message* with sequence number *seq*."""
    return bytes(message.to_frame(seq))
