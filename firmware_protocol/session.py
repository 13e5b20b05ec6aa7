"""Connection keys (SPEC.md §12.2-§12.3): recorded frames are worthless on any other connection.

At every connection the controller sends SESSION_BEGIN with its id and a fresh nonce; the
device answers with a fresh nonce of its own and a proof. Both derive the connection key
from the pairing key and both nonces (HKDF-SHA256, RFC 5869, written out here on the
standard library: two HMACs), and the device proves it holds the pairing key before the
controller signs anything. Tags and trailers are those of version 2 (:mod:`firmware_protocol.auth`),
made with the connection key; counters start at 1 on each connection.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from typing import Final

from firmware_protocol.messages import NONCE_LEN, SESSION_PROOF_LEN

KEY_LEN: Final = 32
_SESSION_INFO: Final = b"medctl-session-v3"
_PROOF_LABEL: Final = b"medctl-device-proof"
_U32: Final = struct.Struct(">I")


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = KEY_LEN) -> bytes:
    """HKDF-SHA256 (RFC 5869): extract with *salt*, expand with *info* to *length* bytes."""
    if not 0 < length <= 255 * hashlib.sha256().digest_size:
        raise ValueError(f"HKDF-SHA256 cannot give {length} bytes")
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    output, block, counter = b"", b"", 1
    while len(output) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        output += block
        counter += 1
    return output[:length]


def _check(controller_id: int, controller_nonce: bytes, device_nonce: bytes) -> None:
    if not 0 <= controller_id <= 0xFFFF_FFFF:
        raise ValueError(f"controller_id must be a u32, got {controller_id}")
    if len(controller_nonce) != NONCE_LEN or len(device_nonce) != NONCE_LEN:
        raise ValueError(f"nonces must be {NONCE_LEN} bytes")


def session_key(pairing_key: bytes, controller_id: int, controller_nonce: bytes, device_nonce: bytes) -> bytes:
    """``HKDF-SHA256(IKM = K, salt = nonce_c || nonce_d, info = "medctl-session-v3" || u32 controller_id)``."""
    _check(controller_id, controller_nonce, device_nonce)
    return hkdf_sha256(pairing_key, controller_nonce + device_nonce, _SESSION_INFO + _U32.pack(controller_id))


def device_proof(key: bytes, controller_id: int, controller_nonce: bytes, device_nonce: bytes) -> bytes:
    """``HMAC-SHA256(Ks, "medctl-device-proof" || u32 controller_id || nonce_c || nonce_d)[0..3]``."""
    _check(controller_id, controller_nonce, device_nonce)
    message = _PROOF_LABEL + _U32.pack(controller_id) + controller_nonce + device_nonce
    return hmac.new(key, message, hashlib.sha256).digest()[:SESSION_PROOF_LEN]
