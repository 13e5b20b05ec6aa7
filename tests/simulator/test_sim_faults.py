"""FaultInjector: device faults and link faults, over in-process links on the looptime clock."""

from __future__ import annotations

import asyncio

import pytest

from firmware_protocol import (
    Ack,
    ErrorCode,
    Fault,
    Frame,
    FrameError,
    GetStatus,
    Hello,
    MsgType,
    Nack,
    SetHeat,
    Start,
    Stop,
    encode_message,
)
from simulator import DeviceConfig, InProcessLink, LinkClosed, SimulatedDevice
from simulator.testing import exchange, recv_message

pytestmark = pytest.mark.looptime


async def owned(device: SimulatedDevice, controller_id: int = 1) -> InProcessLink:
    link = device.open_link()
    assert isinstance(await exchange(link, Hello(1, 1, controller_id), 0), Ack)
    return link


async def drain(link: InProcessLink) -> list[bytes]:
    """Everything the device sent so far (after letting pending deliveries run)."""
    await asyncio.sleep(0)
    frames = []
    while True:
        try:
            frames.append(await asyncio.wait_for(link.recv(), 0.001))
        except TimeoutError:
            return frames


def now() -> float:
    return asyncio.get_running_loop().time()


# --- device faults -----------------------------------------------------------------------------


async def test_stall_motor_and_release() -> None:
    async with SimulatedDevice() as device:
        link = await owned(device)
        await exchange(link, Start(1), 1)
        device.faults.stall_motor()
        state = await device.wait_for(lambda s: bool(s.faults & Fault.MOTOR_STALL), timeout=0.2)
        assert not state.running
        assert await exchange(link, Start(1), 2) == Nack(MsgType.START, ErrorCode.FAULT_ACTIVE, 4)
        device.faults.release_motor()
        assert not device.firmware.stall_injected


async def test_force_over_temperature() -> None:
    async with SimulatedDevice() as device:
        link = await owned(device)
        await exchange(link, SetHeat(2), 1)
        device.faults.force_over_temperature()
        state = await device.wait_for(lambda s: bool(s.faults), timeout=0.2)
        assert state.faults == Fault.OVER_TEMPERATURE and state.heat == 0 and state.pad_temp_c > 45


async def test_drain_battery() -> None:
    async with SimulatedDevice(DeviceConfig(battery=True)) as device:
        link = await owned(device)
        await exchange(link, Start(1), 1)
        device.faults.drain_battery()
        state = await device.wait_for(lambda s: not s.running, timeout=0.2)
        assert state.faults == Fault.BATTERY_EMPTY and state.battery == 0
        device.faults.charge_battery()
        assert device.state.battery == 100


async def test_refuse_everything_but_stop() -> None:
    async with SimulatedDevice() as device:
        link = await owned(device)
        await exchange(link, Start(1), 1)
        device.faults.refuse()
        assert await exchange(link, GetStatus(), 2) == Nack(MsgType.GET_STATUS, ErrorCode.BUSY)
        assert await exchange(link, Stop(), 3) == Ack(MsgType.STOP)
        device.faults.refuse(ErrorCode.FAULT_ACTIVE)
        assert await exchange(link, GetStatus(), 4) == Nack(MsgType.GET_STATUS, ErrorCode.FAULT_ACTIVE)
        device.faults.clear()
        assert isinstance(await exchange(link, GetStatus(), 5), Ack)


# --- link faults -------------------------------------------------------------------------------


async def test_drop_links_closes_in_process_links_and_keeps_ownership() -> None:
    async with SimulatedDevice() as device:
        link = await owned(device, controller_id=3)
        device.faults.drop_links()
        with pytest.raises(LinkClosed):
            await link.recv()
        assert link.closed and device.state.owner == 3
        again = await owned(device, controller_id=3)  # same controller reconnects: takes over
        assert isinstance(await exchange(again, Start(1), 1), Ack)


async def test_corrupt_next_incoming_frame_is_dropped() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        device.faults.corrupt_next(1, "in")
        await link.send(encode_message(GetStatus(), 1))
        assert await drain(link) == []
        assert device.state.frames_dropped == 1
        assert isinstance(await exchange(link, GetStatus(), 2), Ack)


async def test_corrupt_next_outgoing_frame_fails_its_crc() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        device.faults.corrupt_next(1, "out")
        await link.send(encode_message(GetStatus(), 1))
        [garbled] = await drain(link)
        with pytest.raises(FrameError):
            Frame.loads(garbled)
        assert isinstance(await exchange(link, GetStatus(), 2), Ack)


async def test_corrupt_both_directions() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        device.faults.corrupt_next(1, "both")
        await link.send(encode_message(GetStatus(), 1))
        assert await drain(link) == []
        await link.send(encode_message(GetStatus(), 2))
        [garbled] = await drain(link)
        with pytest.raises(FrameError):
            Frame.loads(garbled)


async def test_duplicate_incoming_frame_is_executed_once() -> None:
    async with SimulatedDevice() as device:
        link = await owned(device)
        await drain(link)
        executed = device.state.requests_executed
        device.faults.duplicate_next(1, "in")
        await link.send(encode_message(Start(1), 1))
        frames = await drain(link)
        answers = [f for f in frames if Frame.loads(f).msg_type in (MsgType.ACK, MsgType.NACK)]
        assert len(answers) == 2 and answers[0] == answers[1]
        assert device.state.requests_executed == executed + 1 and device.state.duplicates == 1


async def test_duplicate_outgoing_frame_arrives_twice() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        device.faults.duplicate_next(1)
        await link.send(encode_message(GetStatus(), 1))
        first, second = await drain(link)
        assert first == second and Frame.loads(first).seq == 1


async def test_delay_holds_outgoing_frames_in_order() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        device.faults.delay(0.5)
        started = now()
        await link.send(encode_message(GetStatus(), 1))
        await link.send(encode_message(Stop(), 2))
        first = await recv_message(link)
        assert now() - started == pytest.approx(0.5)
        second = await recv_message(link)
        assert (first[0], second[0]) == (1, 2)
        device.faults.delay(0)
        started = now()
        assert isinstance(await exchange(link, GetStatus(), 3), Ack)
        assert now() - started < 0.01


async def test_inject_garbage_reaches_every_link() -> None:
    async with SimulatedDevice() as device:
        a, b = device.open_link("a"), device.open_link("b")
        device.faults.inject_garbage(b"\xde\xad")
        assert await drain(a) == [b"\xde\xad"]
        assert await drain(b) == [b"\xde\xad"]


async def test_clear_switches_link_faults_off() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        device.faults.corrupt_next(5, "both")
        device.faults.duplicate_next(5, "both")
        device.faults.delay(3)
        device.faults.clear()
        assert isinstance(await exchange(link, GetStatus(), 1, timeout=0.1), Ack)
        assert await drain(link) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.corrupt_next(-1),
        lambda f: f.duplicate_next(1, "sideways"),
        lambda f: f.delay(-0.1),
        lambda f: f.delay(float("nan")),
    ],
)
async def test_bad_fault_arguments_are_refused(call: object) -> None:
    device = SimulatedDevice()
    with pytest.raises(ValueError):
        call(device.faults)  # type: ignore[operator]


async def test_drain_battery_needs_a_battery() -> None:
    device = SimulatedDevice()
    with pytest.raises(RuntimeError, match="no battery"):
        device.faults.drain_battery()
