"""Scale: N simulated devices on pseudo-terminals driven by one controller process.

The devices run in a process of their own (:mod:`bench.fleet`); this process opens N
device clients, which heartbeat every second and receive STATUS every second, and
queries each device's status once a second to sample latency. Reported per N: the
controller's CPU (process time over wall time, so 1.0 = one full core) and per device,
missed heartbeats (devices whose watchdog fired), and get_status latency p50/p99 with
its growth over N = 1, measured in the same run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.stats import Sample
from medctl.client import DeviceClient
from medctl.transport.serial import SerialTransport


@dataclass(frozen=True)
class Point:
    devices: int
    cpu_cores: float
    #: the device fleet's own process, for comparison: where the time goes as N grows
    fleet_cpu_cores: float
    watchdog_trips: int
    latency: Sample

    @property
    def cpu_per_device(self) -> float:
        return self.cpu_cores / self.devices


async def _sample(client: DeviceClient, seconds: float, into: list[float], offset: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    await asyncio.sleep(offset)  # spread the queries over the second, as independent devices would be
    while loop.time() < deadline:
        started = time.perf_counter()
        await client.get_status()
        into.append(time.perf_counter() - started)
        await asyncio.sleep(1.0)


async def measure(count: int, seconds: float) -> Point:
    fleet = subprocess.Popen(  # noqa: ASYNC220 - started before any device exists, read line by line
        [sys.executable, "-m", "bench.fleet", str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert fleet.stdout is not None and fleet.stdin is not None
    paths = []
    while (line := fleet.stdout.readline().strip()) != "ready":
        paths.append(line)
    clients = [DeviceClient(SerialTransport(path)) for path in paths]
    latencies: list[float] = []
    try:
        await asyncio.gather(*(c.open() for c in clients))
        cpu0, fleet0, wall0 = time.process_time(), _cpu_seconds(fleet.pid), time.perf_counter()
        offsets = [i / len(clients) for i in range(len(clients))]
        await asyncio.gather(*(_sample(c, seconds, latencies, o) for c, o in zip(clients, offsets, strict=True)))
        wall = time.perf_counter() - wall0
        cpu = (time.process_time() - cpu0) / wall
        fleet_cpu = (_cpu_seconds(fleet.pid) - fleet0) / wall
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        out, _ = fleet.communicate("", timeout=30)
    trips = int(out.strip().rsplit(" ", 1)[-1])
    return Point(count, cpu, fleet_cpu, trips, Sample(f"{count} devices", latencies))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(sizes: tuple[int, ...] = (1, 10, 50, 100), seconds: float = 30.0) -> list[Point]:
    return [asyncio.run(measure(n, seconds)) for n in sizes]


def report(points: list[Point]) -> str:
    base = points[0].latency
    lines = [
        f"{'devices':>8}{'cpu (cores)':>13}{'cpu/device':>12}{'fleet cpu':>11}{'watchdog':>10}"
        f"{'p50 ms':>9}{'p99 ms':>9}"
        f"{'p50 growth':>12}{'p99 growth':>12}"
    ]
    for p in points:
        lines.append(
            f"{p.devices:>8}{p.cpu_cores:>13.3f}{p.cpu_per_device:>12.4f}{p.fleet_cpu_cores:>11.3f}{p.watchdog_trips:>10}"
            f"{p.latency.p50_ms:>9.3f}{p.latency.p99_ms:>9.3f}"
            f"{p.latency.p50_ms / base.p50_ms:>11.2f}x{p.latency.p99_ms / base.p99_ms:>11.2f}x"
        )
    return "\n".join(lines)
