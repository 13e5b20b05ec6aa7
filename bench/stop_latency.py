"""STOP latency: from ``stop()`` being called to the simulator's motor being off, under load.

Load on the same link while STOP is measured: the device streams STATUS every 10 ms
(instead of every second) and another task keeps intensity and heat changes and status
queries in flight. Over a pseudo-terminal and TCP; the baseline is a raw pyserial echo of
a frame on a pseudo-terminal, measured in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from bench.pty_round_trip import raw_echo
from bench.stats import Sample, table
from medctl.client import DeviceClient
from medctl.errors import MedctlError
from medctl.transport.base import Transport
from medctl.transport.serial import SerialTransport
from medctl.transport.tcp import TcpTransport
from simulator import DeviceConfig, SimulatedDevice

#: STATUS every 10 ms instead of every second: the notification stream STOP must cut through.
LOADED = DeviceConfig(status_interval_s=0.01)
Opener = Callable[[SimulatedDevice], Awaitable[Transport]]


async def _pty(device: SimulatedDevice) -> Transport:
    return SerialTransport((await device.serve_pty()).path)


async def _tcp(device: SimulatedDevice) -> Transport:
    endpoint = await device.serve_tcp()
    return TcpTransport(endpoint.host, endpoint.port)


async def _busy(client: DeviceClient) -> None:
    """Keep other commands in flight: intensity and heat changes, status queries."""
    level = 1
    while True:
        level = level % 5 + 1
        with contextlib.suppress(MedctlError):
            raw = client.raw()
            await asyncio.gather(raw.set_intensity(level), raw.set_heat(level % 3), client.get_status())


async def stops_under_load(label: str, device: SimulatedDevice, transport: Transport, count: int) -> Sample:
    """Start, let the load fill the link, STOP, and time until the device's motor is off."""
    client = DeviceClient(transport)
    await client.open()
    load = asyncio.create_task(_busy(client))
    samples: list[float] = []
    try:
        for _ in range(count):
            await client.raw().start(1)
            await asyncio.sleep(0.005)  # let the load fill the link again
            started = time.perf_counter()
            stopping = asyncio.create_task(client.stop())
            await device.wait_for(lambda s: not s.running, timeout=2)
            samples.append(time.perf_counter() - started)
            await stopping
    finally:
        load.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await load
        await client.close()
    return Sample(label, samples)


async def measure(label: str, opener: Opener, count: int) -> Sample:
    async with SimulatedDevice(LOADED) as device:
        return await stops_under_load(label, device, await opener(device), count)


async def measure_ble(count: int) -> Sample:
    """The same over the virtual BLE link (bleak's API → bumble central → bumble peripheral)."""
    from medctl.address import parse_address
    from medctl.transport.ble import BleBackend, BleTransport
    from simulator.ble import virtual_ble
    from simulator.bleak_backend import BumbleClient, BumbleScanner

    async with SimulatedDevice(LOADED) as device, virtual_ble(device) as air:
        backend = BleBackend(BumbleScanner, BumbleClient, {"radio": air.central})
        transport = BleTransport(parse_address(f"ble://{air.address}"), backend=backend)
        return await stops_under_load("stop under load, virtual BLE", device, transport, count)


def run(count: int = 300) -> tuple[Sample, list[Sample]]:
    baseline = Sample("raw pyserial echo (pty)", raw_echo(count * 3).values)
    measured = [
        asyncio.run(measure("stop under load, pty", _pty, count)),
        asyncio.run(measure("stop under load, tcp", _tcp, count)),
        asyncio.run(measure_ble(count)),
    ]
    return baseline, measured


def report(baseline: Sample, measured: list[Sample]) -> str:
    return table("stop() → motor off", measured, baseline)
