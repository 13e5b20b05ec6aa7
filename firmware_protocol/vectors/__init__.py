"""Byte-exact test vectors for the protocol (SPEC.md §10), as typed objects.

``frames.json``, ``stream.json`` and ``auth.json`` (pairing and authenticated
requests, SPEC.md §11) beside this module are the ground truth; this module only
reads them. Any implementation (codec, simulator, third-party
firmware) is checked against the same files::

    for vector in load_frame_vectors():
        ...  # decode vector.data; expect vector.message or the error named vector.error
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, IntFlag
from importlib.resources import files
from typing import Any, Final, TypeVar

from firmware_protocol.constants import NO_BATTERY
from firmware_protocol.errors import ErrorCode
from firmware_protocol.messages import (
    MESSAGE_TYPES,
    Ack,
    ClearFaults,
    Fault,
    FaultEvent,
    Feature,
    GetInfo,
    Hello,
    HelloResult,
    InfoField,
    InfoResult,
    Message,
    MotorState,
    MsgType,
    Nack,
    PairBegin,
    PairBeginResult,
    PairConfirm,
    PairConfirmResult,
    PakeBegin,
    PakePart,
    SessionBegin,
    SetMode,
    Status,
    StatusFlag,
)

#: The ``format`` value of the JSON files this loader understands.
FORMAT: Final = 1


@dataclass(frozen=True, slots=True)
class FrameVector:
    """One frame: its bytes and what a decoder must make of them.

    ``error`` is ``None`` for a valid frame, else the ``name`` of the
    :class:`~firmware_protocol.errors.FrameError` or
    :class:`~firmware_protocol.errors.MessageError` subclass decoding must raise.
    ``seq`` and ``msg_type`` are given whenever the header is trustworthy (valid
    frames, message errors, unsupported versions); ``message`` for valid frames.
    """

    name: str
    description: str
    data: bytes
    error: str | None = None
    seq: int | None = None
    msg_type: int | None = None
    message: Message | None = None

    @property
    def valid(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class StreamVector:
    """Serial/TCP stream bytes fed to one decoder in ``chunks``; the raw ``frames`` and error count expected.

    ``nacks`` are the frames a device answers for the packets counted in ``errors`` (only
    an ``unsupported_version`` packet is answered, SPEC.md §7.3 step 2); a controller answers none.
    """

    name: str
    description: str
    chunks: tuple[bytes, ...]
    frames: tuple[bytes, ...]
    errors: int
    nacks: tuple[bytes, ...] = ()

    @property
    def data(self) -> bytes:
        """All chunks joined: the stream as one piece."""
        return b"".join(self.chunks)


@dataclass(frozen=True, slots=True)
class CodeVector:
    """A pairing code as a person may type it, and its normalized form (``None``: not a code)."""

    name: str
    description: str
    text: str
    code: str | None


@dataclass(frozen=True, slots=True)
class KeyVector:
    """One pairing: its inputs, the salt and key they give, and both confirmations."""

    name: str
    description: str
    code: str
    serial: str
    controller_id: int
    controller_nonce: bytes
    device_nonce: bytes
    iterations: int
    salt: bytes
    key: bytes
    controller_confirmation: bytes
    device_confirmation: bytes


@dataclass(frozen=True, slots=True)
class AuthFrameVector:
    """An authenticated (version 2) frame checked with ``key``.

    ``error`` is ``None`` for a frame whose tag verifies (then ``counter`` and ``message``
    are given), ``"bad_tag"`` for one whose tag does not, or a message error id.
    """

    name: str
    description: str
    key: bytes
    data: bytes
    error: str | None
    seq: int
    msg_type: int
    counter: int | None = None
    message: Message | None = None


def load_frame_vectors() -> list[FrameVector]:
    """Every vector of ``frames.json``, in file order."""
    return [_frame_vector(item) for item in _vectors("frames.json")]


def load_stream_vectors() -> list[StreamVector]:
    """Every vector of ``stream.json``, in file order."""
    return [_stream_vector(item) for item in _vectors("stream.json")]


def load_code_vectors() -> list[CodeVector]:
    """The pairing codes of ``auth.json``."""
    return [_code_vector(item) for item in _vectors("auth.json", "codes")]


def load_key_vectors() -> list[KeyVector]:
    """The key derivations of ``auth.json``."""
    return [_key_vector(item) for item in _vectors("auth.json", "keys")]


def load_auth_frame_vectors() -> list[AuthFrameVector]:
    """The authenticated frames of ``auth.json``."""
    return [_auth_frame_vector(item) for item in _vectors("auth.json", "frames")]


def message_from_json(description: Mapping[str, Any]) -> Message:
    """Build a message from its JSON form, e.g. ``{"type": "SET_INTENSITY", "fields": {"level": 3}}``.

    Enumerations are given by name, flag sets as lists of names, ACK data either
    as ``"result"`` (an object for HELLO, GET_INFO, GET_STATUS and pairing answers) or as
    raw ``"data"`` in hex. See SPEC.md §10. Raises :class:`ValueError` on anything else.
    """
    kind_name = _get(description, "type", str)
    try:
        kind = MESSAGE_TYPES[MsgType[kind_name]]
    except KeyError:
        raise ValueError(f"unknown message type {kind_name!r}") from None
    fields = dict(_get(description, "fields", dict, {}))
    try:
        message = _BUILDERS.get(kind, _plain)(kind, fields)
    except KeyError as exc:
        raise ValueError(f"{kind_name}: missing field {exc}") from None
    if fields:
        raise ValueError(f"{kind_name}: unexpected fields {sorted(fields)}")
    return message


# --- JSON plumbing --------------------------------------------------------------------------------

T = TypeVar("T")
E = TypeVar("E", bound=Enum)
F = TypeVar("F", bound=IntFlag)
_MISSING: Final[Any] = object()


def _vectors(filename: str, section: str = "vectors") -> list[Mapping[str, Any]]:
    document = json.loads(files(__name__).joinpath(filename).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{filename}: expected a format {FORMAT} document")
    return list(_get(document, section, list))


def _get(obj: Mapping[str, Any], key: str, kind: type[T], default: T = _MISSING) -> T:
    value = obj.get(key, default)
    if value is _MISSING:
        raise ValueError(f"missing {key!r} in {obj!r}")
    if not isinstance(value, kind):
        raise ValueError(f"{key!r} must be {kind.__name__}, got {value!r}")
    return value


def _frame_vector(item: Mapping[str, Any]) -> FrameVector:
    error = item.get("error")
    if error is not None and not isinstance(error, str):
        raise ValueError(f"error must be a string or null, got {error!r}")
    message = item.get("message")
    seq, msg_type = item.get("seq"), item.get("msg_type")
    return FrameVector(
        name=_get(item, "name", str),
        description=_get(item, "description", str, ""),
        data=bytes.fromhex(_get(item, "hex", str)),
        error=error,
        seq=None if seq is None else _int(seq),
        msg_type=None if msg_type is None else _int(msg_type),
        message=None if message is None else message_from_json(message),
    )


def _stream_vector(item: Mapping[str, Any]) -> StreamVector:
    return StreamVector(
        name=_get(item, "name", str),
        description=_get(item, "description", str, ""),
        chunks=tuple(bytes.fromhex(_str(chunk)) for chunk in _get(item, "chunks", list)),
        frames=tuple(bytes.fromhex(_str(frame)) for frame in _get(item, "frames", list)),
        errors=_int(_get(item, "errors", int)),
        nacks=tuple(bytes.fromhex(_str(nack)) for nack in _get(item, "nacks", list, [])),
    )


def _code_vector(item: Mapping[str, Any]) -> CodeVector:
    code = item.get("code")
    return CodeVector(
        name=_get(item, "name", str),
        description=_get(item, "description", str, ""),
        text=_get(item, "text", str),
        code=None if code is None else _str(code),
    )


def _key_vector(item: Mapping[str, Any]) -> KeyVector:
    def raw(key: str) -> bytes:
        return bytes.fromhex(_get(item, key, str))

    return KeyVector(
        name=_get(item, "name", str),
        description=_get(item, "description", str, ""),
        code=_get(item, "code", str),
        serial=_get(item, "serial", str),
        controller_id=_int(_get(item, "controller_id", int)),
        controller_nonce=raw("controller_nonce"),
        device_nonce=raw("device_nonce"),
        iterations=_int(_get(item, "iterations", int)),
        salt=raw("salt"),
        key=raw("key"),
        controller_confirmation=raw("controller_confirmation"),
        device_confirmation=raw("device_confirmation"),
    )


def _auth_frame_vector(item: Mapping[str, Any]) -> AuthFrameVector:
    error, counter, message = item.get("error"), item.get("counter"), item.get("message")
    if error is not None and not isinstance(error, str):
        raise ValueError(f"error must be a string or null, got {error!r}")
    return AuthFrameVector(
        name=_get(item, "name", str),
        description=_get(item, "description", str, ""),
        key=bytes.fromhex(_get(item, "key", str)),
        data=bytes.fromhex(_get(item, "hex", str)),
        error=error,
        seq=_int(_get(item, "seq", int)),
        msg_type=_int(_get(item, "msg_type", int)),
        counter=None if counter is None else _int(counter),
        message=None if message is None else message_from_json(message),
    )


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _enum(kind: type[E], value: object) -> E:
    """An enumeration member given by name (or, failing that, by number)."""
    try:
        return kind[value] if isinstance(value, str) else kind(_int(value))
    except (KeyError, ValueError):
        raise ValueError(f"{value!r} is not a {kind.__name__}") from None


def _flags(kind: type[F], value: object) -> F:
    """A flag set: member names in ascending bit order, then reserved bits as one number (``[]`` for none)."""
    if not isinstance(value, list):
        raise ValueError(f"{kind.__name__} must be a list of names, got {value!r}")
    result = kind(0)
    for name in value:
        result |= _enum(kind, name)
    return result


def _request(value: object) -> int:
    """A NACK's request byte: a type name, or a number for types the protocol does not define."""
    return _enum(MsgType, value) if isinstance(value, str) else _int(value)


