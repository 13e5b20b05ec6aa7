"""The device client against the in-process simulator, on the virtual loop clock (looptime)."""

from __future__ import annotations

import asyncio

import pytest

from firmware_protocol import ErrorCode, Fault, MotorState, SetIntensity
from medctl.client import DeviceClient
from medctl.errors import (
    CommandCancelled,
    CommandRefused,
    ConnectionLost,
    ControllerFailure,
    DeviceBusy,
    DeviceTimeout,
    OutOfRange,
    ProtocolMismatch,
    WrongDevice,
)
from medctl.testing import simulated_massager
from medctl.transport.sim import SimTransport
from simulator import DeviceConfig, SimulatedDevice

pytestmark = pytest.mark.looptime


async def test_identity_and_capabilities() -> None:
    async with simulated_massager() as (_, client):
        assert client.identity is not None
        assert client.identity.model == "NeckEase 2"
        assert client.capabilities.intensity_levels == 5
        assert client.capabilities.heat_levels == 2
        assert client.capabilities.watchdog_s == 3.0
        assert client.status is not None and not client.status.running


async def test_start_change_and_stop_reach_the_device() -> None:
    async with simulated_massager() as (device, client):
        await client.raw().start(1)
        assert device.state.state is MotorState.RUNNING and device.state.intensity == 1
        await client.raw().set_intensity(3)
        await client.raw().set_heat(2)
        assert (device.state.intensity, device.state.heat) == (3, 2)
        await client.stop()
        assert device.state.state is MotorState.IDLE and device.state.heat == 0


async def test_out_of_range_is_refused_before_it_is_sent() -> None:
    async with simulated_massager() as (device, client):
        executed = device.state.requests_executed
        with pytest.raises(OutOfRange, match="accepts 1 to 5"):
            await client.raw().set_intensity(6)
        with pytest.raises(OutOfRange, match="accepts 0 to 2"):
            await client.raw().set_heat(3)
        assert device.state.requests_executed == executed


async def test_a_device_nack_becomes_a_readable_error() -> None:
    async with simulated_massager() as (_, client):
        with pytest.raises(OutOfRange, match="accepts 1 to 5"):
            await client._request(SetIntensity(9))


async def test_heartbeats_keep_the_device_owned() -> None:
    async with simulated_massager() as (device, client):
        await client.raw().start(1)
        await asyncio.sleep(30)
        assert device.state.running and device.state.owned
        assert not device.state.faults & Fault.LINK_LOST


