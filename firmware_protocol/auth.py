"""The authenticated channel (SPEC.md §11): pairing codes, key derivation, tags and the trailer.

Pure functions over bytes on the standard library's ``hashlib`` and ``hmac``; no I/O and
no state. The device and the controller both build on them:

- pairing turns the code printed on the device, the device's serial number, the
  controller's id and a nonce from each side into a 32-byte key (:func:`derive_key`), and
  each side proves it holds that key with a confirmation (:func:`controller_confirmation`,
  :func:`device_confirmation`);
- every authenticated request is a version-2 frame whose payload ends in a counter and a
  truncated HMAC-SHA256 tag over everything before it (:func:`seal`, :func:`verify_frame`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from typing import Final

from firmware_protocol.constants import (
    AUTH_FRAME_VERSION,
    COUNTER_LEN,
    MAX_AUTH_PAYLOAD_LEN,
    MAX_COUNTER,
    TAG_LEN,
    TRAILER_LEN,
)
from firmware_protocol.errors import BadPayload, BadTag
from firmware_protocol.frame import HEADER, Frame
from firmware_protocol.messages import CONFIRMATION_LEN, NONCE_LEN, Request

#: Pairing codes use 32 characters that cannot be mistaken for one another (no 0/O, no 1/I).
PAIRING_CODE_ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#: 8 characters of 32: 40 bits.
PAIRING_CODE_LEN: Final = 8
#: PBKDF2-HMAC-SHA256 iterations of the pairing key derivation.
PAIRING_ITERATIONS: Final = 20_000
KEY_LEN: Final = 32

_SALT_LABEL: Final = b"medctl-pair-v2"
_CONTROLLER_LABEL: Final = b"medctl-confirm-controller"
_DEVICE_LABEL: Final = b"medctl-confirm-device"
_REQUEST_LABEL: Final = b"medctl-request"
_U32: Final = struct.Struct(">I")


# --- pairing codes ----------------------------------------------------------------------------


#: What normalizing drops (SPEC.md §11.4): ASCII space, tab, line feed, vertical tab, form feed,
#: carriage return and the hyphen-minus. Any other character, other Unicode spaces included, is kept
#: and so makes the code invalid.
_DROPPED: Final = str.maketrans("", "", " \t\n\v\f\r-")


def normalize_code(text: str) -> str:
    """The 8 code characters of *text* (ASCII case, whitespace and dashes ignored); ValueError if it is no code."""
    compact = text.translate(_DROPPED)
    if compact.isascii():
        compact = compact.upper()  # only ASCII is upper-cased: "ſ".upper() is "S"
    if len(compact) != PAIRING_CODE_LEN or any(c not in PAIRING_CODE_ALPHABET for c in compact):
        raise ValueError(
            f"{text.strip()!r} is not a pairing code: it has {PAIRING_CODE_LEN} letters and digits, "
            "such as 7KQM-3XHP (no 0, 1, I or O)"
        )
    return compact


def format_code(code: str) -> str:
    """A code as printed on the device: ``7KQM-3XHP``."""
    compact = normalize_code(code)
    half = PAIRING_CODE_LEN // 2
    return f"{compact[:half]}-{compact[half:]}"


def new_pairing_code() -> str:
    """A fresh random code, formatted for printing."""
    return format_code("".join(secrets.choice(PAIRING_CODE_ALPHABET) for _ in range(PAIRING_CODE_LEN)))


# --- key derivation and confirmation ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairingTranscript:
    """What one pairing binds the key to: the device, the controller and both nonces."""

    serial: str
    controller_id: int
    controller_nonce: bytes
    device_nonce: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.controller_id <= MAX_COUNTER:
            raise ValueError(f"controller_id must be a u32, got {self.controller_id}")
        if len(self.controller_nonce) != NONCE_LEN or len(self.device_nonce) != NONCE_LEN:
            raise ValueError(f"nonces must be {NONCE_LEN} bytes")
        if len(self.serial.encode()) > 0xFF:
            raise ValueError("serial number too long")

    def salt(self) -> bytes:
        """``label || u8 len(serial) || serial || u32 controller_id || nonce_c || nonce_d``."""
        serial = self.serial.encode()
        return _SALT_LABEL + bytes([len(serial)]) + serial + self._ids()

    def _ids(self) -> bytes:
        return _U32.pack(self.controller_id) + self.controller_nonce + self.device_nonce

    def confirmation_input(self, label: bytes) -> bytes:
        return label + self._ids()


def derive_key(code: str, transcript: PairingTranscript, *, iterations: int = PAIRING_ITERATIONS) -> bytes:
    """The 32-byte pairing key: PBKDF2-HMAC-SHA256 of the normalized code, salted with the transcript."""
    password = normalize_code(code).encode("ascii")
    return hashlib.pbkdf2_hmac("sha256", password, transcript.salt(), iterations, KEY_LEN)


def controller_confirmation(key: bytes, transcript: PairingTranscript) -> bytes:
    """PAIR_CONFIRM's payload: the controller proves it derived *key*."""
    return _mac(key, transcript.confirmation_input(_CONTROLLER_LABEL))[:CONFIRMATION_LEN]


