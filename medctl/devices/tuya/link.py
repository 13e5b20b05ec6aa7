"""One Tuya BLE connection, controller side, without I/O: requests in → fragments to write out;
notifications in → events (and the acknowledgements to write back).

The handshake is device info (under the login key) → session key from the device's random →
pairing (under the session key) → data points. Sequence numbers start at 1 on every
connection and only go up; the device drops the link on one that does not (replay
protection), so a new connection needs a new :class:`TuyaLink`. Anything that does not
decrypt under the key expected at that point, fails its CRC, or arrives out of order is
refused with :class:`~medctl.devices.tuya.protocol.TuyaProtocolError` and changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from medctl.devices.tuya.protocol import (
    Code,
    DataPoint,
    DeviceInfo,
    Packet,
    Reassembler,
    SecurityFlag,
    TuyaProtocolError,
    decode_datapoints,
    decrypt_packet,
    encode_datapoints,
    encrypt_packet,
    fragment,
    login_key,
    pairing_request,
    result_byte,
    session_key,
)


@dataclass(frozen=True)
class Credentials:
    """What pairing needs: the device's 16-character uuid, its local key and its cloud device id."""

    uuid: str
    local_key: str
    device_id: str

    def __post_init__(self) -> None:
        pairing_request(self.uuid, self.local_key, self.device_id)  # refuses bad values with a clear line


@dataclass(frozen=True)
class Answer:
    """The device's one-byte answer to the request with sequence number ``response_to``."""

    response_to: int
    code: int
    result: int


@dataclass(frozen=True)
class InfoReceived:
    response_to: int
    info: DeviceInfo


@dataclass(frozen=True)
class Reported:
    """Data points the device reported (on a change, or asked for by a status query)."""

    points: tuple[DataPoint, ...]


Event = Answer | InfoReceived | Reported


@dataclass(frozen=True)
class Reply:
    """An acknowledgement the controller owes the device; encrypted by :meth:`TuyaLink.reply` when it is sent,
    so that sequence numbers go out in order."""

    code: Code
    data: bytes
    response_to: int


@dataclass
class Received:
    events: list[Event] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)


class TuyaLink:
    """The protocol state of one connection. ``iv`` gives 16 random bytes per packet (tests fix it)."""

    def __init__(self, credentials: Credentials, *, iv: Callable[[], bytes] = lambda: os.urandom(16)) -> None:
        self.credentials = credentials
        self._iv = iv
        self._login_key = login_key(credentials.local_key)
        self._session_key: bytes | None = None
        self._next_seq = 1
        self._last_device_seq = 0
        self._reassembler = Reassembler()
        self.info: DeviceInfo | None = None

    @property
    def has_session(self) -> bool:
        return self._session_key is not None

    # --- requests -------------------------------------------------------------------------

    def device_info(self) -> tuple[int, list[bytes]]:
        """The first request of a connection, under the login key."""
        return self._request(Code.DEVICE_INFO, b"", SecurityFlag.LOGIN_KEY)

    def pair(self) -> tuple[int, list[bytes]]:
        c = self.credentials
        return self._request(Code.PAIR, pairing_request(c.uuid, c.local_key, c.device_id), SecurityFlag.SESSION_KEY)

    def query(self) -> tuple[int, list[bytes]]:
        """Ask the device to report its data points."""
        return self._request(Code.DEVICE_STATUS, b"", SecurityFlag.SESSION_KEY)

    def write(self, point: DataPoint) -> tuple[int, list[bytes]]:
        """One data point per packet: the reference firmware acts on the first record of a write only."""
        return self._request(Code.DATA_POINTS, encode_datapoints([point]), SecurityFlag.SESSION_KEY)

    def _request(self, code: Code, data: bytes, flag: SecurityFlag, response_to: int = 0) -> tuple[int, list[bytes]]:
        key = self._login_key if flag is SecurityFlag.LOGIN_KEY else self._session_key
        if key is None:
            raise TuyaProtocolError("no session key yet: device info comes first")
        seq = self._next_seq
        self._next_seq += 1
        blob = encrypt_packet(Packet(seq, response_to, code, data), key, flag, self._iv())
        return seq, fragment(blob)

    # --- notifications --------------------------------------------------------------------

    def receive(self, data: bytes) -> Received:
        """One notification. Raises :class:`TuyaProtocolError` for anything not acceptable now."""
        blob = self._reassembler.feed(data)
        received = Received()
        if blob is None:
            return received
        keys: dict[int, bytes] = {SecurityFlag.LOGIN_KEY: self._login_key}
        if self._session_key is not None:
            keys = {SecurityFlag.SESSION_KEY: self._session_key}
        _, packet = decrypt_packet(blob, keys)
        if packet.seq <= self._last_device_seq:
            raise TuyaProtocolError(f"sequence number {packet.seq} repeats or goes back (last {self._last_device_seq})")
        self._last_device_seq = packet.seq
        self._dispatch(packet, received)
        return received

    def _dispatch(self, packet: Packet, received: Received) -> None:
        if packet.code == Code.DEVICE_INFO:
            info = DeviceInfo.decode(packet.data)
            self.info = info
            self._session_key = session_key(self.credentials.local_key, info.srand)
            received.events.append(InfoReceived(packet.response_to, info))
        elif packet.code in (Code.PAIR, Code.DATA_POINTS, Code.DEVICE_STATUS):
            name = Code(packet.code).name.lower()
            received.events.append(Answer(packet.response_to, packet.code, result_byte(packet.data, name)))
        elif packet.code == Code.REPORT_DATA_POINTS:
            received.events.append(Reported(tuple(decode_datapoints(packet.data))))
            received.replies.append(Reply(Code.REPORT_DATA_POINTS, b"\x00", packet.seq))
        elif packet.code == Code.TIME_REQUEST:
            # The device asks for the time after pairing; it keeps working unanswered, and a
            # wall-clock answer would make the bytes depend on when a test runs: answer "unknown".
            received.replies.append(Reply(Code.TIME_REQUEST, bytes(13) + b"\x00\x00", packet.seq))

    def reply(self, reply: Reply) -> list[bytes]:
        """The fragments of *reply*, with the next sequence number."""
        return self._request(reply.code, reply.data, SecurityFlag.SESSION_KEY, reply.response_to)[1]
