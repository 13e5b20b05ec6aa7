"""SimulatedDevice over in-process links, on the looptime virtual clock (no kernel I/O here).

looptime starts each test's loop clock at 0, so every test enters its device itself: a
device started in a fixture would have scheduled its ticks on the real clock.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from firmware_protocol import (
    Ack,
    Fault,
    FaultEvent,
    GetStatus,
    Heartbeat,
    Hello,
    MsgType,
    Nack,
    SetHeat,
    Start,
    Status,
    encode_message,
)
from simulator import DeviceConfig, InProcessLink, LinkClosed, ScaledClock, SimulatedDevice
from simulator.testing import exchange as request
from simulator.testing import recv_message as next_message

pytestmark = pytest.mark.looptime


async def hello(link: InProcessLink, controller_id: int = 1, seq: int = 0) -> None:
    assert isinstance(await request(link, Hello(1, 1, controller_id), seq), Ack)


def now() -> float:
    return asyncio.get_running_loop().time()


async def test_hello_is_answered_then_status_follows() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        await hello(link, controller_id=5)
        _, status = await next_message(link)
        assert isinstance(status, Status) and status.flags
        assert device.state.owner == 5


async def test_delivery_goes_through_the_event_loop() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        before = device.state.frames_received
        await link.send(encode_message(GetStatus(), 1))
        assert device.state.frames_received == before
        await asyncio.sleep(0)
        assert device.state.frames_received == before + 1


async def test_watchdog_fires_after_three_seconds_of_loop_time() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        await hello(link)
        await request(link, Start(1), 1)
        started = now()
        state = await device.wait_for(lambda s: not s.owned, timeout=10)
        assert 3.0 <= now() - started <= 3.0 + 0.06
        assert state.faults == Fault.LINK_LOST and not state.running
        messages = [m for _, m in [await next_message(link) for _ in range(5)]]
        assert messages[-2:] == [FaultEvent(Fault.LINK_LOST, active=True), device.firmware.status()]


async def test_heartbeats_keep_ownership() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        await hello(link)
        for seq in range(1, 11):
            await asyncio.sleep(1.0)
            assert isinstance(await request(link, Heartbeat(), seq), Ack)
        assert device.state.owned and not device.state.faults


async def test_status_every_second() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        await hello(link)
        started = now()
        times: list[float] = []
        while len(times) < 4:
            _, message = await next_message(link, timeout=2)
            if isinstance(message, Status):
                times.append(now() - started)
        assert times[0] == pytest.approx(0, abs=0.01)  # the change of ownership is reported at once
        assert [round(b - a, 1) for a, b in itertools.pairwise(times)] == [1.0, 1.0, 1.0]


async def test_wait_for_times_out() -> None:
    async with SimulatedDevice() as device:
        started = now()
        with pytest.raises(TimeoutError):
            await device.wait_for(lambda s: s.running, timeout=2.5)
        assert now() - started == pytest.approx(2.5)


async def test_wait_for_returns_at_once_when_already_true() -> None:
    async with SimulatedDevice() as device:
        state = await device.wait_for(lambda s: not s.running, timeout=0)
        assert state.intensity == 1


async def test_wait_for_wakes_on_a_change() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        await hello(link)
        waiter = asyncio.create_task(device.wait_for(lambda s: s.running, timeout=1))
        await link.send(encode_message(Start(1), 1))
        state = await waiter
        assert state.running and now() < 0.01


async def test_scaled_clock_speeds_the_physics_not_the_watchdog() -> None:
    async with SimulatedDevice(clock=ScaledClock(60)) as device:
        link = device.open_link()
        await hello(link)
        await request(link, SetHeat(2), 1)
        started = now()
        await device.wait_for(lambda s: s.pad_temp_c > 37.9, timeout=2)
        assert now() - started == pytest.approx(1.0, abs=0.06)  # 60 s of device time: one time constant
        await device.wait_for(lambda s: not s.owned, timeout=5)
        assert now() - started == pytest.approx(3.0, abs=0.06)


async def test_leaving_the_context_closes_links() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        await request(link, GetStatus(), 0)
        waiter = asyncio.create_task(link.recv())
        await asyncio.sleep(0)
    assert link.closed
    with pytest.raises(LinkClosed):
        await waiter
    with pytest.raises(LinkClosed):
        await link.send(encode_message(GetStatus(), 1))
    with pytest.raises(LinkClosed):
        await link.recv()


async def test_closing_a_link_detaches_it_but_keeps_ownership() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        await hello(link)
        assert device.state.links == 1
        link.close()
        link.close()
        assert device.state.links == 0 and device.state.owned
        await device.wait_for(lambda s: not s.owned, timeout=3.1)


async def test_two_links_two_controllers() -> None:
    async with SimulatedDevice() as device:
        a, b = device.open_link("a"), device.open_link("b")
        await hello(a, controller_id=1)
        answer = await request(b, Hello(1, 1, 2), 0)
        assert isinstance(answer, Nack) and answer.request == MsgType.HELLO
        assert isinstance(await request(b, GetStatus(), 1), Ack)


async def test_device_config_reaches_the_firmware() -> None:
    async with SimulatedDevice(DeviceConfig(intensity_levels=3)) as device:
        link = device.open_link()
        await hello(link)
        answer = await request(link, Start(4), 1)
        assert isinstance(answer, Nack) and answer.detail == 3