def _status(fields: dict[str, Any]) -> Status:
    battery = fields.pop("battery", NO_BATTERY)
    return Status(
        state=_enum(MotorState, fields.pop("state")),
        intensity=_int(fields.pop("intensity")),
        heat=_int(fields.pop("heat")),
        pad_temp_centi_c=_int(fields.pop("pad_temp_centi_c")),
        faults=_flags(Fault, fields.pop("faults", [])),
        battery=NO_BATTERY if battery is None else _int(battery),
        flags=_flags(StatusFlag, fields.pop("flags", [])),
        run_seconds=_int(fields.pop("run_seconds", 0)),
    )


def _hello_result(fields: dict[str, Any]) -> bytes:
    return HelloResult(
        version=_int(fields.pop("version")),
        intensity_levels=_int(fields.pop("intensity_levels")),
        heat_levels=_int(fields.pop("heat_levels")),
        features=_flags(Feature, fields.pop("features", [])),
        watchdog_ms=_int(fields.pop("watchdog_ms")),
    ).to_bytes()


def _info_result(fields: dict[str, Any]) -> bytes:
    return InfoResult(_enum(InfoField, fields.pop("info")), _str(fields.pop("text", ""))).to_bytes()


def _status_result(fields: dict[str, Any]) -> bytes:
    return _status(fields).payload()


