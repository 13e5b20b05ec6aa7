"""A bleak backend over a bumble host: the same bleak code reaches the simulator on a virtual link.

Pass the classes as bleak's ``backend=`` and the :class:`~simulator.ble.Radio` to use as a
keyword argument, as custom backends such as bleak-esphome do::

    async with BleakScanner(service_uuids=[SERVICE_UUID], backend=BumbleScanner, radio=radio) as scanner: ...
    client = await establish_connection(BleakClient, ble_device, "massager", backend=BumbleClient)

A :class:`BLEDevice` found by :class:`BumbleScanner` carries its radio and typed address in
``details`` (:class:`BumbleTarget`), so a client needs no more. A client built from a bare
address needs ``radio=`` and assumes a random address.

What the backend does the way the platform stacks do, because bleak users rely on it:
on connect it exchanges the ATT MTU (``mtu=``, default 247; ``mtu=None`` keeps 23), as
BlueZ does, then discovers the services; it calls the disconnected callback on every
disconnect, including the ones asked for with ``disconnect()``, as BlueZ does; connect
raises ``TimeoutError`` on timeout and ``BleakError`` otherwise; ATT errors become
:class:`bleak.exc.BleakGATTProtocolError`; a radio whose HCI transport goes away
disconnects everything on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Peer
from bumble.gatt_client import CharacteristicProxy, ServiceProxy

from simulator.ble.radio import Radio, RadioError

T = TypeVar("T")
#: BlueZ asks for the largest MTU its controller allows; 247 fills one LE data packet.
DEFAULT_MTU: Final = 247
#: Waited beyond the connect timeout for the controller to confirm the cancel.
CANCEL_GRACE_S: Final = 2.0
#: A disconnect the controller does not confirm in this long is treated as done.
DISCONNECT_TIMEOUT_S: Final = 5.0
_UUID_LISTS: Final = (
    AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_SERVICE_DATA: Final = (
    AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_32_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID,
)


@dataclass(frozen=True)
class BumbleTarget:
    """``BLEDevice.details`` of a peripheral a :class:`BumbleScanner` heard: who heard it, and where."""

    radio: Radio
    address: hci.Address


# --- scanner -------------------------------------------------------------------------------


class BumbleScanner(BaseBleakScanner):
    """bleak's scanner interface on a :class:`Radio` (``radio=`` keyword argument)."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        radio: Radio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        if radio is None:
            raise BleakError("BumbleScanner needs radio=: the bumble host to scan with")
        self._radio = radio
        self._active = scanning_mode == "active"
        self._scan: contextlib.AbstractAsyncContextManager[None] | None = None

    async def start(self) -> None:
        if self._scan is not None:
            return
        self.seen_devices = {}
        self._radio.device.on(self._radio.device.EVENT_ADVERTISEMENT, self._on_advertisement)
        scan = self._radio.scanning(active=self._active)
        try:
            await scan.__aenter__()
        except RadioError as exc:
            self._radio.device.remove_listener(self._radio.device.EVENT_ADVERTISEMENT, self._on_advertisement)
            raise BleakError(str(exc)) from exc
        self._scan = scan

    async def stop(self) -> None:
        scan, self._scan = self._scan, None
        self._radio.device.remove_listener(self._radio.device.EVENT_ADVERTISEMENT, self._on_advertisement)
        if scan is not None:
            await scan.__aexit__(None, None, None)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        data = advertisement_data(advertisement)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = advertisement.address.to_string(False)
        target = BumbleTarget(self._radio, advertisement.address)
        device = self.create_or_update_device(address, address, data.local_name, target, data)
        self.call_detection_callbacks(device, data)


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """bleak's view of what bumble heard."""
    ad = advertisement.data
    name = ad.get(AdvertisingData.Type.COMPLETE_LOCAL_NAME) or ad.get(AdvertisingData.Type.SHORTENED_LOCAL_NAME)
    uuids = [bleak_uuid(u) for kind in _UUID_LISTS for found in ad.get_all(kind) for u in found]
    service_data = {bleak_uuid(u): data for kind in _SERVICE_DATA for u, data in ad.get_all(kind)}
    manufacturer = dict(ad.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA))
    return AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=list(dict.fromkeys(uuids)),
        tx_power=ad.get(AdvertisingData.Type.TX_POWER_LEVEL),
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


def bleak_uuid(value: core.UUID) -> str:
    """A bumble UUID as bleak writes UUIDs: 128-bit, lower case, with dashes."""
    return str(uuid.UUID(bytes=bytes(reversed(value.to_bytes(force_128=True)))))


# --- client --------------------------------------------------------------------------------


