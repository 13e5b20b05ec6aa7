"""The Tuya BLE wire format, controller side: pure encoders and decoders, no I/O.

What goes over the air (protocol version 3, as Tuya's BLE SDK and the open Home Assistant
integrations implement it):

- GATT: service ``0xA201``; the controller writes to characteristic ``0x2B11`` and the
  device notifies on ``0x2B10``.
- A *packet* is ``seq (u32) | response_to (u32) | code (u16) | length (u16) | data |
  CRC-16/MODBUS (u16)``, big-endian, zero-padded to a multiple of 16 bytes and encrypted with
  AES-128-CBC under a random IV. On the air it is ``security flag (1) | IV (16) | ciphertext``.
  The flag names the key: 4 the *login key* (MD5 of the first 6 characters of the local key,
  used for the device-info exchange), 5 the *session key* (MD5 of those 6 characters and the
  6 random bytes the device sent in its device info), 1 the device's auth key.
- That encrypted blob is cut into *fragments* of at most 20 bytes (one default ATT write or
  notification): ``fragment number (varint) | [total length (varint) | version << 4, first
  fragment only] | bytes``.
- Data points (code ``0x0002`` from the controller, ``0x8001`` from the device) are
  ``id (u8) | type (u8) | length (u8) | value`` records; integers are big-endian.

Every decoder raises :class:`TuyaProtocolError` with one line saying what was wrong, and
keeps no state it could corrupt: a bad fragment resets the reassembly.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SERVICE_UUID: Final = "0000a201-0000-1000-8000-00805f9b34fb"
NOTIFY_CHAR_UUID: Final = "00002b10-0000-1000-8000-00805f9b34fb"
WRITE_CHAR_UUID: Final = "00002b11-0000-1000-8000-00805f9b34fb"
#: The company id under which a Tuya BLE device advertises its manufacturer data.
MANUFACTURER_ID: Final = 0x07D0
#: Protocol major version this module speaks (data points as ``0x0002``/``0x8001``).
PROTOCOL_VERSION: Final = 3
#: Fragment size: one write or notification at the default ATT MTU.
FRAGMENT_SIZE: Final = 20
#: Largest encrypted packet accepted: 255 fragments' worth, more is a misbehaving peer.
MAX_PACKET_LEN: Final = (FRAGMENT_SIZE - 3) * 255
#: Characters of the local key that the keys are derived from.
LOCAL_KEY_CHARS: Final = 6
#: The device-info answer is at least this long (up to and including the auth key).
DEVICE_INFO_MIN_LEN: Final = 46
#: The pairing request: uuid (16) + local key (6) + device id, zero-padded to this length.
PAIRING_REQUEST_LEN: Final = 44
UUID_LEN: Final = 16
DEVICE_ID_MAX_LEN: Final = PAIRING_REQUEST_LEN - UUID_LEN - LOCAL_KEY_CHARS
_HEADER: Final = struct.Struct(">IIHH")
_BLOCK: Final = 16


class TuyaProtocolError(ValueError):
    """Bytes that are not a valid Tuya BLE packet, fragment or data point; the message says why."""


class Code(IntEnum):
    """Packet codes: below 0x8000 the controller asks, from 0x8000 the device reports."""

    DEVICE_INFO = 0x0000
    PAIR = 0x0001
    DATA_POINTS = 0x0002
    DEVICE_STATUS = 0x0003
    REPORT_DATA_POINTS = 0x8001
    TIME_REQUEST = 0x8011


class SecurityFlag(IntEnum):
    AUTH_KEY = 1
    LOGIN_KEY = 4
    SESSION_KEY = 5


class DpType(IntEnum):
    RAW = 0
    BOOL = 1
    VALUE = 2
    STRING = 3
    ENUM = 4
    BITMAP = 5


class PairResult(IntEnum):
    OK = 0
    DEVICE_ID_MISMATCH = 1
    ALREADY_BOUND = 2


# --- integrity and keys -------------------------------------------------------------------


def crc16(data: bytes) -> int:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), as the packet trailer uses."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()  # the protocol's key derivation, not ours


def login_key(local_key: str) -> bytes:
    """The key of the device-info exchange: MD5 of the local key's first 6 characters."""
    return _md5(_key_prefix(local_key))


