"""Write→notify round trip over the virtual BLE link: medctl through bleak vs bare bumble.

Both run on one bumble virtual link in one process, in the same run, so the ratio holds on
a noisy machine:

- baseline: a bare bumble central writes a GET_STATUS frame (write with response) to a bare
  bumble GATT server that notifies back a frame the size of the answer (no protocol, no bleak);
- medctl: ``DeviceClient.get_status()`` through medctl's BLE transport, bleak's public API,
  the bumble bleak backend and the simulator's GATT peripheral (encode, write, firmware,
  notification, decode, seq matching).
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

from bumble import core, gatt
from bumble.device import Connection, Peer

from bench.stats import Sample, timed
from firmware_protocol import GetStatus, Status, encode_message
from firmware_protocol.constants import COMMAND_CHAR_UUID, SERVICE_UUID, STATUS_CHAR_UUID
from firmware_protocol.messages import Ack, MotorState
from medctl.address import parse_address
from medctl.client import DeviceClient
from medctl.transport.ble import BleBackend, BleTransport
from simulator import SimulatedDevice
from simulator.ble import Radio, VirtualBle, virtual_ble
from simulator.bleak_backend import BumbleClient, BumbleScanner

ECHO_ADDRESS: Final = "C0:EC:40:00:00:01"


async def echo_peripheral(air: VirtualBle) -> Radio:
    """A bare GATT server on the same link: every write is answered by one same-size-as-STATUS notification."""
    answer = encode_message(Ack(GetStatus.TYPE, Status(MotorState.IDLE, 1, 0, 3100).payload()), 1)
    radio = await Radio.on_link(air.link, name="echo", address=ECHO_ADDRESS)
    status: gatt.Characteristic[bytes] = gatt.Characteristic(
        STATUS_CHAR_UUID, gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.Permissions(0), b""
    )

    async def on_write(connection: Connection, _value: bytes) -> None:
        await radio.device.notify_subscriber(connection, status, answer)

    command: gatt.Characteristic[bytes] = gatt.Characteristic(
        COMMAND_CHAR_UUID,
        gatt.Characteristic.Properties.WRITE,
        gatt.Characteristic.Permissions.WRITEABLE,
        gatt.CharacteristicValue(write=on_write),
    )
    radio.device.add_service(gatt.Service(SERVICE_UUID, [command, status]))
    await radio.device.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
    return radio


async def bare_bumble(air: VirtualBle, count: int) -> Sample:
    echo = await echo_peripheral(air)
    connection = await air.central.device.connect(echo.device.random_address, timeout=5)
    peer = Peer(connection)
    await peer.request_mtu(247)
    await peer.discover_services([core.UUID(SERVICE_UUID)])
    for service in peer.services:
        await service.discover_characteristics()
    (command,) = peer.get_characteristics_by_uuid(core.UUID(COMMAND_CHAR_UUID))
    (status,) = peer.get_characteristics_by_uuid(core.UUID(STATUS_CHAR_UUID))
    answers: asyncio.Queue[bytes] = asyncio.Queue()
    await peer.subscribe(status, answers.put_nowait)
    request = encode_message(GetStatus(), 1)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        await peer.write_value(command, request, with_response=True)
        await answers.get()
        samples.append(time.perf_counter() - start)
    await connection.disconnect()
    await echo.close()
    return Sample("bare bumble write→notify", samples)


async def medctl_round_trip(air: VirtualBle, count: int) -> Sample:
    backend = BleBackend(BumbleScanner, BumbleClient, {"radio": air.central})
    client = DeviceClient(BleTransport(parse_address(f"ble://{air.address}"), backend=backend))
    await client.open()
    try:
        return await timed("medctl get_status over BLE", client.get_status, count)
    finally:
        await client.close()


async def measure(count: int) -> list[Sample]:
    async with SimulatedDevice() as device, virtual_ble(device) as air:
        baseline = await bare_bumble(air, count)
        measured = await medctl_round_trip(air, count)
    return [baseline, measured]


def run(count: int = 2000) -> list[Sample]:
    return asyncio.run(measure(count))


def report(figures: list[Sample]) -> str:
    baseline = figures[0]
    lines = [f"{'BLE round trip':<28}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'p50 ratio':>11}{'p99 ratio':>11}"]
    for fig in figures:
        lines.append(
            f"{fig.label:<28}{fig.p50_ms:>9.3f}{fig.p99_ms:>9.3f}{fig.mean_ms:>9.3f}"
            f"{fig.p50_ms / baseline.p50_ms:>10.2f}x{fig.p99_ms / baseline.p99_ms:>10.2f}x"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(run()))
