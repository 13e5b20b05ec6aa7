"""Command round trip over a pseudo-terminal: medctl's client vs a raw pyserial echo.

Both sides use the same kernel pseudo-terminal and the same frame size, measured in
the same run, so the ratio holds on a noisy machine:

- baseline: pyserial writes one encoded GET_STATUS frame to a pty whose other end
  echoes back a frame of the same size as the answer (no protocol, no asyncio);
- medctl: ``DeviceClient.get_status()`` through the serial transport to the simulator
  serving the same kind of pty (encode, COBS, decode, seq matching, firmware).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import tty

import serial

from bench.stats import Sample, timed
from firmware_protocol import GetStatus, Status, encode_message, encode_stream
from firmware_protocol.messages import Ack, MotorState
from medctl.client import DeviceClient
from medctl.transport.serial import SerialTransport
from simulator import SimulatedDevice


def raw_echo(count: int) -> Sample:
    """pyserial write → echo thread answers with a same-size frame → pyserial read."""
    request = encode_stream(encode_message(GetStatus(), 1))
    status = Status(MotorState.IDLE, 1, 0, 3100)
    answer = encode_stream(encode_message(Ack(GetStatus.TYPE, status.payload()), 1))
    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def echo() -> None:
        pending = b""
        while not stop.is_set():
            pending += os.read(master, 256)
            while b"\x00" in pending:
                _, pending = pending.split(b"\x00", 1)
                os.write(master, answer)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    port = serial.Serial(os.ttyname(slave), timeout=1)
    samples = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            port.write(request)
            port.read_until(b"\x00", len(answer))
            samples.append(time.perf_counter() - start)
    finally:
        stop.set()
        port.write(request)  # wake the echo thread so it sees stop
        port.close()
        thread.join(timeout=1)
        os.close(master)
        os.close(slave)
    return Sample("raw pyserial echo", samples)


async def medctl_round_trip(count: int) -> Sample:
    async with SimulatedDevice() as device:
        pty = await device.serve_pty()
        client = DeviceClient(SerialTransport(pty.path))
        await client.open()
        try:
            return await timed("medctl get_status", client.get_status, count)
        finally:
            await client.close()


def run(count: int = 2000) -> list[Sample]:
    baseline = raw_echo(count)
    measured = asyncio.run(medctl_round_trip(count))
    return [baseline, measured]


def report(figures: list[Sample]) -> str:
    baseline = figures[0]
    lines = [f"{'pty round trip':<22}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'p50 ratio':>11}{'p99 ratio':>11}"]
    for fig in figures:
        lines.append(
            f"{fig.label:<22}{fig.p50_ms:>9.3f}{fig.p99_ms:>9.3f}{fig.mean_ms:>9.3f}"
            f"{fig.p50_ms / baseline.p50_ms:>10.2f}x{fig.p99_ms / baseline.p99_ms:>10.2f}x"
        )
    return "\n".join(lines)
