"""Pairing by SPAKE2 (SPEC.md §12.4): a recorded pairing gives nothing to guess the code against.

The controller is SPAKE2 side A, the device side B, both with the normalized pairing code
as the password, ``u32 controller_id`` as A's identity and the serial number as B's
(the ``spake2`` package: Ed25519 group, its published M and N; messages of 33 bytes).
A message does not fit one 20-byte frame, so each side's message travels in parts of
:data:`PAKE_PART_LEN` bytes (PAKE_PART and its ACK). From SPAKE2's shared secret both
derive the pairing key and a confirmation each, bound to both messages.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from typing import Final

from spake2 import SPAKE2_A, SPAKE2_B
from spake2.spake2 import SPAKEError

from firmware_protocol.auth import normalize_code
from firmware_protocol.messages import CONFIRMATION_LEN, PAKE_PART_LEN

#: Both SPAKE2 messages are 33 bytes (a side byte and an Ed25519 element).
PAKE_MESSAGE_LEN: Final = 33
#: So each travels in three parts: 12 + 12 + 9 bytes.
PAKE_PARTS: Final = -(-PAKE_MESSAGE_LEN // PAKE_PART_LEN)
_KEY_LABEL: Final = b"medctl-pair-v3"
_CONTROLLER_LABEL: Final = b"medctl-confirm-controller"
_DEVICE_LABEL: Final = b"medctl-confirm-device"
_U32: Final = struct.Struct(">I")
Entropy = Callable[[int], bytes]


class PakeFailed(ValueError):
    """The other side's SPAKE2 message is not a valid group element (or not from the other side)."""


def parts(message: bytes) -> list[bytes]:
    """*message* cut into PAKE_PART chunks."""
    return [message[i : i + PAKE_PART_LEN] for i in range(0, len(message), PAKE_PART_LEN)]


def part_len(index: int) -> int:
    """The length of part *index* of a 33-byte message (12, 12, 9)."""
    if not 0 <= index < PAKE_PARTS:
        raise ValueError(f"part index must be 0..{PAKE_PARTS - 1}, got {index}")
    return min(PAKE_PART_LEN, PAKE_MESSAGE_LEN - index * PAKE_PART_LEN)


class PakeSide:
    """One side of the exchange: its own message now, the pairing key once the other's is in."""

    def __init__(
        self, device: bool, code: str, serial: str, controller_id: int, entropy: Entropy = os.urandom
    ) -> None:
        password = normalize_code(code).encode("ascii")
        kind = SPAKE2_B if device else SPAKE2_A
        self._device = device
        self._serial = serial.encode()
        self._controller_id = controller_id
        self._spake = kind(password, idA=_U32.pack(controller_id), idB=self._serial, entropy_f=entropy)
        self.message: bytes = self._spake.start()

    def finish(self, other: bytes) -> PairingProof:
        """The pairing key and both confirmations, from the other side's message."""
        if len(other) != PAKE_MESSAGE_LEN:
            raise PakeFailed(f"a SPAKE2 message is {PAKE_MESSAGE_LEN} bytes, got {len(other)}")
        try:
            secret = self._spake.finish(other)
        except SPAKEError as exc:
            raise PakeFailed(str(exc)) from None
        key = hmac.new(
            secret, _KEY_LABEL + bytes([len(self._serial)]) + self._serial + _U32.pack(self._controller_id), "sha256"
        ).digest()
        message_a, message_b = (other, self.message) if self._device else (self.message, other)
        return PairingProof(key, message_a, message_b)


class PairingProof:
    """The pairing key and the confirmations bound to both SPAKE2 messages."""

    def __init__(self, key: bytes, message_a: bytes, message_b: bytes) -> None:
        self.key = key
        transcript = message_a + message_b
        self.controller = _mac(key, _CONTROLLER_LABEL + transcript)[:CONFIRMATION_LEN]
        self.device = _mac(key, _DEVICE_LABEL + transcript)[:CONFIRMATION_LEN]


def _mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()
