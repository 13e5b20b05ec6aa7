"""medctl ↔ simulator over Bluetooth LE: bleak's public API on a virtual link, on the virtual clock.

The simulator is a bumble GATT peripheral; medctl's BLE transport reaches it through
bleak's BleakScanner/BleakClient and bleak-retry-connector, with the bumble backend in
place of the platform's. The link layer is real (advertising, connection, ATT, MTU,
notifications, disconnects); only the radio is virtual, so looptime can fast-forward it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak_retry_connector import BleakNotFoundError, establish_connection
from bumble import core, data_types, hci
from bumble.core import AdvertisingData

from firmware_protocol import (
    Ack,
    ErrorCode,
    Fault,
    Frame,
    GetInfo,
    Hello,
    InfoField,
    InfoResult,
    MsgType,
    Nack,
    decode_message,
    encode_message,
)
from firmware_protocol.constants import COMMAND_CHAR_UUID, MAX_FRAME_LEN, SERVICE_UUID, STATUS_CHAR_UUID
from medctl.address import parse_address
from medctl.client import DeviceClient
from medctl.devices.registry import for_advertisement
from medctl.errors import ConnectionLost, TransportError
from medctl.session import EndReason, Phase, RuleViolation, SafetyCheck, SessionPlan
from medctl.transport.ble import BleBackend, BleTransport, advertisements, bluetooth_error, scan
from simulator import DeviceConfig, LoopClock, SimulatedDevice
from simulator.ble import Radio, VirtualBle, virtual_ble
from simulator.bleak_backend import BumbleClient, BumbleScanner, BumbleTarget

pytestmark = pytest.mark.looptime

ABSENT = "C0:00:00:00:00:99"


@asynccontextmanager
async def on_air(config: DeviceConfig | None = None) -> AsyncIterator[tuple[SimulatedDevice, VirtualBle]]:
    async with SimulatedDevice(config or DeviceConfig(), clock=LoopClock()) as device, virtual_ble(device) as air:
        yield device, air


def backend(air: VirtualBle, **options: object) -> BleBackend:
    return BleBackend(BumbleScanner, BumbleClient, {"radio": air.central, **options})


def transport(air: VirtualBle, url: str | None = None, **options: object) -> BleTransport:
    return BleTransport(parse_address(url or f"ble://{air.address}"), backend=backend(air, **options))


@asynccontextmanager
async def massager(air: VirtualBle, url: str | None = None) -> AsyncIterator[DeviceClient]:
    client = DeviceClient(transport(air, url))
    await client.open()
    try:
        yield client
    finally:
        await client.close()


async def heart_rate_monitor(air: VirtualBle) -> Radio:
    """Another peripheral on the same link, advertising something else."""
    radio = await Radio.on_link(air.link, name="hrm", address="C0:11:22:33:44:55")
    advertisement = AdvertisingData(
        [
            data_types.CompleteListOf16BitServiceUUIDs([core.UUID.from_16_bits(0x180D)]),
            data_types.CompleteLocalName("HRM"),
        ]
    )
    await radio.device.start_advertising(advertising_data=bytes(advertisement), advertising_interval_min=100)
    return radio


async def test_scan_finds_the_massager_by_service_uuid_and_ignores_other_devices() -> None:
    async with on_air() as (_, air):
        hrm = await heart_rate_monitor(air)
        async with BleakScanner(backend=BumbleScanner, radio=air.central) as everything:
            async with BleakScanner(service_uuids=[SERVICE_UUID], backend=BumbleScanner, radio=air.central) as ours:
                await asyncio.sleep(1.0)
        assert set(everything.discovered_devices_and_advertisement_data) == {air.address, hrm.address}
        (found,) = ours.discovered_devices_and_advertisement_data.values()
        device, advertisement = found
        assert device.address == air.address
        assert advertisement.local_name == "NeckEase"  # the model name, shortened to fit next to the UUID
        assert advertisement.service_uuids == [SERVICE_UUID]
        assert isinstance(advertisement.rssi, int)
        (massager_found,) = await scan(1.0, backend(air))
        assert massager_found.name == "NeckEase" and massager_found.url == f"ble://{air.address}"
        await hrm.close()


async def test_gatt_layout_is_spec_9_2_and_the_mtu_is_exchanged_on_connect() -> None:
    async with on_air() as (_, air):
        device = await BleakScanner.find_device_by_address(air.address, backend=BumbleScanner, radio=air.central)
        assert device is not None
        client = await establish_connection(BleakClient, device, "massager", backend=BumbleClient)
        try:
            service = client.services.get_service(SERVICE_UUID)
            assert service is not None
            command = service.get_characteristic(COMMAND_CHAR_UUID)
            status = service.get_characteristic(STATUS_CHAR_UUID)
            assert command is not None and command.properties == ["write"]
            assert status is not None and status.properties == ["notify"]
            assert [d.uuid for d in status.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]  # the CCCD
            assert client.mtu_size == 247
        finally:
            await client.disconnect()


async def test_the_largest_frame_goes_through_at_mtu_23_without_an_mtu_exchange() -> None:
    """SPEC §3.2: frames are at most 20 bytes, one ATT write or notification at MTU 23; no fragmentation."""
    async with on_air(DeviceConfig(model="NeckEase 2XL")) as (_, air):  # 12 bytes: the longest GET_INFO text
        target = BumbleTarget(air.central, hci.Address(air.address, hci.Address.RANDOM_DEVICE_ADDRESS))
        client = await establish_connection(
            BleakClient, BLEDevice(air.address, None, target), "m", backend=BumbleClient, mtu=None
        )
        try:
            assert client.mtu_size == 23
            frames: asyncio.Queue[bytes] = asyncio.Queue()
            await client.start_notify(STATUS_CHAR_UUID, lambda _c, data: frames.put_nowait(bytes(data)))
            await client.write_gatt_char(COMMAND_CHAR_UUID, encode_message(Hello(1, 1, 7), 1), response=True)
            await client.write_gatt_char(COMMAND_CHAR_UUID, encode_message(GetInfo(InfoField.MODEL), 2), response=True)
            longest = await answer(frames, 2)
            assert len(longest) == MAX_FRAME_LEN
            info = decode_message(Frame.loads(longest))
            assert isinstance(info, Ack) and InfoResult.from_bytes(info.data).text == "NeckEase 2XL"
            # a 20-byte request (a type the device does not define) arrives whole: it is answered, not dropped
            largest_request = bytes(Frame(msg_type=0x7F, seq=3, payload=bytes(14)))
            assert len(largest_request) == MAX_FRAME_LEN
            await client.write_gatt_char(COMMAND_CHAR_UUID, largest_request, response=True)
            nack = decode_message(Frame.loads(await answer(frames, 3)))
            assert isinstance(nack, Nack) and nack.code is ErrorCode.UNKNOWN_TYPE
        finally:
            await client.disconnect()


async def answer(frames: asyncio.Queue[bytes], seq: int) -> bytes:
    while True:
        data = await asyncio.wait_for(frames.get(), 1.0)
        frame = Frame.loads(data)
        if frame.seq == seq and frame.msg_type in (MsgType.ACK, MsgType.NACK):
            return data


async def test_medctl_connects_by_name_prefix_and_reads_the_device() -> None:
    async with on_air() as (device, air), massager(air, "ble://?name=neck") as client:
        assert client.identity is not None and client.identity.model == "NeckEase 2"
        await client.raw().start(1)
        await client.raw().set_heat(1)
        assert device.state.running and device.state.intensity == 1 and device.state.heat == 1


async def test_a_full_guided_session_on_the_virtual_clock(medctl_safety: SafetyCheck) -> None:
    async with on_air() as (device, air), massager(air) as client:
        loop_start = asyncio.get_running_loop().time()
        plan = SessionPlan(minutes=5, heat=True, target_intensity=3)
        async with client.session(plan, safety=medctl_safety) as session:
            record = await asyncio.wait_for(session.wait(), 400)
        assert record.end_reason is EndReason.COMPLETED
        assert record.massage_s == pytest.approx(300, abs=1) and record.max_intensity == 3
        assert not device.state.running and device.state.heat == 0
        assert asyncio.get_running_loop().time() - loop_start >= 300
        assert device.state.frames_received > 300  # a heartbeat a second, at least, all over BLE


async def test_the_peripheral_dropping_the_link_triggers_r10_and_the_watchdog(
    medctl_safety: SafetyCheck,
) -> None:
    async with on_air() as (device, air), massager(air) as client:
        async with client.session(SessionPlan(minutes=5, heat=True), safety=medctl_safety) as session:
            await asyncio.sleep(20)
            assert device.state.running and device.state.heat == 1
            device.faults.drop_links()  # out of range: disconnected, and no advertising
            await asyncio.sleep(0.5)
            assert session.phase is Phase.INTERRUPTED
            with pytest.raises(RuleViolation, match="reconnecting"):
                await session.resume()
            stopped = await device.wait_for(lambda s: not s.running, timeout=3.5)  # the device's own watchdog
            assert stopped.heat == 0 and stopped.faults & Fault.LINK_LOST
            device.faults.restore_links()  # back in range
            await asyncio.sleep(20)
            assert any("reconnected" in n for n in session.record.notices)
            assert not device.state.running  # never resumed by itself
            assert device.state.owner == client.controller_id  # HELLO again on the new connection
            await session.resume()
            assert device.state.running and device.state.intensity == 1
            assert session.phase is Phase.WARM_UP
            await session.stop()


async def test_reconnect_opens_a_fresh_subscribed_connection_every_time() -> None:
    """Our own disconnects fire bleak's callback too (as on BlueZ): they must not end the next connection.

    Each connection is set up from scratch: MTU exchange, subscription, HELLO, GET_STATUS (SPEC §6.8.1).
    """
    async with on_air() as (device, air):
        link = transport(air)
        client = DeviceClient(link)
        await client.open()
        for _ in range(3):
            await client.reconnect()
            assert device.state.links == 1 and air.endpoint.connections == 1
            assert link.mtu == 247 and device.state.owner == client.controller_id
        since = asyncio.get_running_loop().time()
        status = await client.wait_for_status(lambda s: s.received_at > since, 2.0)
        assert not status.running  # STATUS notifications flow on the newest connection
        await client.raw().start(1)
        assert device.state.running
        await client.close()


async def test_a_notification_that_is_not_a_frame_is_counted_and_dropped() -> None:
    async with on_air() as (device, air):
        link = transport(air)
        client = DeviceClient(link)
        await client.open()
        device.faults.inject_garbage(b"\x01\x90noise")
        device.faults.corrupt_next(1)
        status = await client.get_status()  # the link goes on; a corrupted answer is retried
        assert status.owned and link.invalid_frames == 2
        await client.close()


async def test_a_write_after_the_peripheral_left_is_a_lost_connection() -> None:
    async with on_air() as (device, air):
        link = transport(air)
        await link.open()
        device.faults.drop_links()
        with pytest.raises(ConnectionLost, match="dropped the connection"):
            await asyncio.wait_for(link.recv(), 5)
        with pytest.raises(ConnectionLost):
            await link.send(encode_message(Hello(1, 1, 1), 1))
        await link.close()


async def test_an_absent_address_fails_clearly_in_bounded_time() -> None:
    async with on_air() as (_, air):
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(TransportError, match=f"massager {ABSENT} was not found advertising within 3 s"):
            await DeviceClient(transport(air, f"ble://{ABSENT}?timeout=3")).open()
        assert loop.time() - start == pytest.approx(3, abs=0.5)
        with pytest.raises(TransportError, match="named Nope… was not found"):
            await DeviceClient(transport(air, "ble://?name=Nope&timeout=2")).open()


async def test_connecting_straight_to_an_absent_address_gives_up_in_bounded_time() -> None:
    """No scan first: the connect itself times out, is cancelled, and bleak-retry-connector gives up."""
    async with on_air() as (_, air):
        loop = asyncio.get_running_loop()
        start = loop.time()
        target = BumbleTarget(air.central, hci.Address(ABSENT, hci.Address.RANDOM_DEVICE_ADDRESS))
        with pytest.raises(BleakNotFoundError) as failure:
            await establish_connection(
                BleakClient, BLEDevice(ABSENT, None, target), "m", backend=BumbleClient, max_attempts=2
            )
        assert loop.time() - start < 2 * (20 + 2) + 1  # two 20 s connect timeouts, each cancel confirmed at once
        assert "did not answer: is it switched on, in range" in str(bluetooth_error(failure.value, "the massager"))


async def test_a_scan_offers_every_device_to_the_drivers_and_keeps_the_recognised_ones() -> None:
    async with on_air() as (_, air):
        hrm = await heart_rate_monitor(air)
        heard = await advertisements(1.0, backend(air))
        assert {adv.address for adv in heard} == {air.address, hrm.address}  # no filter below the drivers
        recognised = {adv.address: driver.name for adv in heard if (driver := for_advertisement(adv)) is not None}
        assert recognised == {air.address: "medctl"}  # the heart-rate monitor is nobody's massager
        await hrm.close()
