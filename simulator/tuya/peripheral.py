"""The Tuya neck massager as a bumble GATT peripheral: service 0xA201, write 0x2B11, notify 0x2B10.

Per connection, as Tuya's BLE SDK does it: DEVICE_INFO (under the login key) is answered with
versions, the bound flag and 6 fresh random bytes, from which both sides derive the session
key; PAIR (under the session key) must carry the device's uuid (a wrong one is answered 1 and
the link dropped); until then every other request is dropped unanswered. A packet whose
sequence number does not go up drops the link (replay protection). Anything that does not
decrypt, fails its CRC or is fragmented wrongly is dropped and counted in ``rejected``.
Data point writes are answered (0x0002, one status byte), applied, and reported (0x8001).

Advertising: flags, the 16-bit service UUID 0xA201 and its service data (0x00 + product id)
fit a legacy advertisement; the manufacturer data (company 0x07D0: bound flag, protocol
version, encrypted uuid) goes in the scan response, as it does not fit beside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

from bumble import core, data_types, gatt, hci
from bumble.core import AdvertisingData
from bumble.device import AdvertisingType, Connection, Device

from simulator.ble.link import VirtualLink
from simulator.ble.radio import Radio
from simulator.tuya import wire
from simulator.tuya.device import NeckMassager, Record, TuyaIdentity

TUYA_ADDRESS: Final = "F0:0D:C0:FF:EE:7A"
ADVERTISING_INTERVAL_MS: Final = 100.0
CODE_DEVICE_INFO: Final = 0x0000
CODE_PAIR: Final = 0x0001
CODE_DPS: Final = 0x0002
CODE_STATUS: Final = 0x0003
CODE_REPORT: Final = 0x8001
CODE_TIME: Final = 0x8011
FIRMWARE: Final = (1, 0)
HARDWARE: Final = (1, 0)


class _Session:
    """One connection's protocol state."""

    def __init__(self, identity: TuyaIdentity) -> None:
        self.unpacker = wire.Unpacker()
        self.login_key = wire.md5(identity.local_key.encode()[:6])
        self.session_key: bytes | None = None
        self.paired = False
        self.last_app_seq = 0
        self.next_seq = 1
        self.outgoing: asyncio.Queue[bytes] = asyncio.Queue()


