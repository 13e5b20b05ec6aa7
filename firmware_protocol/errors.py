"""Codec errors and the NACK error codes carried on the wire (SPEC.md §8).

Decoding never raises anything but :class:`ProtocolError` subclasses, so a
caller can feed any bytes and catch one type.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """Why a device refused a request (the ``code`` byte of a NACK)."""

    UNKNOWN_TYPE = 0x01
    BAD_LENGTH = 0x02
    OUT_OF_RANGE = 0x03
    UNSUPPORTED_VERSION = 0x04
    NOT_OWNER = 0x05
    HELLO_REQUIRED = 0x06
    FAULT_ACTIVE = 0x07
    BUSY = 0x08
    BAD_VALUE = 0x09
    AUTH_REQUIRED = 0x0A
    AUTH_FAILED = 0x0B
    REPLAYED = 0x0C


class AuthFailure(IntEnum):
    """The ``detail`` of a NACK ``AUTH_FAILED`` (SPEC.md §8, §11.7)."""

    UNKNOWN_CONTROLLER = 0x01
    BAD_TAG = 0x02
    NO_PAIRING = 0x03
    PAIRING_LOCKED = 0x04
    #: Version 3 (SPEC.md §12): pairing is open only in a window, one attempt at a time.
    PAIRING_CLOSED = 0x05
    PAIRING_TOO_SOON = 0x06
    #: An authenticated frame on a link that has no connection keys (no SESSION_BEGIN).
    NO_SESSION = 0x07


class Replay(IntEnum):
    """The ``detail`` of a NACK ``REPLAYED``: how the counter compares with the last one accepted."""

    REPEATED = 0x01
    OLDER = 0x02


class ProtocolError(Exception):
    """Root of everything the codec raises."""


class FrameError(ProtocolError):
    """A frame that cannot be accepted. ``name`` is the id used in test vectors."""

    name = "frame_error"
    #: The NACK code a device answers with, when it can attribute the frame.
    code: ErrorCode | None = None


class TruncatedFrame(FrameError):
    """Fewer bytes than a frame's header, payload and CRC need (SPEC.md §4.2)."""

    name = "truncated"


class OversizeFrame(FrameError):
    """More bytes than the 20 a frame may have (SPEC.md §3.2)."""

    name = "oversize"


class BadLength(FrameError):
    """The length byte disagrees with the bytes received."""

    name = "bad_length"


class BadCRC(FrameError):
    """The CRC-16/CCITT-FALSE does not match the frame's bytes (SPEC.md §4.1)."""

    name = "bad_crc"


class UnsupportedVersion(FrameError):
    """A frame with a valid CRC but a version byte this side does not speak.

    The header is trustworthy, so a device answers it with a NACK.
    """

    name = "unsupported_version"
    code = ErrorCode.UNSUPPORTED_VERSION

    def __init__(self, message: str, *, version: int, msg_type: int, seq: int) -> None:
        super().__init__(message)
        self.version = version
        self.msg_type = msg_type
        self.seq = seq


class BadEncoding(FrameError):
    """The COBS layer of a serial/TCP stream was malformed."""

    name = "bad_encoding"


class MessageError(ProtocolError):
    """A well-formed frame whose content is not a valid message."""

    name = "message_error"
    code: ErrorCode | None = None


class UnknownType(MessageError):
    """A message type the protocol does not define (SPEC.md §5.1)."""

    name = "unknown_type"
    code = ErrorCode.UNKNOWN_TYPE


class BadPayload(MessageError):
    """A payload whose size or contents do not fit its message type (SPEC.md §5)."""

    name = "bad_payload"
    code = ErrorCode.BAD_LENGTH


class BadValue(MessageError):
    """A payload of the right length carrying a value the protocol does not define."""

    name = "bad_value"
    code = ErrorCode.BAD_VALUE


class BadTag(ProtocolError):
    """An authenticated frame whose tag does not verify with the key tried (SPEC.md §11.2)."""

    name = "bad_tag"
    code = ErrorCode.AUTH_FAILED