def session_key(local_key: str, srand: bytes) -> bytes:
    """The key of everything after device info: MD5 of the local key's first 6 characters and *srand*."""
    if len(srand) != 6:
        raise TuyaProtocolError(f"the device's random must be 6 bytes, got {len(srand)}")
    return _md5(_key_prefix(local_key) + srand)


def _key_prefix(local_key: str) -> bytes:
    raw = local_key.encode()
    if len(raw) < LOCAL_KEY_CHARS:
        raise TuyaProtocolError(f"a local key has at least {LOCAL_KEY_CHARS} characters, got {len(raw)}")
    return raw[:LOCAL_KEY_CHARS]


# --- varints and fragments ----------------------------------------------------------------


def pack_varint(value: int) -> bytes:
    """Seven bits a byte, least significant first, high bit set on every byte but the last."""
    if value < 0:
        raise TuyaProtocolError(f"a varint is not negative, got {value}")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def unpack_varint(data: bytes, pos: int = 0) -> tuple[int, int]:
    """The value at *pos* and the position after it (at most 5 bytes)."""
    value = 0
    for shift in range(5):
        if pos >= len(data):
            raise TuyaProtocolError("a varint runs past the end of the fragment")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * shift)
        if not byte & 0x80:
            return value, pos
    raise TuyaProtocolError("a varint is longer than 5 bytes")


def fragment(blob: bytes, *, version: int = PROTOCOL_VERSION, size: int = FRAGMENT_SIZE) -> list[bytes]:
    """*blob* (an encrypted packet) as the writes or notifications that carry it."""
    if not blob:
        raise TuyaProtocolError("nothing to fragment")
    out: list[bytes] = []
    pos = 0
    while pos < len(blob):
        head = pack_varint(len(out))
        if not out:
            head += pack_varint(len(blob)) + bytes([version << 4])
        take = size - len(head)
        out.append(head + blob[pos : pos + take])
        pos += take
    return out


class Reassembler:
    """Fragments in, whole encrypted packets out. A fragment out of order drops the partial packet."""

    def __init__(self, *, max_len: int = MAX_PACKET_LEN) -> None:
        self._max_len = max_len
        self._buffer = bytearray()
        self._expected_number = 0
        self._expected_len = 0
        self.version = 0

    @property
    def pending(self) -> bool:
        return self._expected_number > 0

    def reset(self) -> None:
        self._buffer.clear()
        self._expected_number = 0
        self._expected_len = 0

    def feed(self, data: bytes) -> bytes | None:
        """The packet *data* completes, ``None`` while more fragments are due; raises on a bad fragment."""
        try:
            return self._feed(bytes(data))
        except TuyaProtocolError:
            self.reset()
            raise

    def _feed(self, data: bytes) -> bytes | None:
        number, pos = unpack_varint(data)
        if number == 0:
            self.reset()
            length, pos = unpack_varint(data, pos)
            if pos >= len(data):
                raise TuyaProtocolError("the first fragment has no version byte")
            if not 0 < length <= self._max_len:
                raise TuyaProtocolError(f"a packet of {length} bytes is announced (1..{self._max_len} allowed)")
            self.version = data[pos] >> 4
            pos += 1
            self._expected_len = length
        elif number != self._expected_number:
            raise TuyaProtocolError(f"fragment {number} arrived where {self._expected_number} was due")
        self._buffer += data[pos:]
        self._expected_number = number + 1
        if len(self._buffer) > self._expected_len:
            raise TuyaProtocolError(f"fragments carry {len(self._buffer)} bytes, {self._expected_len} were announced")
        if len(self._buffer) < self._expected_len:
            return None
        blob = bytes(self._buffer)
        self.reset()
        return blob


# --- packets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Packet:
    """One decrypted packet. ``code`` stays an int: unknown codes are the caller's to ignore."""

    seq: int
    response_to: int
    code: int
    data: bytes = b""


