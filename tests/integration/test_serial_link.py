"""medctl ↔ simulator over a real pseudo-terminal through pyserial, on real time."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from firmware_protocol import Fault, Hello, encode_message, encode_stream
from medctl import DeviceTimeout, TransportError, connect
from medctl.client import DeviceClient
from medctl.harness import SimulatedMassager
from medctl.transport.serial import SerialTransport
from simulator import PtyEndpoint, SimulatedDevice

#: Real-time waits are bounded only to catch a hang: timing is proven on the virtual clock.
HANG_S = 30.0

pytestmark = pytest.mark.realtime


@pytest.fixture
async def served() -> AsyncIterator[tuple[SimulatedDevice, PtyEndpoint]]:
    async with SimulatedDevice() as device:
        yield device, await device.serve_pty()


async def test_identify_start_change_stop(medctl_sim_pty: SimulatedMassager) -> None:
    async with medctl_sim_pty as sim, connect(sim.url) as massager:
        device = sim.device
        assert massager.identity is not None and massager.identity.serial_number == "NE2-000001"
        await massager.raw().start(1)
        assert device.state.running and device.state.intensity == 1
        await massager.raw().set_intensity(4)
        await massager.raw().set_heat(2)
        status = await massager.wait_for_status(lambda s: s.intensity == 4 and s.heat == 2, timeout=2)
        assert status.running
        await massager.stop()
        assert not device.state.running and device.state.heat == 0
    assert not device.state.owned  # goodbye released it


async def test_watchdog_stops_motor_and_heater_when_heartbeats_cease(
    served: tuple[SimulatedDevice, PtyEndpoint],
) -> None:
    """A few seconds of real time: the controller goes silent, the device stops itself."""
    device, pty = served
    massager = DeviceClient(SerialTransport(pty.path), heartbeat_interval=None)
    await massager.open()
    try:
        await massager.raw().start(1)
        await massager.raw().set_heat(1)
        loop = asyncio.get_running_loop()
        silent_since = loop.time()
        # the window (3 s, SPEC §7.5) is proven on the virtual clock; here the device must not stop
        # early, and a generous bound only catches a hang
        state = await device.wait_for(lambda s: not s.running, timeout=HANG_S)
        assert loop.time() - silent_since >= 2.9
        assert state.heat == 0 and state.faults & Fault.LINK_LOST and not state.owned
    finally:
        await massager.close()


async def test_garbage_and_corrupted_frames_do_not_lose_what_follows(
    served: tuple[SimulatedDevice, PtyEndpoint],
) -> None:
    device, pty = served
    async with connect(f"serial://{pty.path}") as massager:
        received: list[int] = []
        massager.on_status(lambda s: received.append(s.intensity))
        device.faults.inject_garbage(b"\x13\x37noise\x00\xff\xfe\x00\x01\x02")
        device.faults.corrupt_next(2, direction="both")
        await massager.raw().start(1)
        await massager.raw().set_intensity(2)
        status = await massager.get_status()
        assert status.running and status.intensity == 2
        assert device.state.frames_dropped >= 1  # the corrupted request was dropped, then retried
        await massager.wait_for_status(lambda s: s.intensity == 2, timeout=2)


async def test_raw_pyserial_sees_frames_after_noise(served: tuple[SimulatedDevice, PtyEndpoint]) -> None:
    """Plain pyserial, no medctl: noise, then a HELLO; the answer comes back intact."""
    import serial

    from firmware_protocol import Ack, StreamDecoder, decode_message

    _, pty = served
    port = serial.Serial(pty.path, timeout=0.05)
    try:
        port.write(b"\x00\xde\xad\xbe\xef\x00" + encode_stream(encode_message(Hello(1, 1, 42), 9)))
        decoder = StreamDecoder()
        frames = []
        deadline = asyncio.get_running_loop().time() + 2
        while not frames and asyncio.get_running_loop().time() < deadline:
            chunk = await asyncio.to_thread(port.read, 64)
            frames.extend(decoder.feed(chunk))
        assert frames and frames[0].seq == 9
        assert isinstance(decode_message(frames[0]), Ack)
    finally:
        port.close()


async def test_missing_port_is_a_clear_error() -> None:
    with pytest.raises(TransportError, match="cannot open serial port /dev/does-not-exist"):
        async with connect("serial:///dev/does-not-exist"):
            pass


async def test_a_port_with_no_massager_behind_it_times_out_clearly() -> None:
    controller_fd, device_fd = os.openpty()
    try:
        path = os.ttyname(device_fd)
        with pytest.raises(DeviceTimeout, match="no answer from serial port"):
            async with connect(f"serial://{path}", request_timeout=0.1, retries=1):
                pass
    finally:
        os.close(controller_fd)
        os.close(device_fd)
