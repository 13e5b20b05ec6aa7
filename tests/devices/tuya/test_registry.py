"""The Tuya driver in the registry: ``medctl.connect("tuya://…")`` and a scan reach it, through the
same doors as every other driver, against the Tuya simulator on a virtual link."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest

import medctl
from medctl import NO_HISTORY, SafetyCheck, SessionPlan
from medctl.address import parse_address
from medctl.devices.registry import for_advertisement, for_scheme
from medctl.devices.tuya.driver import DRIVER
from medctl.errors import AddressError, ConnectionLost, SessionRunning
from medctl.session import EndReason
from medctl.transport.ble import BleBackend, advertisements
from simulator import DeviceConfig, LoopClock, SimulatedDevice
from simulator.ble import virtual_ble
from simulator.bleak_backend import BumbleClient, BumbleScanner
from simulator.tuya import TuyaIdentity, VirtualTuya, virtual_tuya

pytestmark = pytest.mark.looptime

ID = TuyaIdentity()
SAFE = SafetyCheck(
    swelling_bruising_or_injury=False,
    underlying_condition=False,
    provider_agreed=False,
    recent_trauma=False,
    arm_symptoms=False,
    severe_headache=False,
    fever=False,
)


def url(air: VirtualTuya) -> str:
    return f"tuya://{air.address}?" + urlencode({"uuid": ID.uuid, "device_id": ID.device_id, "local_key": ID.local_key})


def backend(air: VirtualTuya) -> BleBackend:
    return BleBackend(BumbleScanner, BumbleClient, {"radio": air.central})


async def test_the_tuya_scheme_has_the_tuya_driver() -> None:
    assert for_scheme("tuya") is DRIVER
    address = parse_address("tuya://aa:bb:cc:dd:ee:ff?uuid=x")
    assert (address.scheme, address.options) == ("tuya", {"uuid": "x"})


async def test_a_scan_offers_the_tuya_simulator_to_the_tuya_driver_and_ours_to_ours() -> None:
    async with virtual_tuya() as air:
        (tuya_adv,) = [a for a in await advertisements(1.0, backend(air)) if a.address == air.address]
    driver = for_advertisement(tuya_adv)
    assert driver is DRIVER and driver.url_for(tuya_adv) == f"tuya://{air.address}"
    async with SimulatedDevice(DeviceConfig(), clock=LoopClock()) as ours, virtual_ble(ours) as ours_air:
        ours_backend = BleBackend(BumbleScanner, BumbleClient, {"radio": ours_air.central})
        (our_adv,) = [a for a in await advertisements(1.0, ours_backend) if a.address == ours_air.address]
    assert not DRIVER.matches_advertisement(our_adv)
    assert for_advertisement(our_adv) not in (None, DRIVER)


async def test_medctl_connect_opens_a_tuya_massager_and_runs_a_session() -> None:
    async with virtual_tuya() as air:
        async with medctl.connect(url(air), backend=backend(air), simulated=True) as massager:
            assert massager.identity is not None
            assert (massager.identity.driver, massager.identity.maker) == ("tuya", "Tuya")
            plan = SessionPlan(minutes=5, target_intensity=2)
            async with massager.session(plan, safety=SAFE, history=NO_HISTORY) as session:
                summary = await asyncio.wait_for(session.wait(), 400)
            assert summary.end_reason is EndReason.COMPLETED and summary.max_intensity == 2
        assert air.device.power is False and air.peripheral.connections == 0


async def test_leaving_connect_powers_the_massager_off() -> None:
    async with virtual_tuya() as air:
        async with medctl.connect(url(air), backend=backend(air)) as massager:
            await massager.raw().start(2)
            assert (air.device.power, air.device.gear) == (True, 3)
        assert air.device.power is False


async def test_the_raw_door_is_shut_while_a_session_runs() -> None:
    async with virtual_tuya() as air:
        async with medctl.connect(url(air), backend=backend(air)) as massager:
            async with massager.session(SessionPlan(minutes=5), safety=SAFE, history=NO_HISTORY) as session:
                with pytest.raises(SessionRunning):
                    await massager.raw().set_intensity(5)
                assert air.device.gear == 0
                await session.stop()
            await massager.raw().set_heat(0)  # open again after the session


async def test_updates_follow_the_device_and_end_with_the_link() -> None:
    async with virtual_tuya() as air:
        async with medctl.connect(url(air), backend=backend(air)) as massager:
            seen = []

            async def read() -> None:
                async for status in massager.updates():
                    seen.append(status)

            reader = asyncio.create_task(read())
            await asyncio.sleep(0.1)
            await massager.raw().start(1)
            await asyncio.sleep(1)
            air.peripheral.drop()
            with pytest.raises(ConnectionLost):
                await asyncio.wait_for(reader, 10)
            assert any(s.running for s in seen)
            assert seen[-1].mode == "relieve" or seen[-1].mode is None


async def test_unknown_options_are_refused_with_a_sentence() -> None:
    with pytest.raises(AddressError, match="not colour"):
        async with medctl.connect("tuya://AA:BB:CC:DD:EE:FF?colour=red"):
            pass
    with pytest.raises(TypeError, match="takes backend= and simulated="):
        await DRIVER.open(parse_address("tuya://AA:BB:CC:DD:EE:FF"), keys=object())


async def test_the_status_text_says_there_is_no_watchdog_and_no_temperature() -> None:
    from medctl.cli.status import format_status

    async with virtual_tuya() as air:
        async with medctl.connect(url(air), backend=backend(air)) as massager:
            assert massager.identity is not None and massager.status is not None
            text = format_status(massager.identity, massager.status)
    assert "watchdog none (keeps running if the link is lost)" in text
    assert "pad temperature not reported" in text