class BumbleClient(BaseBleakClient):
    """bleak's client interface on a :class:`Radio`: one connection to one peripheral."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        radio: Radio | None = None,
        mtu: int | None = DEFAULT_MTU,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        details = getattr(address_or_ble_device, "details", None)
        target = details if isinstance(details, BumbleTarget) else None
        chosen = radio or (target.radio if target else None)
        if chosen is None:
            raise BleakError("BumbleClient needs radio= or a BLEDevice found by BumbleScanner")
        self._radio = chosen
        self._peer_address = target.address if target else hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS)
        self._name = getattr(address_or_ble_device, "name", None) or self.address
        self._mtu = mtu
        self._service_filter = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # --- connection ------------------------------------------------------------------------

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU, discover the services; ``timeout=`` bounds the connection."""
        if self._connection is not None:
            return
        timeout = float(kwargs.get("timeout", self._timeout))
        connection = await self._open_connection(timeout)
        self._connection, self._peer = connection, Peer(connection)
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._radio.lost.add_done_callback(self._on_radio_lost)
        try:
            await self._set_up(pair)
        except BaseException:
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error, TimeoutError):
            async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                await connection.disconnect()
        self._on_disconnection(hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        await self._gatt(self._require().connection.pair())

    async def unpair(self) -> None:
        """Forget the bond (if the radio keeps a key store) and disconnect."""
        keystore = self._radio.device.keystore
        if keystore is not None:
            with contextlib.suppress(KeyError):
                await keystore.delete(str(self._peer_address))
        await self.disconnect()

    async def _open_connection(self, timeout: float) -> Connection:
        try:
            self._radio.check_alive()
            async with asyncio.timeout(timeout + CANCEL_GRACE_S):  # in case the controller never confirms
                return await self._radio.device.connect(self._peer_address, timeout=timeout)
        except (TimeoutError, core.TimeoutError) as exc:
            raise TimeoutError(f"{self.address}: no connection within {timeout:g} s (not advertising?)") from exc
        except (core.BaseBumbleError, hci.HCI_Error, RadioError) as exc:
            raise BleakError(f"{self.address}: cannot connect: {exc}") from exc

    async def _set_up(self, pair: bool) -> None:
        peer = self._require()
        if pair:
            await self._gatt(peer.connection.pair())
        if self._mtu is not None:
            await self._gatt(peer.request_mtu(self._mtu))
        uuids = [core.UUID(u) for u in self._service_filter or ()]
        services = await self._gatt(peer.discover_services(uuids))
        for service in services:
            for characteristic in await self._gatt(service.discover_characteristics()):
                await self._gatt(characteristic.discover_descriptors())
        self.services = self._collection(services)

    def _on_disconnection(self, reason: int) -> None:
        if self._connection is None:
            return
        self._connection = self._peer = None
        self._subscribers.clear()
        self._radio.lost.remove_done_callback(self._on_radio_lost)
        if self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    def _on_radio_lost(self, _lost: asyncio.Future[None]) -> None:
        self._on_disconnection(hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)

    # --- GATT ------------------------------------------------------------------------------

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._gatt(self._require().read_value(characteristic.handle)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._gatt(self._require().read_value(descriptor.handle)))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool) -> None:
        await self._gatt(self._require().write_value(characteristic.handle, bytes(data), with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        await self._gatt(self._require().write_value(descriptor.handle, bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        proxy: CharacteristicProxy[bytes] = characteristic.obj
        await self._gatt(self._require().subscribe(proxy, deliver, prefer_notify=True))
        self._subscribers[characteristic.handle] = deliver

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await self._gatt(self._require().unsubscribe(characteristic.obj, subscriber))

    # --- helpers ---------------------------------------------------------------------------

    def _require(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def _gatt(self, operation: Awaitable[T]) -> T:
        """Await a GATT operation; ATT errors and a disconnect midway become bleak's errors."""
        try:
            return await operation
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            # bumble cancels a pending ATT request when its connection goes
            raise BleakError(f"{self.address}: disconnected during a GATT operation") from None
        except (core.BaseBumbleError, hci.HCI_Error) as exc:
            raise BleakError(f"{self.address}: {exc}") from exc

    def _collection(self, services: list[ServiceProxy]) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for service in services:
            bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(bleak_service)
            for proxy in service.characteristics:
                characteristic = BleakGATTCharacteristic(
                    proxy,
                    proxy.handle,
                    bleak_uuid(proxy.uuid),
                    _property_names(int(proxy.properties)),
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(characteristic)
                for descriptor in proxy.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(descriptor, descriptor.handle, bleak_uuid(descriptor.type), characteristic)
                    )
        return collection


def _property_names(bits: int) -> list[CharacteristicPropertyName]:
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if bits & bit]
