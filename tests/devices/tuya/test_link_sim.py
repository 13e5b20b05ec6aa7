"""The Tuya driver's client against the Tuya simulator, over bleak's API on a virtual BLE link."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from medctl.devices.tuya.client import TuyaClient
from medctl.devices.tuya.link import Credentials
from medctl.devices.tuya.product import load_product
from medctl.transport.ble import BleBackend
from simulator.bleak_backend import BumbleClient, BumbleScanner
from simulator.tuya import TuyaIdentity, VirtualTuya, virtual_tuya

pytestmark = pytest.mark.looptime

IDENTITY = TuyaIdentity()
CREDENTIALS = Credentials(IDENTITY.uuid, IDENTITY.local_key, IDENTITY.device_id)
PRODUCT = load_product()


@asynccontextmanager
async def connected(air: VirtualTuya, credentials: Credentials = CREDENTIALS) -> AsyncIterator[TuyaClient]:
    client = TuyaClient(
        air.address, credentials, backend=BleBackend(BumbleScanner, BumbleClient, {"radio": air.central})
    )
    await client.open()
    try:
        yield client
    finally:
        await client.close()


async def test_handshake_pairs_and_reads_every_data_point() -> None:
    async with virtual_tuya() as air, connected(air) as client:
        assert client.values == {0x69: False, 0x67: 0, 0x66: 1, 0x68: 0}
        assert client.firmware == "1.0"


async def test_power_gear_heat_and_pattern_reach_the_device_and_come_back_as_reports() -> None:
    async with virtual_tuya() as air, connected(air) as client:
        for point in (PRODUCT.power(True), PRODUCT.intensity(3), PRODUCT.heat(1), PRODUCT.mode("hammering")):
            await client.write(point)
        await asyncio.sleep(0.5)
        device = air.device
        assert (device.power, device.gear, device.heat_on, device.pattern) == (True, 6, True, 2)
        assert client.values == {0x69: True, 0x67: 6, 0x66: 0, 0x68: 2}
        assert air.peripheral.rejected == 0