def _hex(value: object) -> bytes:
    return bytes.fromhex(_str(value))


def _pair_begin_result(fields: dict[str, Any]) -> bytes:
    return PairBeginResult(_hex(fields.pop("nonce"))).to_bytes()


def _pair_confirm_result(fields: dict[str, Any]) -> bytes:
    return PairConfirmResult(_hex(fields.pop("confirmation"))).to_bytes()


#: How the ``result`` object of an ACK is turned into its data bytes, by request type.
_RESULTS: Final[dict[MsgType, Callable[[dict[str, Any]], bytes]]] = {
    MsgType.HELLO: _hello_result,
    MsgType.GET_INFO: _info_result,
    MsgType.GET_STATUS: _status_result,
    MsgType.PAIR_BEGIN: _pair_begin_result,
    MsgType.PAIR_CONFIRM: _pair_confirm_result,
}


def _ack(kind: type[Message], fields: dict[str, Any]) -> Message:
    request = _enum(MsgType, fields.pop("request"))
    data = bytes.fromhex(_str(fields.pop("data", "")))
    if "result" in fields:
        build = _RESULTS.get(request)
        if build is None or data:
            raise ValueError(f"an ACK of {request.name} takes no result object here")
        result = dict(_get(fields, "result", dict))
        del fields["result"]
        data = build(result)
        if result:
            raise ValueError(f"{request.name} result: unexpected fields {sorted(result)}")
    return Ack(request, data)


def _nack(kind: type[Message], fields: dict[str, Any]) -> Message:
    return Nack(_request(fields.pop("request")), _enum(ErrorCode, fields.pop("code")), _int(fields.pop("detail", 0)))


def _fault_event(kind: type[Message], fields: dict[str, Any]) -> Message:
    return FaultEvent(_enum(Fault, fields.pop("fault")), _bool(fields.pop("active")), _int(fields.pop("detail", 0)))


def _get_info(kind: type[Message], fields: dict[str, Any]) -> Message:
    return GetInfo(_enum(InfoField, fields.pop("info")))


def _hello(kind: type[Message], fields: dict[str, Any]) -> Message:
    return Hello(_int(fields.pop("min_version")), _int(fields.pop("max_version")), _int(fields.pop("controller_id")))


def _clear_faults(kind: type[Message], fields: dict[str, Any]) -> Message:
    return ClearFaults(_flags(Fault, fields.pop("faults")))


def _pair_begin(kind: type[Message], fields: dict[str, Any]) -> Message:
    return PairBegin(_int(fields.pop("controller_id")), _hex(fields.pop("nonce")))


def _pair_confirm(kind: type[Message], fields: dict[str, Any]) -> Message:
    return PairConfirm(_hex(fields.pop("confirmation")))


def _plain(kind: type[Message], fields: dict[str, Any]) -> Message:
    """Messages without fields, or with one integer ``level``."""
    if "level" in fields:
        return kind(_int(fields.pop("level")))  # type: ignore[call-arg]
    return kind()


_BUILDERS: Final[dict[type[Message], Callable[[type[Message], dict[str, Any]], Message]]] = {
    Ack: _ack,
    Nack: _nack,
    Status: lambda kind, fields: _status(fields),
    FaultEvent: _fault_event,
    GetInfo: _get_info,
    Hello: _hello,
    ClearFaults: _clear_faults,
    PairBegin: _pair_begin,
    PairConfirm: _pair_confirm,
    SessionBegin: lambda kind, fields: SessionBegin(_int(fields.pop("controller_id")), _hex(fields.pop("nonce"))),
    PakeBegin: lambda kind, fields: PakeBegin(_int(fields.pop("controller_id"))),
    PakePart: lambda kind, fields: PakePart(_int(fields.pop("index")), _hex(fields.pop("chunk"))),
    SetMode: lambda kind, fields: SetMode(_int(fields.pop("mode"))),
}