def encrypt_packet(packet: Packet, key: bytes, flag: SecurityFlag, iv: bytes) -> bytes:
    """``flag | iv | AES-CBC(header | data | CRC | zero padding)``; *iv* is 16 fresh random bytes."""
    if len(iv) != _BLOCK:
        raise TuyaProtocolError(f"the IV is 16 bytes, got {len(iv)}")
    if len(packet.data) > 0xFFFF:
        raise TuyaProtocolError(f"packet data of {len(packet.data)} bytes does not fit its 16-bit length")
    plain = _HEADER.pack(packet.seq, packet.response_to, packet.code, len(packet.data)) + packet.data
    plain += struct.pack(">H", crc16(plain))
    plain += bytes(-len(plain) % _BLOCK)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return bytes([flag]) + iv + encryptor.update(plain) + encryptor.finalize()


def decrypt_packet(blob: bytes, keys: Mapping[int, bytes]) -> tuple[SecurityFlag, Packet]:
    """The packet in *blob* and the flag it came under; *keys* maps the flags the caller accepts to keys."""
    if len(blob) < 1 + 2 * _BLOCK or (len(blob) - 1) % _BLOCK:
        raise TuyaProtocolError(f"an encrypted packet of {len(blob)} bytes is not flag + IV + whole AES blocks")
    try:
        flag = SecurityFlag(blob[0])
    except ValueError:
        raise TuyaProtocolError(f"unknown security flag {blob[0]}") from None
    key = keys.get(flag)
    if key is None:
        raise TuyaProtocolError(f"no key for security flag {flag.value} ({flag.name.lower()}) at this point")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(blob[1:17])).decryptor()
    plain = decryptor.update(blob[17:]) + decryptor.finalize()
    seq, response_to, code, length = _HEADER.unpack_from(plain)
    end = _HEADER.size + length
    if end + 2 > len(plain):
        raise TuyaProtocolError(f"the packet says {length} data bytes, only {len(plain) - _HEADER.size - 2} fit")
    (crc,) = struct.unpack_from(">H", plain, end)
    if crc != crc16(plain[:end]):
        raise TuyaProtocolError("CRC mismatch: wrong key or corrupted packet")
    return flag, Packet(seq, response_to, code, plain[_HEADER.size : end])


# --- data points --------------------------------------------------------------------------

DpValue = bool | int | str | bytes


@dataclass(frozen=True)
class DataPoint:
    id: int
    type: DpType
    value: DpValue

    def encode(self) -> bytes:
        raw = _encode_value(self.type, self.value)
        if not 0 <= self.id <= 0xFF or len(raw) > 0xFF:
            raise TuyaProtocolError(f"data point {self.id} does not fit one record")
        return bytes([self.id, self.type, len(raw)]) + raw


def _encode_value(kind: DpType, value: DpValue) -> bytes:
    if kind is DpType.BOOL:
        if not isinstance(value, bool):
            raise TuyaProtocolError(f"a bool data point takes True or False, got {value!r}")
        return b"\x01" if value else b"\x00"
    if kind is DpType.VALUE:
        if not isinstance(value, int) or isinstance(value, bool) or not -(2**31) <= value < 2**31:
            raise TuyaProtocolError(f"a value data point takes a 32-bit integer, got {value!r}")
        return struct.pack(">i", value)
    if kind is DpType.ENUM:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFF:
            raise TuyaProtocolError(f"an enum data point takes 0..255, got {value!r}")
        return bytes([value])
    if kind is DpType.STRING:
        if not isinstance(value, str):
            raise TuyaProtocolError(f"a string data point takes text, got {value!r}")
        return value.encode()
    if not isinstance(value, bytes):
        raise TuyaProtocolError(f"a {kind.name.lower()} data point takes bytes, got {value!r}")
    return value


def encode_datapoints(points: Iterable[DataPoint]) -> bytes:
    return b"".join(point.encode() for point in points)


def decode_datapoints(data: bytes) -> list[DataPoint]:
    """Every record in *data*; a record cut short or of an unknown type refuses the whole report."""
    points: list[DataPoint] = []
    pos = 0
    while pos < len(data):
        if pos + 3 > len(data):
            raise TuyaProtocolError(f"a data point header is cut short at byte {pos}")
        dp_id, raw_type, length = data[pos : pos + 3]
        try:
            kind = DpType(raw_type)
        except ValueError:
            raise TuyaProtocolError(f"data point {dp_id} has unknown type {raw_type}") from None
        raw = data[pos + 3 : pos + 3 + length]
        if len(raw) != length:
            raise TuyaProtocolError(f"data point {dp_id} says {length} bytes, {len(raw)} follow")
        points.append(DataPoint(dp_id, kind, _decode_value(kind, raw, dp_id)))
        pos += 3 + length
    return points


