"""The Tuya BLE wire format, device side: decrypt what the app writes, encrypt what the device notifies.

Independent of medctl's driver on purpose (see the package docstring). Layout, keys and
fragmentation follow Tuya's BLE SDK (``tuya_ble_data_handler.c``): ``flag | IV | AES-CBC(seq |
response_to | code | length | data | CRC-16/MODBUS | zero padding)``, fragments of at most 20
bytes led by a varint fragment number (and, on the first, a varint total length and the
version nibble).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SERVICE_UUID16: Final = 0xA201
NOTIFY_UUID16: Final = 0x2B10
WRITE_UUID16: Final = 0x2B11
COMPANY_ID: Final = 0x07D0
MTU: Final = 20
VERSION: Final = 3
LOGIN_FLAG: Final = 4
SESSION_FLAG: Final = 5
MAX_BLOB: Final = 17 * 255


class WireError(ValueError):
    """What the device drops silently (the reference SDK logs it and answers nothing)."""


def md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def crc16_modbus(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            lsb = crc & 1
            crc >>= 1
            if lsb:
                crc ^= 0xA001
    return crc


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 28:
            raise WireError("bad varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def seal(key: bytes, flag: int, iv: bytes, seq: int, ack: int, code: int, data: bytes) -> list[bytes]:
    """One packet from the device, encrypted and cut into notifications."""
    plain = struct.pack(">IIHH", seq, ack, code, len(data)) + data
    plain += struct.pack(">H", crc16_modbus(plain))
    plain += b"\x00" * (-len(plain) % 16)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    blob = bytes([flag]) + iv + enc.update(plain) + enc.finalize()
    pieces: list[bytes] = []
    pos = 0
    while pos < len(blob):
        head = varint(len(pieces)) + (varint(len(blob)) + bytes([VERSION << 4]) if not pieces else b"")
        pieces.append(head + blob[pos : pos + MTU - len(head)])
        pos += MTU - len(head)
    return pieces


def open_packet(blob: bytes, keys: dict[int, bytes]) -> tuple[int, int, int, bytes]:
    """(flag, seq, code, data) of one reassembled packet, or :class:`WireError`."""
    if len(blob) < 33 or (len(blob) - 17) % 16:
        raise WireError("not whole AES blocks")
    flag = blob[0]
    if flag not in keys:
        raise WireError(f"flag {flag} not accepted now")
    dec = Cipher(algorithms.AES(keys[flag]), modes.CBC(blob[1:17])).decryptor()
    plain = dec.update(blob[17:]) + dec.finalize()
    seq, _ack, code, length = struct.unpack_from(">IIHH", plain)
    if 14 + length > len(plain):
        raise WireError("length past the end")
    if struct.unpack_from(">H", plain, 12 + length)[0] != crc16_modbus(plain[: 12 + length]):
        raise WireError("crc")
    return flag, seq, code, plain[12 : 12 + length]


class Unpacker:
    """Reassembles the app's writes; any inconsistency drops the partial packet."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._want = 0
        self._next = 0

    def push(self, data: bytes) -> bytes | None:
        try:
            number, pos = read_varint(data, 0)
            if number == 0:
                total, pos = read_varint(data, pos)
                if pos >= len(data) or data[pos] >> 4 < 2 or not 0 < total <= MAX_BLOB:
                    raise WireError("bad first fragment")
                pos += 1
                self._buf, self._want = bytearray(), total
            elif number != self._next or not self._want:
                raise WireError("fragment out of order")
            self._buf += data[pos:]
            self._next = number + 1
            if len(self._buf) > self._want:
                raise WireError("longer than announced")
        except WireError:
            self._buf, self._want, self._next = bytearray(), 0, 0
            raise
        if len(self._buf) < self._want:
            return None
        blob = bytes(self._buf)
        self._buf, self._want, self._next = bytearray(), 0, 0
        return blob


def dp_records(data: bytes) -> list[tuple[int, int, bytes]]:
    out: list[tuple[int, int, bytes]] = []
    pos = 0
    while pos < len(data):
        if pos + 3 > len(data) or pos + 3 + data[pos + 2] > len(data):
            raise WireError("dp record cut short")
        out.append((data[pos], data[pos + 1], data[pos + 3 : pos + 3 + data[pos + 2]]))
        pos += 3 + data[pos + 2]
    return out


def advertisement_fields(product_id: str, uuid: str, bound: bool) -> tuple[bytes, bytes]:
    """(service data for 0xA201, manufacturer data for 0x07D0): product id in clear, uuid encrypted
    with MD5(product id) as key and IV; bytes 2..5 of the manufacturer data are left 0."""
    key = md5(product_id.encode())
    plain = uuid.encode()
    plain += b"\x00" * (-len(plain) % 16)
    enc = Cipher(algorithms.AES(key), modes.CBC(key)).encryptor()
    manufacturer = bytes([0x80 if bound else 0x00, VERSION, 0, 0, 0, 0]) + enc.update(plain) + enc.finalize()
    return b"\x00" + product_id.encode(), manufacturer