async def test_watchdog_stops_the_device_when_heartbeats_cease() -> None:
    async with SimulatedDevice() as device:
        silent = DeviceClient(SimTransport(device=device), heartbeat_interval=None)
        await silent.open()
        await silent.raw().start(1)
        await silent.raw().set_heat(1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        state = await device.wait_for(lambda s: not s.running, timeout=10)
        assert 3.0 <= loop.time() - started <= 3.2
        assert state.heat == 0 and state.faults & Fault.LINK_LOST and not state.owned
        await silent.close()


async def test_a_lost_answer_is_retried_without_doing_it_twice() -> None:
    async with simulated_massager() as (device, client):
        before = device.state
        device.faults.corrupt_next(1, direction="out")  # the ACK of the next request is lost
        await client.raw().start(1)
        after = device.state
        assert after.duplicates == before.duplicates + 1
        assert after.requests_executed == before.requests_executed + 1
        assert after.running


async def test_an_unanswered_request_is_tried_each_time_limit_then_raises_device_timeout() -> None:
    """Each try waits the request time limit, then the same frame goes again; after the last, a
    DeviceTimeout names the request. An answer arriving in time ends the wait at once."""
    async with SimulatedDevice() as device:
        client = DeviceClient(SimTransport(device=device), heartbeat_interval=None, request_timeout=0.5, retries=2)
        await client.open()
        loop = asyncio.get_running_loop()
        started, received = loop.time(), device.state.frames_received
        await client.get_status()  # answered at once: no time limit reached
        assert loop.time() - started < 0.5
        device.faults.delay(60)  # every answer held back far past the time limit
        started, received = loop.time(), device.state.frames_received
        with pytest.raises(DeviceTimeout, match=r"did not answer get status \(3 tries, 1.5 s\)"):
            await client.get_status()
        assert 1.5 <= loop.time() - started < 1.6  # three time limits, on the virtual clock
        assert device.state.frames_received - received == 3 and device.state.duplicates >= 2
        assert not client._pending
        device.faults.delay(0)
        await client.close()


async def test_stop_cancels_changes_that_have_not_been_sent() -> None:
    async with simulated_massager() as (device, client):
        await client.raw().start(1)
        device.faults.delay(0.4)
        first = asyncio.create_task(client.raw().set_intensity(2))
        await asyncio.sleep(0.01)
        waiting = asyncio.create_task(client.raw().set_intensity(3))
        await asyncio.sleep(0.01)
        await client.stop()
        with pytest.raises(CommandCancelled):
            await waiting
        await asyncio.gather(first, return_exceptions=True)
        device.faults.delay(0)
        await asyncio.sleep(1)
        assert not device.state.running and device.state.intensity != 3


async def test_stop_goes_out_before_queued_changes() -> None:
    """STOP is sent at once, not behind a change still waiting for its answer."""
    async with simulated_massager() as (device, client):
        await client.raw().start(1)
        device.faults.delay(0.3)
        change = asyncio.create_task(client.raw().set_intensity(2))
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await client.stop()
        assert loop.time() - t0 < 0.35  # one delayed round trip, not two
        await asyncio.gather(change, return_exceptions=True)


async def test_link_loss_is_reported_and_fails_pending_requests() -> None:
    async with simulated_massager() as (device, client):
        await client.raw().start(1)
        device.faults.drop_links()
        lost = await asyncio.wait_for(client.wait_lost(), 5)
        assert isinstance(lost, ConnectionLost)
        with pytest.raises(ConnectionLost):
            await client.raw().set_intensity(2)
        state = await device.wait_for(lambda s: not s.running, timeout=5)
        assert state.faults & Fault.LINK_LOST


async def test_reconnect_reads_state_and_does_not_resume() -> None:
    async with simulated_massager() as (device, client):
        await client.raw().start(1)
        device.faults.drop_links()
        await client.wait_lost()
        await device.wait_for(lambda s: not s.running, timeout=5)
        device.faults.restore_links()
        status = await client.reconnect()
        assert not status.running and status.faults & Fault.LINK_LOST
        assert not device.state.running
        await client.raw().start(1)
        assert device.state.intensity == 1


async def test_updates_stream_periodic_status() -> None:
    async with simulated_massager() as (_, client):
        seen = []
        async for status in client.updates():
            seen.append(status)
            if len(seen) == 3:
                break
        assert seen[-1].received_at - seen[0].received_at == pytest.approx(2.0, abs=0.2)


async def test_updates_end_with_connection_lost() -> None:
    async with simulated_massager() as (device, client):

        async def consume() -> None:
            async for _ in client.updates():
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(1.5)
        device.faults.drop_links()
        with pytest.raises(ConnectionLost):
            await asyncio.wait_for(task, 5)


async def test_second_controller_is_refused_but_may_read_and_stop() -> None:
    async with simulated_massager() as (device, client):
        await client.raw().start(1)
        other = DeviceClient(SimTransport(device=device))
        with pytest.raises(DeviceBusy, match="another controller"):
            await other.open()
        observer = DeviceClient(SimTransport(device=device))
        await observer._transport.open()
        observer._start_reader()
        status = await observer.get_status()
        assert status.running and status.owned
        await observer.stop()
        assert not device.state.running
        await observer.close(stop=False)


async def test_wrong_protocol_version_is_one_clear_error() -> None:
    async with SimulatedDevice() as device:
        future = DeviceClient(SimTransport(device=device), versions=range(4, 6))
        with pytest.raises(ProtocolMismatch, match="speaks protocol version 3"):
            await future.open()


async def test_refused_commands_carry_the_code() -> None:
    async with simulated_massager() as (device, client):
        device.faults.refuse(ErrorCode.BUSY)
        with pytest.raises(CommandRefused) as refused:
            await client.raw().start(1)
        assert refused.value.code is ErrorCode.BUSY
        await client.stop()  # never refused


async def test_close_stops_the_device() -> None:
    async with SimulatedDevice() as device:
        massager = DeviceClient(SimTransport(device=device))
        await massager.open()
        await massager.raw().start(1)
        await massager.close()
        assert not device.state.running and not device.state.owned


async def test_the_client_notices_when_the_watchdog_released_it() -> None:
    async with SimulatedDevice() as device:
        silent = DeviceClient(SimTransport(device=device), heartbeat_interval=None)
        await silent.open()
        await silent.raw().start(1)
        lost = await asyncio.wait_for(silent.wait_lost(), 5)
        assert "released this controller" in str(lost) or "watchdog" in str(lost)
        await silent.close()


async def test_a_failing_reader_stops_the_device_and_is_reported_not_reconnected() -> None:
    """A bug in a background task is never silent: the device is told to stop, the loss is a
    ControllerFailure, and reconnecting refuses to paper over it."""
    async with simulated_massager() as (device, client):
        await client.raw().start(1)
        await asyncio.sleep(0.1)  # every frame so far handled: the reader waits inside recv() for the next
        transport = client._transport

        async def broken_recv() -> object:
            raise RuntimeError("injected bug")

        transport.recv = broken_recv  # type: ignore[method-assign]
        await client.get_status()  # answered through the recv() it waits in; the next one fails
        lost = await asyncio.wait_for(client.wait_lost(), 5)
        assert isinstance(lost, ControllerFailure) and "injected bug" in str(lost)
        await device.wait_for(lambda s: not s.running, timeout=5)  # the blind STOP reached it
        with pytest.raises(ControllerFailure):
            await client.reconnect()


async def test_a_failing_keepalive_is_supervised_too() -> None:
    async with simulated_massager() as (device, client):
        await client.raw().start(1)

        async def broken_heartbeat() -> None:
            raise RuntimeError("injected heartbeat bug")

        client.heartbeat = broken_heartbeat  # type: ignore[method-assign]
        lost = await asyncio.wait_for(client.wait_lost(), 5)
        assert isinstance(lost, ControllerFailure) and "medctl-keepalive" in str(lost)
        assert not device.state.running


async def test_reconnect_refuses_a_different_device_at_the_same_address() -> None:
    async with SimulatedDevice() as first, SimulatedDevice(DeviceConfig(serial="NE2-OTHER")) as other:
        transport = SimTransport(device=first)
        client = DeviceClient(transport)
        await client.open()
        try:
            first.faults.drop_links()
            await asyncio.wait_for(client.wait_lost(), 5)
            transport.device = other  # another massager now answers at this address
            with pytest.raises(WrongDevice, match="another massager"):
                await client.reconnect()
            assert not other.state.owned  # never introduced itself to the stranger
            transport.device = first
            await client.reconnect()
            assert first.state.owned
        finally:
            await client.close()
