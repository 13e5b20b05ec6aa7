"""The device's watchdog over a real pseudo-terminal, on wall-clock time.

The controller goes silent (no heartbeats) with the motor running; the figure is the time
from its last frame to the simulator's motor being off, next to the configured watchdog
period (the baseline: what SPEC.md promises). The suite checks the window on the virtual
clock; this is where the real-time figure lives, since a busy machine stretches it.
"""

from __future__ import annotations

import asyncio
import time

from bench.stats import Sample
from medctl.client import DeviceClient
from medctl.transport.serial import SerialTransport
from simulator import DeviceConfig, SimulatedDevice


async def _silences(count: int) -> tuple[float, Sample]:
    config = DeviceConfig()
    values: list[float] = []
    async with SimulatedDevice(config) as device:
        pty = await device.serve_pty()
        for _ in range(count):
            client = DeviceClient(SerialTransport(pty.path), heartbeat_interval=None)
            await client.open()
            try:
                await client.raw().start(1)
                silent_since = time.perf_counter()
                await device.wait_for(lambda s: not s.running, timeout=config.watchdog_s * 5)
                values.append(time.perf_counter() - silent_since)
            finally:
                await client.close(stop=False)
    return config.watchdog_s, Sample("silence → motor off (pty)", values)


def run(count: int = 5) -> tuple[float, Sample]:
    return asyncio.run(_silences(count))


def report(watchdog_s: float, sample: Sample) -> str:
    low, high = min(sample.values), max(sample.values)
    return (
        f"{'watchdog over a pty':<34}{'min s':>9}{'mean s':>9}{'max s':>9}{'max ratio':>11}\n"
        f"{'configured watchdog_s':<34}{watchdog_s:>9.3f}{watchdog_s:>9.3f}{watchdog_s:>9.3f}{1:>10.2f}x\n"
        f"{sample.label:<34}{low:>9.3f}{sample.mean_ms / 1e3:>9.3f}{high:>9.3f}{high / watchdog_s:>10.2f}x"
    )


if __name__ == "__main__":
    print(report(*run()))
