"""Recognising a Tuya BLE device by its advertisement: over the air from the simulator, and from parts."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakScanner

from medctl.devices.tuya.discovery import identify, recognises
from medctl.devices.tuya.protocol import MANUFACTURER_ID, SERVICE_UUID
from simulator.bleak_backend import BumbleScanner
from simulator.tuya import virtual_tuya, wire

HRM = "0000180d-0000-1000-8000-00805f9b34fb"


@pytest.mark.looptime
async def test_the_simulator_is_recognised_from_what_a_scan_hears() -> None:
    async with virtual_tuya() as air:
        async with BleakScanner(backend=BumbleScanner, radio=air.central) as scanner:
            await asyncio.sleep(1.0)
        ((_, ad),) = scanner.discovered_devices_and_advertisement_data.values()
        assert recognises(ad.service_uuids, ad.service_data, ad.manufacturer_data)
        assert identify(ad.service_data, ad.manufacturer_data) is None  # the scan response is not on the virtual air


def test_any_one_part_is_enough_and_both_identify_the_device() -> None:
    service, manufacturer = wire.advertisement_fields("nkmsg001", "tuya290051fdb1de", True)
    assert recognises([SERVICE_UUID.upper()], {}, {})
    assert recognises([], {SERVICE_UUID: service}, {})
    assert recognises([], {}, {MANUFACTURER_ID: manufacturer})
    assert not recognises([HRM], {HRM: b"\x00"}, {0x004C: b"\x02"})
    found = identify({SERVICE_UUID: service}, {MANUFACTURER_ID: manufacturer})
    assert found is not None and (found.product_id, found.uuid) == ("nkmsg001", "tuya290051fdb1de")
    assert identify({SERVICE_UUID: service}, {MANUFACTURER_ID: manufacturer[:7]}) is None
