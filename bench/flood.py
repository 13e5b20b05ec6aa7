"""The owner's STOP and the device's watchdog under floods, over real TCP links: ``python -m bench.flood``.

Three processes, so that nobody's CPU is borrowed from another:

- **PAIR_BEGIN flood** (a stranger against the device): the simulator serves TCP in a
  child process; a paired owner connects from this process; a second child process floods
  the device with PAIR_BEGIN frames on another connection. Measured: the owner's STOP round
  trip (send → ACK) and the watchdog period (the owner's last frame → its LINK_LOST event).
- **STATUS flood** (a hostile device against the controller): a child process relays a real
  simulator to this process and adds ~40 000 STATUS frames a second. Measured: STOP round
  trip seen by the controller, the time from ``stop()`` to the STOP reaching the relay (the
  wire), and the longest gap between the controller's frames as the relay saw them (the
  device's watchdog fires after 3 s of silence).

Each figure is printed next to the same measurement without a flood (the baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Final

from bench.stats import Sample
from firmware_protocol import (
    Fault,
    FaultEvent,
    Heartbeat,
    MotorState,
    MsgType,
    PairBegin,
    PakeBegin,
    Status,
    StatusFlag,
    encode_message,
)
from firmware_protocol.stream import StreamDecoder, encode_stream
from medctl.client import DeviceClient
from medctl.errors import MedctlError
from medctl.keys import KeyStore
from medctl.transport.tcp import TcpTransport
from simulator import SimulatedDevice

PAIRING_CODE: Final = "7KQM-3XHP"
#: STATUS frames per second the hostile device adds.
STATUS_RATE: Final = 40_000
#: STATUS frames per write of the hostile device (40 writes a second).
STATUS_BATCH: Final = 1000
#: STOPs not answered within their 2 s of retries after which a row gives up waiting.
MAX_UNANSWERED: Final = 3


# --- child processes ---------------------------------------------------------------------------


def _device_process(conn: Connection, status_interval: float) -> None:
    asyncio.run(_serve_device(conn, status_interval))


async def _serve_device(conn: Connection, status_interval: float) -> None:
    from simulator import DeviceConfig

    config = DeviceConfig(pairing_code=PAIRING_CODE, status_interval_s=status_interval)
    async with SimulatedDevice(config) as device:
        _open_pairing(device)
        endpoint = await device.serve_tcp()
        conn.send(endpoint.port)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to end


def _open_pairing(device: SimulatedDevice) -> None:
    """Press the pairing button (a real device has one), so the owner can pair."""
    device.firmware.open_pairing_window()


def _pair_flood_process(port: int) -> None:
    # The flooder stands for another machine in radio range: on a 2-core box it must not take
    # the CPU of the owner's process, only the device's attention.
    os.nice(19)
    asyncio.run(_pair_flood(port))


async def _pair_flood(port: int) -> None:
    """Pairing requests on a connection of its own, as fast as the device takes them, until killed.

    Version 2's PAIR_BEGIN and version 3's PAKE_BEGIN, alternately: whichever the device does work for.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    begins = [PairBegin(i + 1, bytes(8)) if i % 2 else PakeBegin(i + 1) for i in range(50)]
    batch = b"".join(encode_stream(encode_message(begin, i)) for i, begin in enumerate(begins))
    drain = asyncio.create_task(_discard(reader))
    try:
        while True:
            writer.write(batch)
            await writer.drain()
    finally:
        drain.cancel()
        writer.close()


async def _discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


def _status_flood_process(device_port: int, conn: Connection, rate: int) -> None:
    asyncio.run(_status_flood(device_port, conn, rate))


