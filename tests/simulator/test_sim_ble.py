"""The simulator as a BLE peripheral on bumble's virtual link, and the virtual controller's fixes.

All in process, on the looptime virtual clock: bumble's virtual link does no kernel I/O.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from bleak import BleakClient, BleakScanner
from bleak_retry_connector import establish_connection
from bumble import core, hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from firmware_protocol import GetStatus, Hello, encode_message
from firmware_protocol.constants import COMMAND_CHAR_UUID, SERVICE_UUID, STATUS_CHAR_UUID
from simulator import LoopClock, SimulatedDevice
from simulator.ble import MAX_ADVERTISED_NAME, VirtualBle, VirtualController, advertising_data, virtual_ble
from simulator.bleak_backend import BumbleClient, BumbleScanner

pytestmark = pytest.mark.looptime

ABSENT = hci.Address("C0:00:00:00:00:99", hci.Address.RANDOM_DEVICE_ADDRESS)


@asynccontextmanager
async def on_air() -> AsyncIterator[tuple[SimulatedDevice, VirtualBle]]:
    async with SimulatedDevice(clock=LoopClock()) as device, virtual_ble(device) as air:
        yield device, air


async def connect(air: VirtualBle, on_lost: Callable[[BleakClient], None] | None = None) -> BleakClient:
    device = await BleakScanner.find_device_by_address(air.address, backend=BumbleScanner, radio=air.central)
    assert device is not None
    return await establish_connection(BleakClient, device, "m", disconnected_callback=on_lost, backend=BumbleClient)


async def heard(air: VirtualBle, seconds: float) -> set[str]:
    async with BleakScanner(service_uuids=[SERVICE_UUID], backend=BumbleScanner, radio=air.central) as scanner:
        await asyncio.sleep(seconds)
    return set(scanner.discovered_devices_and_advertisement_data)


@pytest.mark.parametrize(("name", "advertised", "kind"), [
    ("NeckEase", "NeckEase", AdvertisingData.Type.COMPLETE_LOCAL_NAME),
    ("NeckEase 2", "NeckEase", AdvertisingData.Type.SHORTENED_LOCAL_NAME),
    ("Nackenmassagegerät", "Nackenma", AdvertisingData.Type.SHORTENED_LOCAL_NAME),
    ("Massage★", "Massage", AdvertisingData.Type.SHORTENED_LOCAL_NAME),  # never half a UTF-8 character
])  # fmt: skip
def test_the_advertisement_fits_31_bytes_with_the_service_uuid(
    name: str, advertised: str, kind: AdvertisingData.Type
) -> None:
    data = advertising_data(name)
    assert len(data) <= 31
    parsed = AdvertisingData.from_bytes(data)
    assert parsed.get(kind) == advertised and len(advertised.encode()) <= MAX_ADVERTISED_NAME
    assert parsed.get(AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS) == [core.UUID(SERVICE_UUID)]


async def central_on(controller: Controller) -> Device:
    device = Device(
        name="central", address=hci.Address("C0:00:00:00:00:01"), host=Host(controller, AsyncPipeSink(controller))
    )
    await device.power_on()
    return device


async def test_a_cancelled_connect_ends_with_a_connection_complete_event() -> None:
    link = LocalLink()
    central = await central_on(VirtualController("central", link=link))
    start = asyncio.get_running_loop().time()
    with pytest.raises(core.TimeoutError):
        await central.connect(ABSENT, timeout=1.0)
    assert asyncio.get_running_loop().time() - start == pytest.approx(1.0, abs=0.1)
    assert not central.le_connecting


async def test_bumbles_own_controller_still_hangs_on_a_cancelled_connect() -> None:
    """Why VirtualController exists. If this fails, bumble fixed it and the override can go."""
    link = LocalLink()
    central = await central_on(Controller("central", link=link))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(10):  # ten times the connect timeout
            await central.connect(ABSENT, timeout=1.0)


async def test_the_device_sends_nothing_to_a_connection_that_did_not_enable_notifications(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SPEC §9.2: answers are notifications too, so they only flow after the CCCD is written."""
    async with on_air() as (device, air):
        client = await connect(air)
        with caplog.at_level(logging.WARNING, logger="bumble.gatt_client"):
            await client.write_gatt_char(COMMAND_CHAR_UUID, encode_message(Hello(1, 1, 5), 1), response=True)
            await asyncio.sleep(2.5)  # an ACK and two periodic STATUS would have been sent by now
        assert device.state.owner == 5
        assert "notification with no subscriber" not in caplog.text
        frames: asyncio.Queue[bytes] = asyncio.Queue()
        await client.start_notify(STATUS_CHAR_UUID, lambda _c, data: frames.put_nowait(bytes(data)))
        await client.write_gatt_char(COMMAND_CHAR_UUID, encode_message(GetStatus(), 2), response=True)
        assert len(await asyncio.wait_for(frames.get(), 1)) <= 20
        await client.disconnect()


async def test_each_connection_is_a_link_and_a_disconnect_forgets_it() -> None:
    async with on_air() as (device, air):
        client = await connect(air)
        assert device.state.links == 1 and air.endpoint.connections == 1
        await client.disconnect()
        await asyncio.sleep(0.1)
        assert device.state.links == 0 and air.endpoint.connections == 0
        assert air.address in await heard(air, 0.5)  # advertising again once the controller left


async def test_dropping_the_links_is_going_out_of_range_until_restored() -> None:
    async with on_air() as (device, air):
        lost: list[BleakClient] = []
        client = await connect(air, lost.append)
        device.faults.drop_links()
        await asyncio.sleep(0.1)
        assert lost and not client.is_connected
        assert await heard(air, 2.0) == set()  # silent: not advertising
        device.faults.restore_links()
        assert await heard(air, 0.5) == {air.address}


async def test_injected_garbage_is_one_notification_to_each_subscriber() -> None:
    async with on_air() as (device, air):
        client = await connect(air)
        received: asyncio.Queue[bytes] = asyncio.Queue()
        await client.start_notify(STATUS_CHAR_UUID, lambda _c, data: received.put_nowait(bytes(data)))
        device.faults.inject_garbage(b"\x13\x37noise")
        assert await asyncio.wait_for(received.get(), 1) == b"\x13\x37noise"
        await client.disconnect()


async def test_closing_the_device_disconnects_its_controllers() -> None:
    async with SimulatedDevice(clock=LoopClock()) as device, virtual_ble(device) as air:
        client = await connect(air)
        await device.close()
        await asyncio.sleep(0.1)
        assert not client.is_connected
