"""The frame: the unit every transport carries (SPEC.md §3-§4).

    version:u8 | type:u8 | seq:u8 | len:u8 | payload[len] | crc16:u16be

The version byte names the layout of the payload: 1 for a plain frame, 2 for an
authenticated request whose payload ends in a counter and a tag (SPEC.md §11.2,
:mod:`firmware_protocol.auth`). No I/O here; stream framing for serial/TCP is in
:mod:`firmware_protocol.stream`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from firmware_protocol.constants import (
    CRC_LEN,
    FRAME_VERSIONS,
    HEADER_LEN,
    MAX_FRAME_LEN,
    MAX_PAYLOAD_LEN,
    MIN_FRAME_LEN,
    PLAIN_FRAME_VERSION,
)
from firmware_protocol.crc import crc16
from firmware_protocol.errors import (
    BadCRC,
    BadLength,
    OversizeFrame,
    TruncatedFrame,
    UnsupportedVersion,
)

HEADER: Final = struct.Struct(">BBBB")
CRC: Final = struct.Struct(">H")


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame. ``msg_type`` stays an int: unknown types are a message error."""

    msg_type: int
    seq: int
    payload: bytes = b""
    version: int = PLAIN_FRAME_VERSION

    def __post_init__(self) -> None:
        # every frame sent or received passes here: one test for the common case, then which field
        if not (0 <= self.msg_type <= 0xFF and 0 <= self.seq <= 0xFF and 0 <= self.version <= 0xFF):
            for name, value in (("msg_type", self.msg_type), ("seq", self.seq), ("version", self.version)):
                if not 0 <= value <= 0xFF:
                    raise ValueError(f"{name} must fit one byte, got {value}")
        if len(self.payload) > MAX_PAYLOAD_LEN:
            raise ValueError(f"payload of {len(self.payload)} bytes exceeds {MAX_PAYLOAD_LEN}")

    def __bytes__(self) -> bytes:
        body = HEADER.pack(self.version, self.msg_type, self.seq, len(self.payload)) + self.payload
        return body + CRC.pack(crc16(body))

    @classmethod
    def loads(cls, data: bytes) -> Frame:
        """Decode exactly one frame; raise a :class:`FrameError` subclass if it is invalid."""
        size = len(data)
        if size < MIN_FRAME_LEN:
            raise TruncatedFrame(f"frame of {size} bytes is shorter than the minimum {MIN_FRAME_LEN}")
        if size > MAX_FRAME_LEN:
            raise OversizeFrame(f"frame of {size} bytes exceeds the maximum {MAX_FRAME_LEN}")
        version, msg_type, seq, length = HEADER.unpack_from(data)
        if length > MAX_PAYLOAD_LEN or HEADER_LEN + length + CRC_LEN != size:
            raise BadLength(f"length byte says {length} payload bytes, frame carries {size - HEADER_LEN - CRC_LEN}")
        (received,) = CRC.unpack_from(data, size - CRC_LEN)
        expected = crc16(data[: size - CRC_LEN])
        if received != expected:
            raise BadCRC(f"CRC 0x{received:04X} does not match computed 0x{expected:04X}")
        if version not in FRAME_VERSIONS:
            raise UnsupportedVersion(
                f"frame version {version} is not supported (this side speaks {sorted(FRAME_VERSIONS)})",
                version=version,
                msg_type=msg_type,
                seq=seq,
            )
        return cls(msg_type=msg_type, seq=seq, payload=bytes(data[HEADER_LEN : size - CRC_LEN]), version=version)
