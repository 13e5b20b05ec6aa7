"""The simulated massager as a Bluetooth LE peripheral (SPEC.md §9.2), on any :class:`Radio`.

The GATT server has one primary service with the command characteristic (write with
response) and the status characteristic (notify, with its CCCD). Each BLE connection is
one firmware link (SPEC.md §7.2): a :class:`_GattPort` hands every write to the firmware
and sends every device frame as one notification — only to a connection that enabled
notifications, which bumble's GATT server enforces through the CCCD.

Advertising carries the flags, the 128-bit service UUID and the model name shortened to 8
characters: all that fits a 31-byte legacy advertisement next to a 128-bit UUID. The
complete name goes in the scan response, which only real radios deliver (bumble's virtual
controller answers a scan request with the advertisement itself). Advertising stops while a
controller is connected and resumes when it leaves.

Link faults (:class:`~simulator.faults.FaultInjector`): ``drop_links`` disconnects every
connection and keeps the radio silent — no advertising — until ``restore_links``, as if the
massager went out of range; ``inject_garbage`` sends the bytes as one notification to each
subscribed connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, Final

from bumble import core, data_types, gatt, hci
from bumble.core import AdvertisingData
from bumble.device import AdvertisingType, Connection, Device

from firmware_protocol.constants import COMMAND_CHAR_UUID, SERVICE_UUID, STATUS_CHAR_UUID
from simulator.ble.radio import Radio
from simulator.faults import FaultInjector
from simulator.firmware import Firmware
from simulator.port import Port

#: Advertising interval: a controller connects within about one interval.
ADVERTISING_INTERVAL_MS: Final = 100.0
#: Flags (3) + 128-bit UUID list (18) + name header (2) leave 8 of the 31 advertising bytes.
MAX_ADVERTISED_NAME: Final = 8
#: A disconnect the controller does not confirm in this long is given up on.
DISCONNECT_TIMEOUT_S: Final = 2.0


def advertising_data(name: str) -> bytes:
    """Flags, the protocol's service UUID and *name*, shortened to fit one legacy advertisement."""
    short = name.encode()[:MAX_ADVERTISED_NAME].decode(errors="ignore")
    name_field = data_types.CompleteLocalName(short) if short == name else data_types.ShortenedLocalName(short)
    flags = AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED
    service = data_types.CompleteListOf128BitServiceUUIDs([core.UUID(SERVICE_UUID)])
    return bytes(AdvertisingData([data_types.Flags(flags), service, name_field]))


class BleEndpoint:
    """A GATT server for the firmware on *radio*. Start with :meth:`start`; ``close`` ends every connection."""

    def __init__(self, firmware: Firmware, faults: FaultInjector, radio: Radio, name: str) -> None:
        self._firmware = firmware
        self._faults = faults
        self.radio = radio
        self.name = name
        self._status: gatt.Characteristic[bytes] = gatt.Characteristic(
            STATUS_CHAR_UUID, gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.Permissions(0), b""
        )
        command: gatt.Characteristic[bytes] = gatt.Characteristic(
            COMMAND_CHAR_UUID,
            gatt.Characteristic.Properties.WRITE,
            gatt.Characteristic.Permissions.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_command),
        )
        radio.device.add_service(gatt.Service(SERVICE_UUID, [command, self._status]))
        radio.device.on(Device.EVENT_CONNECTION, self._on_connection)
        self._ports: dict[Connection, _GattPort] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._unregister = faults.register(self)

    @classmethod
    async def start(cls, firmware: Firmware, faults: FaultInjector, radio: Radio, name: str) -> BleEndpoint:
        """Serve the firmware on *radio* and start advertising (unless the links are dropped)."""
        endpoint = cls(firmware, faults, radio, name)
        if not faults.links_dropped:
            await endpoint._advertise()
        return endpoint

    @property
    def address(self) -> str:
        """The address controllers connect to: ``ble://{address}``."""
        return self.radio.address

    @property
    def connections(self) -> int:
        return len(self._ports)

    # --- FaultTarget -----------------------------------------------------------------------

    def drop(self) -> None:
        """Out of range: every connection ends and nothing is advertised until :meth:`restore`."""
        self._spawn(self._stop_advertising())
        self._disconnect_all()

    def restore(self) -> None:
        """Back in range: advertise again."""
        if not self._closed and not self._ports:
            self._spawn(self._advertise())

    def inject(self, data: bytes) -> None:
        for port in list(self._ports.values()):
            port.inject(data)

    # --- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop advertising and end every connection (the radio stays the caller's)."""
        if self._closed:
            return
        self._closed = True
        self._unregister()
        self.radio.device.remove_listener(Device.EVENT_CONNECTION, self._on_connection)
        self._disconnect_all()
        self._spawn(self._stop_advertising())

    async def wait_closed(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def notify(self, connection: Connection, data: bytes) -> None:
        """One notification of *data* on the status characteristic, if *connection* subscribed."""
        await self.radio.device.notify_subscriber(connection, self._status, data)

    # --- events ----------------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.PERIPHERAL:
            return
        name = f"ble:{connection.peer_address.to_string(False)}"
        port = _GattPort(name, self._firmware, self._faults, self, connection)
        self._ports[connection] = port
        connection.on(connection.EVENT_DISCONNECTION, lambda _reason: self._on_disconnection(connection))
        if self._closed or self._faults.links_dropped:
            self._disconnect_all()

    def _on_disconnection(self, connection: Connection) -> None:
        port = self._ports.pop(connection, None)
        if port is not None:
            port.close()
        if not self._closed and not self._faults.links_dropped and not self._ports:
            self._spawn(self._advertise())

    def _on_command(self, connection: Connection, value: bytes) -> None:
        port = self._ports.get(connection)
        if port is not None:
            port.deliver(bytes(value))

    # --- helpers ---------------------------------------------------------------------------

    def _disconnect_all(self) -> None:
        for connection, port in list(self._ports.items()):
            port.close()
            self._spawn(_disconnect(connection))

    async def _advertise(self) -> None:
        if not self.radio.alive:
            return
        await self.radio.device.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE,
            advertising_data=advertising_data(self.name),
            scan_response_data=bytes(AdvertisingData([data_types.CompleteLocalName(self.name)])),
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
        )

    async def _stop_advertising(self) -> None:
        if self.radio.alive:
            await self.radio.device.stop_advertising()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro, name="ble-endpoint")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _GattPort(Port):
    """One BLE connection as a firmware link: writes in, notifications out, in order."""

    def __init__(
        self, name: str, firmware: Firmware, faults: FaultInjector, endpoint: BleEndpoint, connection: Connection
    ) -> None:
        super().__init__(name, firmware, faults)
        self._endpoint = endpoint
        self._connection = connection
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self._sender = asyncio.create_task(self._send_loop(), name=f"{name}-notify")

    def close(self) -> None:
        super().close()
        self._sender.cancel()

    def _write_frame(self, frame: bytes) -> None:
        self._outgoing.put_nowait(frame)

    def _write_raw(self, data: bytes) -> None:
        self._outgoing.put_nowait(data)

    async def _send_loop(self) -> None:
        """Notifications leave one at a time, in the order the firmware wrote them."""
        while True:
            data = await self._outgoing.get()
            with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error):
                await self._endpoint.notify(self._connection, data)


async def _disconnect(connection: Connection) -> None:
    with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error, TimeoutError):
        async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
            await connection.disconnect(hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR)