def device_confirmation(key: bytes, transcript: PairingTranscript) -> bytes:
    """PAIR_CONFIRM's ACK data: the device proves it derived *key*."""
    return _mac(key, transcript.confirmation_input(_DEVICE_LABEL))[:CONFIRMATION_LEN]


def same(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two tags or confirmations."""
    return hmac.compare_digest(a, b)


# --- the authenticated frame ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trailer:
    """The end of an authenticated frame's payload: the request counter and the tag."""

    counter: int
    tag: bytes


def seal(message: Request, seq: int, key: bytes, counter: int) -> bytes:
    """The authenticated (version 2) frame bytes carrying *message* with *seq* and *counter*."""
    payload = message.payload()
    if len(payload) > MAX_AUTH_PAYLOAD_LEN:
        raise ValueError(f"{message.TYPE.name} is too long for an authenticated frame")
    if not 1 <= counter <= MAX_COUNTER:
        raise ValueError(f"counter must be 1..{MAX_COUNTER}, got {counter}")
    signed = HEADER.pack(AUTH_FRAME_VERSION, message.TYPE, seq, len(payload) + TRAILER_LEN)
    signed += payload + _U32.pack(counter)
    tag = request_tag(key, signed)
    return bytes(Frame(message.TYPE, seq, payload + _U32.pack(counter) + tag, version=AUTH_FRAME_VERSION))


def trailer_of(frame: Frame) -> Trailer:
    """The counter and tag of an authenticated frame; BadPayload if the frame has none."""
    if frame.version != AUTH_FRAME_VERSION or len(frame.payload) < TRAILER_LEN:
        raise BadPayload("not an authenticated frame with a complete trailer")
    counter_at = len(frame.payload) - TRAILER_LEN
    (counter,) = _U32.unpack_from(frame.payload, counter_at)
    return Trailer(counter, bytes(frame.payload[counter_at + COUNTER_LEN :]))


def verify_frame(frame: Frame, key: bytes) -> Trailer:
    """The trailer of *frame* if its tag verifies with *key*; raise BadTag (or BadPayload) if not."""
    trailer = trailer_of(frame)
    signed = HEADER.pack(frame.version, frame.msg_type, frame.seq, len(frame.payload)) + frame.payload[:-TAG_LEN]
    if not same(request_tag(key, signed), trailer.tag):
        raise BadTag(f"the tag of request seq {frame.seq} does not verify")
    return trailer


def request_tag(key: bytes, signed: bytes) -> bytes:
    """The 4-byte tag of an authenticated frame: HMAC-SHA256 over a label and *signed*, truncated."""
    return _mac(key, _REQUEST_LABEL + signed)[:TAG_LEN]


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()