def _decode_value(kind: DpType, raw: bytes, dp_id: int) -> DpValue:
    if kind is DpType.BOOL:
        if len(raw) != 1:
            raise TuyaProtocolError(f"bool data point {dp_id} has {len(raw)} bytes, not 1")
        return raw != b"\x00"
    if kind in (DpType.VALUE, DpType.ENUM):
        if not 1 <= len(raw) <= 4:
            raise TuyaProtocolError(f"integer data point {dp_id} has {len(raw)} bytes, not 1..4")
        return int.from_bytes(raw, "big", signed=kind is DpType.VALUE)
    if kind is DpType.STRING:
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise TuyaProtocolError(f"string data point {dp_id} is not UTF-8") from None
    return raw


# --- handshake payloads -------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceInfo:
    """The device's answer to ``DEVICE_INFO``: versions, whether it is bound, and its session random."""

    firmware: str
    protocol: str
    protocol_major: int
    flags: int
    bound: bool
    srand: bytes
    hardware: str

    @classmethod
    def decode(cls, data: bytes) -> DeviceInfo:
        if len(data) < DEVICE_INFO_MIN_LEN:
            raise TuyaProtocolError(f"device info is {len(data)} bytes, at least {DEVICE_INFO_MIN_LEN} expected")
        return cls(
            firmware=f"{data[0]}.{data[1]}",
            protocol=f"{data[2]}.{data[3]}",
            protocol_major=data[2],
            flags=data[4],
            bound=data[5] != 0,
            srand=bytes(data[6:12]),
            hardware=f"{data[12]}.{data[13]}",
        )


def pairing_request(uuid: str, local_key: str, device_id: str) -> bytes:
    """``PAIR`` data: the device's 16-character uuid, the local key's first 6, the cloud device id, zero-padded."""
    raw_uuid, raw_id = uuid.encode(), device_id.encode()
    if len(raw_uuid) != UUID_LEN:
        raise TuyaProtocolError(f"a Tuya BLE uuid has {UUID_LEN} characters, got {len(raw_uuid)}")
    if not 0 < len(raw_id) <= DEVICE_ID_MAX_LEN:
        raise TuyaProtocolError(f"a device id has 1..{DEVICE_ID_MAX_LEN} characters, got {len(raw_id)}")
    body = raw_uuid + _key_prefix(local_key) + raw_id
    return body + bytes(PAIRING_REQUEST_LEN - len(body))


def result_byte(data: bytes, what: str) -> int:
    """The one status byte that answers ``PAIR``, ``DATA_POINTS`` and ``DEVICE_STATUS``."""
    if len(data) != 1:
        raise TuyaProtocolError(f"the answer to {what} is {len(data)} bytes, not 1")
    return data[0]


# --- advertisement ------------------------------------------------------------------------


@dataclass(frozen=True)
class Advertisement:
    product_id: str
    uuid: str
    bound: bool
    protocol_version: int


def decode_advertisement(service_data: bytes, manufacturer_data: bytes) -> Advertisement:
    """What a Tuya BLE device says about itself: product id in the service data, its uuid encrypted
    (AES-CBC, key and IV the MD5 of the product id) in the manufacturer data after 6 bytes of flags."""
    if len(service_data) < 2 or service_data[0] != 0:
        raise TuyaProtocolError("the 0xA201 service data does not carry a product id")
    if len(manufacturer_data) < 6 + _BLOCK or (len(manufacturer_data) - 6) % _BLOCK:
        raise TuyaProtocolError("the manufacturer data does not carry an encrypted uuid")
    product = bytes(service_data[1:])
    key = _md5(product)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key)).decryptor()
    plain = decryptor.update(bytes(manufacturer_data[6:])) + decryptor.finalize()
    try:
        return Advertisement(
            product_id=product.decode(),
            uuid=plain.rstrip(b"\x00").decode(),
            bound=bool(manufacturer_data[0] & 0x80),
            protocol_version=manufacturer_data[1],
        )
    except UnicodeDecodeError:
        raise TuyaProtocolError("the advertised product id or uuid is not text") from None
