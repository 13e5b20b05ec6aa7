"""The guided session on the Tuya simulator: the Tuya driver behind medctl's session engine, over
bleak's API on a virtual BLE link, on the virtual clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import pytest

from medctl import NO_HISTORY
from medctl.devices.tuya.driver import open_tuya
from medctl.devices.tuya.massager import TuyaMassager
from medctl.errors import AddressError, CommandCancelled
from medctl.session import EndReason, Phase, RuleViolation, SafetyCheck, Session, SessionPlan
from medctl.transport.ble import BleBackend
from simulator.bleak_backend import BumbleClient, BumbleScanner
from simulator.tuya import NeckMassager, TuyaIdentity, VirtualTuya, virtual_tuya

pytestmark = pytest.mark.looptime

SAFE = SafetyCheck(
    swelling_bruising_or_injury=False,
    underlying_condition=False,
    provider_agreed=False,
    recent_trauma=False,
    arm_symptoms=False,
    severe_headache=False,
    fever=False,
)
ID = TuyaIdentity()


def url(air: VirtualTuya, **override: str) -> str:
    options = {"uuid": ID.uuid, "device_id": ID.device_id, "local_key": ID.local_key, **override}
    return f"tuya://{air.address}?{urlencode(options)}"  # local keys hold characters such as '#': percent-encode


@asynccontextmanager
async def tuya(air: VirtualTuya, **override: str) -> AsyncIterator[TuyaMassager]:
    backend = BleBackend(BumbleScanner, BumbleClient, {"radio": air.central})
    async with open_tuya(url(air, **override), backend=backend, simulated=True) as massager:
        yield massager


def session(massager: TuyaMassager, plan: SessionPlan) -> Session:
    return Session(massager, plan, safety=SAFE, history=NO_HISTORY, reconnect_backoff_s=(1.0,))


async def test_capabilities_say_what_the_device_lacks() -> None:
    async with virtual_tuya() as air, tuya(air) as massager:
        caps = massager.capabilities
        assert (caps.intensity_levels, caps.heat_levels, caps.battery, caps.watchdog_s) == (5, 1, False, None)
        assert caps.modes == ("relieve", "vitality", "hammering", "scraping", "intelligent")
        assert caps.reports_pad_temp is False
        assert any("keeps running until its own timer" in line for line in massager.limitations)


async def test_a_whole_guided_session_runs_and_ends_with_the_device_off() -> None:
    async with virtual_tuya() as air, tuya(air) as massager:
        async with session(massager, SessionPlan(minutes=5, heat=True, target_intensity=3)) as s:
            await asyncio.sleep(1)
            assert (air.device.power, air.device.gear, air.device.heat_on) == (True, 0, True)
            summary = await asyncio.wait_for(s.wait(), 400)
        assert summary.end_reason is EndReason.COMPLETED
        assert summary.max_intensity == 3
        assert air.device.power is False and air.device.heat_on is False


async def test_the_session_climbs_one_gear_step_at_a_time_to_the_target() -> None:
    async with virtual_tuya() as air, tuya(air) as massager:
        gears: list[int] = []
        async with session(massager, SessionPlan(minutes=5, target_intensity=3)) as s:
            for _ in range(120):
                await asyncio.sleep(1)
                if not gears or gears[-1] != air.device.gear:
                    gears.append(air.device.gear)
            await s.stop()
        assert gears == [0, 3, 6]


async def test_stop_powers_the_device_off_at_once() -> None:
    async with virtual_tuya() as air, tuya(air) as massager:
        async with session(massager, SessionPlan(minutes=5, heat=True)) as s:
            await asyncio.sleep(5)
            assert air.device.power
            summary = await s.stop()
            assert air.device.power is False
        assert summary.end_reason is EndReason.STOPPED


async def test_an_increase_during_warm_up_is_refused_and_the_gear_stays() -> None:
    async with virtual_tuya() as air, tuya(air) as massager:
        async with session(massager, SessionPlan(minutes=5)) as s:
            await asyncio.sleep(10)
            with pytest.raises(RuleViolation):
                await s.increase()
            assert air.device.gear == 0
            await s.stop()


async def test_leaving_the_session_by_an_exception_still_powers_off() -> None:
    async with virtual_tuya() as air, tuya(air) as massager:
        with pytest.raises(KeyError):
            async with session(massager, SessionPlan(minutes=5)):
                await asyncio.sleep(3)
                raise KeyError("boom")
        assert air.device.power is False


async def test_link_loss_interrupts_the_session_and_a_reconnect_powers_the_device_off() -> None:
    async with virtual_tuya() as air, tuya(air) as massager:
        async with session(massager, SessionPlan(minutes=5)) as s:
            await asyncio.sleep(5)
            air.peripheral.drop()
            await asyncio.sleep(2)
            assert s.phase is Phase.INTERRUPTED
            assert air.device.power is True  # no watchdog: the device keeps running on its own
            air.peripheral.restore()
            await asyncio.sleep(15)
            assert massager.status is not None
            assert air.device.power is False  # the reconnect stopped it; resuming is the person's choice
            assert s.phase is Phase.INTERRUPTED or s.phase is Phase.PAUSED
            await s.stop()


async def test_a_vanished_controller_leaves_the_device_running_until_its_own_timer() -> None:
    device = NeckMassager(auto_off_s=60)
    async with virtual_tuya(device) as air:
        async with tuya(air) as massager:
            await massager.start(1)
            air.peripheral.drop()  # the controller is gone without a word
            await asyncio.sleep(30)
            assert device.power is True
            await asyncio.sleep(31)
            assert device.power is False


async def test_the_device_switched_off_by_its_own_key_ends_the_session() -> None:
    async with virtual_tuya() as air, tuya(air) as massager:
        async with session(massager, SessionPlan(minutes=5)) as s:
            await asyncio.sleep(5)
            air.device.press_power()
            summary = await asyncio.wait_for(s.wait(), 10)
        assert summary.end_reason is EndReason.STOPPED


async def test_a_wrong_uuid_is_refused_with_a_sentence() -> None:
    async with virtual_tuya() as air:
        with pytest.raises(Exception, match="refused pairing"):
            async with tuya(air, uuid="tuya000000000000"):
                pass
        assert air.device.power is False


async def test_a_wrong_local_key_gets_nowhere_and_changes_nothing() -> None:
    async with virtual_tuya() as air:
        with pytest.raises(Exception, match="did not answer"):
            async with tuya(air, local_key="WRONGKEY12345678"):
                pass
        assert air.peripheral.rejected >= 1
        assert air.device.power is False


async def test_an_address_without_credentials_is_refused_before_any_radio_work() -> None:
    async with virtual_tuya() as air:
        with pytest.raises(AddressError, match="local_key"):
            async with open_tuya(f"tuya://{air.address}?uuid={ID.uuid}&device_id={ID.device_id}"):
                pass
        with pytest.raises(AddressError, match="not tuya://"):
            async with open_tuya("tuya://nowhere"):
                pass


async def test_garbage_and_forged_notifications_are_dropped_and_the_session_goes_on() -> None:
    from simulator.tuya import wire

    async with virtual_tuya() as air, tuya(air) as massager:
        async with session(massager, SessionPlan(minutes=5)) as s:
            await asyncio.sleep(3)
            forged = wire.seal(bytes(16), 5, bytes(16), 99, 0, 0x8001, bytes([0x67, 4, 1, 15]))  # gear 15, wrong key
            for junk in [b"\x00", b"\x07\x07", *forged]:
                air.peripheral.inject(junk)
            await asyncio.sleep(2)
            assert massager.status is not None and massager.status.intensity == 1
            assert s.phase is Phase.WARM_UP
            await s.stop()
        assert massager.rejected_notifications >= 3


async def test_a_device_that_runs_stronger_than_asked_is_stopped() -> None:
    async with virtual_tuya() as air, tuya(air) as massager:
        async with session(massager, SessionPlan(minutes=5)) as s:
            await asyncio.sleep(3)
            air.device.gear = 14  # someone else's doing, and the device says so
            air.peripheral.device.on_report([(0x67, 4, bytes([14]))])
            summary = await asyncio.wait_for(s.wait(), 10)
        assert summary.end_reason is EndReason.DEVICE_MISBEHAVED
        assert air.device.power is False


@pytest.mark.parametrize("after_writes", [1, 2, 3, 4])
async def test_stop_racing_the_start_at_every_step_goes_out_alone_and_leaves_the_device_off(after_writes: int) -> None:
    """The session's end latch and STOP, injected right after each of start's four writes reaches the device:
    nothing of the start is sent after the STOP."""
    async with virtual_tuya() as air, tuya(air) as massager:
        stops: list[asyncio.Task[None]] = []

        def interrupt(count: int) -> None:
            if count == after_writes:
                massager.end()
                stops.append(asyncio.create_task(massager.stop()))

        air.device.after_write = interrupt
        with massager.exclusive():
            if after_writes == 4:
                await massager.start(1)
            else:
                with pytest.raises(CommandCancelled):
                    await massager.start(1)
            await asyncio.gather(*stops)
            await asyncio.sleep(1)
        assert air.device.writes_seen == after_writes + 1  # the start's writes up to then, and the STOP
        assert air.device.power is False