class TuyaPeripheral:
    def __init__(self, device: NeckMassager, identity: TuyaIdentity, radio: Radio) -> None:
        self.device = device
        self.identity = identity
        self.radio = radio
        self.rejected = 0
        self.writes: list[bytes] = []
        self._notify_char: gatt.Characteristic[bytes] = gatt.Characteristic(
            core.UUID.from_16_bits(wire.NOTIFY_UUID16),
            gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.Permissions(0),
            b"",
        )
        write_char: gatt.Characteristic[bytes] = gatt.Characteristic(
            core.UUID.from_16_bits(wire.WRITE_UUID16),
            gatt.Characteristic.Properties.WRITE | gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.Permissions.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_write),
        )
        service = gatt.Service(core.UUID.from_16_bits(wire.SERVICE_UUID16), [write_char, self._notify_char])
        radio.device.add_service(service)
        radio.device.on(Device.EVENT_CONNECTION, self._on_connection)
        self._sessions: dict[Connection, _Session] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._dropped = False
        device.on_report = self._report_to_all

    @property
    def address(self) -> str:
        return self.radio.address

    @property
    def connections(self) -> int:
        return len(self._sessions)

    async def advertise(self) -> None:
        if not self.radio.alive or self._dropped:
            return
        service_data, manufacturer = wire.advertisement_fields(self.identity.product_id, self.identity.uuid, True)
        uuid = core.UUID.from_16_bits(wire.SERVICE_UUID16)
        flags = AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED
        advertisement = AdvertisingData(
            [
                data_types.Flags(flags),
                data_types.CompleteListOf16BitServiceUUIDs([uuid]),
                data_types.ServiceData16BitUUID(uuid, service_data),
                data_types.CompleteLocalName(self.identity.name),
            ]
        )
        scan_response = AdvertisingData([data_types.ManufacturerSpecificData(wire.COMPANY_ID, manufacturer)])
        await self.radio.device.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE,
            advertising_data=bytes(advertisement),
            scan_response_data=bytes(scan_response),
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
        )

    # --- faults ---------------------------------------------------------------------------

    def drop(self) -> None:
        """Out of range: every connection ends and nothing is advertised until :meth:`restore`."""
        self._dropped = True
        self._spawn(self._stop_advertising())
        for connection in list(self._sessions):
            self._spawn(_disconnect(connection))

    def restore(self) -> None:
        self._dropped = False
        if not self._sessions:
            self._spawn(self.advertise())

    def inject(self, data: bytes) -> None:
        """*data* as one raw notification to every connection (bad input for the controller)."""
        if not data:
            raise ValueError("an injected notification carries at least one byte")
        for session in self._sessions.values():
            session.outgoing.put_nowait(bytes(data))

    def close(self) -> None:
        self.drop()
        self.radio.device.remove_listener(Device.EVENT_CONNECTION, self._on_connection)

    async def wait_closed(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- connections ----------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.PERIPHERAL:
            return
        session = _Session(self.identity)
        self._sessions[connection] = session
        self._spawn(self._send_loop(connection, session))
        connection.on(connection.EVENT_DISCONNECTION, lambda _reason: self._on_disconnection(connection))
        if self._dropped:
            self._spawn(_disconnect(connection))

    def _on_disconnection(self, connection: Connection) -> None:
        session = self._sessions.pop(connection, None)
        if session is not None:
            session.outgoing.put_nowait(b"")  # ends its send loop
        if not self._sessions and not self._dropped:
            self._spawn(self.advertise())

    def _on_write(self, connection: Connection, value: bytes) -> None:
        session = self._sessions.get(connection)
        if session is None:
            return
        self.writes.append(bytes(value))
        try:
            blob = session.unpacker.push(bytes(value))
            if blob is None:
                return
            keys = {wire.LOGIN_FLAG: session.login_key}
            if session.session_key is not None:
                keys[wire.SESSION_FLAG] = session.session_key
            flag, seq, code, data = wire.open_packet(blob, keys)
        except wire.WireError:
            self.rejected += 1
            return
        if seq <= session.last_app_seq:
            self.rejected += 1
            self._spawn(_disconnect(connection))
            return
        session.last_app_seq = seq
        self._handle(connection, session, flag, seq, code, data)

    def _handle(self, connection: Connection, session: _Session, flag: int, seq: int, code: int, data: bytes) -> None:
        if code == CODE_DEVICE_INFO:
            srand = os.urandom(6)
            session.session_key = wire.md5(self.identity.local_key.encode()[:6] + srand)
            info = bytes([*FIRMWARE, wire.VERSION, 0, 0, 1]) + srand + bytes(HARDWARE) + bytes(32)
            self._send(session, session.login_key, wire.LOGIN_FLAG, seq, CODE_DEVICE_INFO, info)
            return
        if session.session_key is None or flag != wire.SESSION_FLAG:
            self.rejected += 1
            return
        key = session.session_key
        if code == CODE_PAIR:
            if data[:16] != self.identity.uuid.encode():
                self._send(session, key, wire.SESSION_FLAG, seq, CODE_PAIR, b"\x01")
                self._spawn(_disconnect(connection))
                return
            session.paired = True
            self._send(session, key, wire.SESSION_FLAG, seq, CODE_PAIR, b"\x02")  # bound already: to its app
            self._send(session, key, wire.SESSION_FLAG, 0, CODE_TIME, b"")
            return
        if not session.paired:
            self.rejected += 1
            return
        if code == CODE_DPS:
            try:
                records = wire.dp_records(data)
            except wire.WireError:
                records = []
            self._send(session, key, wire.SESSION_FLAG, seq, CODE_DPS, b"\x00" if records else b"\x01")
            reports = self.device.write(records)
            if reports:
                self._report(session, reports)
        elif code == CODE_STATUS:
            self._send(session, key, wire.SESSION_FLAG, seq, CODE_DPS, b"\x00")
            self._report(session, self.device.records())
        # acknowledgements of reports (0x8001) and time answers (0x8011) need nothing

    def _report_to_all(self, records: list[Record]) -> None:
        for session in self._sessions.values():
            if session.paired:
                self._report(session, records)

    def _report(self, session: _Session, records: list[Record]) -> None:
        assert session.session_key is not None
        data = b"".join(struct.pack(">BBB", dp, kind, len(raw)) + raw for dp, kind, raw in records)
        self._send(session, session.session_key, wire.SESSION_FLAG, 0, CODE_REPORT, data)

    def _send(self, session: _Session, key: bytes, flag: int, ack: int, code: int, data: bytes) -> None:
        seq = session.next_seq
        session.next_seq += 1
        for piece in wire.seal(key, flag, os.urandom(16), seq, ack, code, data):
            session.outgoing.put_nowait(piece)

    async def _send_loop(self, connection: Connection, session: _Session) -> None:
        while True:
            piece = await session.outgoing.get()
            if not piece or connection not in self._sessions:
                return
            with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error):
                await self.radio.device.notify_subscriber(connection, self._notify_char, piece)

    async def _stop_advertising(self) -> None:
        if self.radio.alive:
            await self.radio.device.stop_advertising()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro, name="tuya-peripheral")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _disconnect(connection: Connection) -> None:
    with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error, TimeoutError):
        async with asyncio.timeout(2.0):
            await connection.disconnect(hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR)


@dataclass(frozen=True)
class VirtualTuya:
    """The Tuya simulator on a virtual link of its own, and a radio on the same link for a controller."""

    link: VirtualLink
    peripheral: TuyaPeripheral
    central: Radio

    @property
    def address(self) -> str:
        return self.peripheral.address

    @property
    def device(self) -> NeckMassager:
        return self.peripheral.device


@asynccontextmanager
async def virtual_tuya(
    device: NeckMassager | None = None,
    identity: TuyaIdentity | None = None,
    *,
    address: str = TUYA_ADDRESS,
) -> AsyncIterator[VirtualTuya]:
    """A :class:`NeckMassager` advertising on a new in-process virtual link, with a central radio beside it."""
    link = VirtualLink()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(link.close)
        radio = await Radio.on_link(link, name="tuya", address=address)
        stack.push_async_callback(radio.close)
        central = await Radio.on_link(link, name="central")
        stack.push_async_callback(central.close)
        peripheral = TuyaPeripheral(device or NeckMassager(), identity or TuyaIdentity(), radio)
        stack.push_async_callback(peripheral.wait_closed)
        stack.callback(peripheral.close)
        await peripheral.advertise()
        yield VirtualTuya(link, peripheral, central)