async def _status_flood(device_port: int, conn: Connection, rate: int) -> None:
    """Relay the device to one controller, adding *rate* STATUS frames a second; report the gaps."""
    status = Status(MotorState.IDLE, 1, 0, 2000, Fault.NONE, 0xFF, StatusFlag.OWNED)
    flood = encode_stream(bytes(status.to_frame(0))) * STATUS_BATCH
    arrivals: list[float] = []  # when each of the controller's frames reached the relay
    stops: list[float] = []  # when each STOP did
    done = asyncio.Event()

    async def serve(c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        d_reader, d_writer = await asyncio.open_connection("127.0.0.1", device_port)
        decoder = StreamDecoder()

        async def upstream() -> None:
            while data := await c_reader.read(4096):
                now = time.monotonic()  # system-wide: comparable with the controller's
                for frame in decoder.feed(data):
                    arrivals.append(now)
                    if frame.msg_type == MsgType.STOP:
                        stops.append(now)
                d_writer.write(data)
            done.set()

        async def downstream() -> None:
            while data := await d_reader.read(4096):
                c_writer.write(data)

        async def flooding() -> None:
            if rate <= 0:
                return
            period = STATUS_BATCH / rate
            while True:
                c_writer.write(flood)
                await c_writer.drain()
                await asyncio.sleep(period)

        tasks = [asyncio.create_task(t()) for t in (upstream, downstream, flooding)]
        await done.wait()
        for task in tasks:
            task.cancel()
        d_writer.close()
        c_writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    conn.send(server.sockets[0].getsockname()[1])
    await done.wait()
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    conn.send((max(gaps) if gaps else float("nan"), stops))
    server.close()


# --- measurements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    label: str
    stop: Sample
    watchdog_s: float
    to_wire: Sample | None = None


async def _pair(port: int, keys: KeyStore) -> None:
    from medctl.pairing import pair

    await pair(f"tcp://127.0.0.1:{port}", PAIRING_CODE, keys=keys)


def _to_wire(called: list[float], arrived: list[float]) -> Sample:
    """For each stop() call, the time until the first STOP after it reached the other end."""
    values = []
    for start in called:
        later = [t for t in arrived if t >= start]
        values.append(min(later) - start if later else float("inf"))
    return Sample("stop to wire", values)


async def _stops(client: DeviceClient, count: int, called: list[float] | None = None) -> Sample:
    """*count* STOP round trips; after 3 unanswered ones the rest are counted unanswered without waiting."""
    values: list[float] = []
    for _ in range(count):
        if values.count(float("inf")) >= MAX_UNANSWERED:
            values.append(float("inf"))
            continue
        started = time.perf_counter()
        if called is not None:
            called.append(time.monotonic())
        try:
            await client.stop()
        except MedctlError:
            values.append(float("inf"))  # not answered within the STOP retries (2 s)
            continue
        values.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    return Sample("stop", values)


async def _watchdog(client: DeviceClient, limit: float) -> float:
    """Go silent after a heartbeat, and time the owner's last frame → its LINK_LOST event."""
    fired = asyncio.get_running_loop().create_future()

    def on_fault(event: FaultEvent) -> None:
        if event.fault is Fault.LINK_LOST and event.active and not fired.done():
            fired.set_result(time.perf_counter())

    client.on_fault(on_fault)
    last = time.perf_counter()
    with contextlib.suppress(MedctlError):  # unanswered under a flood: the frame was still sent
        await client.request(Heartbeat())  # one attempt, nothing else after it
    try:
        return float(await asyncio.wait_for(fired, limit)) - last
    except TimeoutError:
        return float("inf")


def pair_flood(stops: int, flood: bool) -> Figures:
    """The owner's STOP and the watchdog while a stranger floods PAIR_BEGIN (or not)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    device = ctx.Process(target=_device_process, args=(child, 1.0), daemon=True)
    device.start()
    port = parent.recv()
    flooder = None
    try:
        with tempfile.TemporaryDirectory() as folder:
            keys = KeyStore(Path(folder) / "keys.json")

            async def measure() -> tuple[Sample, float]:
                nonlocal flooder
                await _pair(port, keys)
                client = DeviceClient(TcpTransport("127.0.0.1", port), keys=keys, heartbeat_interval=None)
                await client.open()
                try:
                    if flood:
                        flooder = ctx.Process(target=_pair_flood_process, args=(port,), daemon=True)
                        flooder.start()
                        await asyncio.sleep(0.5)
                    sample = await _stops(client, stops)
                    watchdog = await _watchdog(client, 15.0)
                    return sample, watchdog
                finally:
                    if flooder is not None:
                        flooder.terminate()
                    with contextlib.suppress(Exception):
                        await client.close(stop=False)

            sample, watchdog = asyncio.run(measure())
        label = "PAIR_BEGIN flood" if flood else "no flood (baseline)"
        return Figures(label, sample, watchdog)
    finally:
        parent.send("end")
        device.join(5)
        if flooder is not None:
            flooder.join(5)


def status_flood(stops: int, seconds: float, rate: int) -> Figures:
    """The controller's STOP and its heartbeat gaps while the device floods STATUS (or not)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    device = ctx.Process(target=_device_process, args=(child, 1.0), daemon=True)
    device.start()
    device_port = parent.recv()
    r_parent, r_child = ctx.Pipe()
    relay = ctx.Process(target=_status_flood_process, args=(device_port, r_child, rate), daemon=True)
    relay.start()
    relay_port = r_parent.recv()
    try:

        async def measure() -> tuple[Sample, list[float]]:
            client = DeviceClient(TcpTransport("127.0.0.1", relay_port))
            try:
                await client.open()
            except MedctlError as exc:
                print(f"STATUS flood {rate}/s: the controller could not even connect: {exc}")
                await client.close(stop=False)
                return Sample("stop", [float("inf")] * stops), []
            try:
                await asyncio.sleep(seconds)  # only heartbeats: the relay measures the gaps
                called: list[float] = []
                return await _stops(client, stops, called), called
            finally:
                with contextlib.suppress(Exception):
                    await client.close(stop=False)

        sample, called = asyncio.run(measure())
        gap, arrived = r_parent.recv()
        label = f"STATUS flood {rate}/s" if rate else "no flood (baseline)"
        return Figures(label, sample, gap, _to_wire(called, arrived))
    finally:
        parent.send("end")
        device.join(5)
        relay.join(5)


def report(title: str, what: str, rows: list[Figures]) -> str:
    lines = [f"{title:<30}{'STOP p50 ms':>13}{'STOP p99 ms':>13}{'unanswered':>12}{what:>20}{'to wire p50/p99 ms':>21}"]
    for row in rows:
        lost = row.stop.values.count(float("inf"))
        wire = f"{row.to_wire.p50_ms:.2f} / {row.to_wire.p99_ms:.2f}" if row.to_wire else "-"
        lines.append(
            f"{row.label:<30}{row.stop.p50_ms:>13.2f}{row.stop.p99_ms:>13.2f}{lost:>12}{row.watchdog_s:>19.2f}s"
            f"{wire:>21}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stops", type=int, default=200, help="STOPs measured per row")
    parser.add_argument("--seconds", type=float, default=5.0, help="heartbeats only, before the STOPs")
    parser.add_argument("--rate", type=int, default=STATUS_RATE, help="STATUS frames a second in the STATUS flood")
    args = parser.parse_args()
    rows = [pair_flood(args.stops, flood=False), pair_flood(args.stops, flood=True)]
    print(report("device under PAIR_BEGIN flood", "watchdog period", rows), "\n")
    rows = [status_flood(args.stops, args.seconds, 0), status_flood(args.stops, args.seconds, args.rate)]
    print(report("controller under STATUS flood", "longest frame gap", rows))


if __name__ == "__main__":
    main()
