"""The Tuya simulator as a controller meets it: advertising, handshake rules, replay protection and
bad input, through bleak's API on a virtual link. Requests are built with the driver's sans-I/O link."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak_retry_connector import establish_connection

from medctl.devices.tuya.link import Answer, Credentials, Event, Reported, TuyaLink
from medctl.devices.tuya.product import load_product
from medctl.devices.tuya.protocol import (
    MANUFACTURER_ID,
    NOTIFY_CHAR_UUID,
    SERVICE_UUID,
    WRITE_CHAR_UUID,
    TuyaProtocolError,
)
from simulator.bleak_backend import BumbleClient, BumbleScanner
from simulator.tuya import NeckMassager, TuyaIdentity, VirtualTuya, virtual_tuya

pytestmark = pytest.mark.looptime

ID = TuyaIdentity()
CREDS = Credentials(ID.uuid, ID.local_key, ID.device_id)
PRODUCT = load_product()


class Raw:
    """A bare bleak connection with the driver's link doing the bytes, and every event kept."""

    def __init__(self, client: BleakClient, link: TuyaLink) -> None:
        self.client = client
        self.link = link
        self.events: list[Event] = []
        self.errors: list[str] = []
        self.sent: list[list[bytes]] = []

    def on_notify(self, _c: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            self.events += self.link.receive(bytes(data)).events
        except TuyaProtocolError as exc:
            self.errors.append(str(exc))

    async def send(self, pieces: list[bytes]) -> None:
        self.sent.append(pieces)
        for piece in pieces:
            await self.client.write_gatt_char(WRITE_CHAR_UUID, piece, response=True)
        await asyncio.sleep(0.5)

    async def handshake(self) -> None:
        await self.send(self.link.device_info()[1])
        await self.send(self.link.pair()[1])


@asynccontextmanager
async def raw(air: VirtualTuya, creds: Credentials = CREDS) -> AsyncIterator[Raw]:
    device = await BleakScanner.find_device_by_address(air.address, backend=BumbleScanner, radio=air.central)
    assert device is not None
    client = await establish_connection(BleakClient, device, "tuya", backend=BumbleClient)
    connection = Raw(client, TuyaLink(creds))
    await client.start_notify(NOTIFY_CHAR_UUID, connection.on_notify)
    try:
        yield connection
    finally:
        await client.disconnect()


async def test_it_advertises_tuyas_service_with_its_product_id() -> None:
    async with virtual_tuya() as air:
        async with BleakScanner(service_uuids=[SERVICE_UUID], backend=BumbleScanner, radio=air.central) as scanner:
            await asyncio.sleep(1.0)
        ((device, ad),) = scanner.discovered_devices_and_advertisement_data.values()
        assert device.address == air.address and ad.local_name == "NeckTY"
        assert ad.service_data[SERVICE_UUID] == b"\x00nkmsg001"
        assert MANUFACTURER_ID not in ad.manufacturer_data  # in the scan response, which the virtual radio omits


async def test_nothing_but_the_handshake_is_answered_before_pairing() -> None:
    async with virtual_tuya() as air, raw(air) as conn:
        await conn.send(conn.link.device_info()[1])
        await conn.send(conn.link.write(PRODUCT.power(True))[1])
        assert air.device.power is False
        assert not any(isinstance(e, Answer) for e in conn.events)
        assert air.peripheral.rejected == 1


async def test_pairing_answers_already_bound_and_then_data_points_work() -> None:
    async with virtual_tuya() as air, raw(air) as conn:
        await conn.handshake()
        assert Answer(2, 1, 2) in conn.events
        await conn.send(conn.link.write(PRODUCT.power(True))[1])
        assert air.device.power is True
        assert Answer(3, 2, 0) in conn.events
        assert any(isinstance(e, Reported) and e.points[0].value is True for e in conn.events)


async def test_a_wrong_uuid_is_answered_1_and_the_link_dropped() -> None:
    wrong = Credentials("tuya000000000000", ID.local_key, ID.device_id)
    async with virtual_tuya() as air, raw(air, wrong) as conn:
        await conn.handshake()
        await asyncio.sleep(3)
        assert Answer(2, 1, 1) in conn.events
        assert not conn.client.is_connected


async def test_a_replayed_write_drops_the_link_and_changes_nothing() -> None:
    async with virtual_tuya() as air, raw(air) as conn:
        await conn.handshake()
        await conn.send(conn.link.write(PRODUCT.power(True))[1])
        await conn.send(conn.link.write(PRODUCT.power(False))[1])
        await conn.send(conn.sent[-2])  # "power on" again, recorded
        await asyncio.sleep(3)
        assert air.device.power is False
        assert not conn.client.is_connected


async def test_garbage_and_torn_fragments_are_dropped_and_counted() -> None:
    async with virtual_tuya() as air, raw(air) as conn:
        await conn.handshake()
        pieces = conn.link.write(PRODUCT.power(True))[1]
        for junk in (b"\xff\xff\xff\xff\xff\xff", pieces[1], pieces[0] + b"\x00" * 3):
            await conn.client.write_gatt_char(WRITE_CHAR_UUID, junk, response=True)
        await asyncio.sleep(0.5)
        assert air.peripheral.rejected >= 2
        assert air.device.power is False
        await conn.send(conn.link.write(PRODUCT.power(True))[1])  # and it still listens
        assert air.device.power is True


async def test_settings_are_ignored_while_off_as_the_reference_firmware_does() -> None:
    async with virtual_tuya() as air, raw(air) as conn:
        await conn.handshake()
        await conn.send(conn.link.write(PRODUCT.intensity(4))[1])
        await conn.send(conn.link.write(PRODUCT.heat(1))[1])
        assert (air.device.gear, air.device.heat_on) == (0, False)


async def test_only_the_first_record_of_a_write_is_acted_on() -> None:
    device = NeckMassager()
    device.power = True
    assert device.write([(0x67, 4, b"\x05"), (0x66, 4, b"\x00")]) == [(0x67, 4, b"\x05")]
    assert (device.gear, device.heat_on) == (5, False)
    assert device.write([(0x67, 4, b"\x10")]) == [(0x67, 4, b"\x05")]  # gear 16 does not exist: ignored


async def test_its_own_timer_switches_it_off_and_reports_it() -> None:
    device = NeckMassager(auto_off_s=600)
    async with virtual_tuya(device) as air, raw(air) as conn:
        await conn.handshake()
        await conn.send(conn.link.write(PRODUCT.power(True))[1])
        await asyncio.sleep(599)
        assert device.power is True
        await asyncio.sleep(2)
        assert device.power is False
        assert any(
            isinstance(e, Reported) and (0x69, False) in [(p.id, p.value) for p in e.points] for e in conn.events
        )
