"""Bounded fuzzing of both parsers: the codec and the simulator's firmware, in-process and over a pty.

Inputs are random bytes and mutations of the valid test vectors (bit flips, byte
insertions and deletions, truncations, and mutations with the CRC repaired so they get
past the frame check into message decoding). The codec may only raise its own
``ProtocolError``s; the stream decoder and the firmware never raise; every frame the
firmware sends back is valid; and afterwards the device still answers a HELLO.

The suite runs a few thousand inputs. For a longer run, with the counts printed:

    python tests/faults/test_fuzz.py --inputs 200000 --seed 7
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest

from firmware_protocol import (
    Ack,
    Frame,
    GetStatus,
    Hello,
    ProtocolError,
    StreamDecoder,
    crc16,
    decode_message,
    encode_message,
    encode_stream,
)
from firmware_protocol.vectors import load_frame_vectors
from simulator.testing import Bench, RecordingLink

SEEDS = [b.data for b in load_frame_vectors() if b.error is None]


@dataclass
class Tally:
    inputs: int = 0
    bytes: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)

    def report(self, title: str, seconds: float) -> str:
        top = ", ".join(f"{name} {count}" for name, count in self.outcomes.most_common())
        return (
            f"{title}: {self.inputs} inputs ({self.bytes} bytes) in {seconds:.1f} s; "
            f"crashes {len(self.crashes)}; outcomes: {top}"
        )


def mutate(rng: random.Random) -> bytes:
    """One fuzz input: random bytes, or a valid frame damaged in one of several ways."""
    choice = rng.random()
    if choice < 0.25:
        return rng.randbytes(rng.randrange(0, 41))
    data = bytearray(rng.choice(SEEDS))
    for _ in range(rng.randrange(1, 4)):
        kind = rng.randrange(4)
        if kind == 0 and data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif kind == 1:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        elif kind == 2 and data:
            del data[rng.randrange(len(data))]
        elif data:
            del data[rng.randrange(len(data)) :]
    if choice > 0.6 and len(data) >= 6:  # repair the CRC so the damage reaches message decoding
        data[-2:] = crc16(bytes(data[:-2])).to_bytes(2, "big")
    return bytes(data)


def fuzz_codec(inputs: int, seed: int) -> Tally:
    rng = random.Random(seed)
    tally = Tally()
    decoder = StreamDecoder()
    for _ in range(inputs):
        data = mutate(rng)
        tally.inputs += 1
        tally.bytes += len(data)
        try:
            decode_message(Frame.loads(data))
            tally.outcomes["valid"] += 1
        except ProtocolError as exc:
            tally.outcomes[type(exc).__name__] += 1
        except Exception as exc:  # anything else is a crash of the codec
            tally.crashes.append(f"{data.hex()}: {exc!r}")
        try:
            decoder.feed(data + (b"\x00" if rng.random() < 0.5 else b""))
        except Exception as exc:
            tally.crashes.append(f"stream {data.hex()}: {exc!r}")
    return tally


def fuzz_firmware(inputs: int, seed: int) -> Tally:
    rng = random.Random(seed)
    tally = Tally()
    bench = Bench()
    link = bench.link()
    for _ in range(inputs):
        data = mutate(rng)
        tally.inputs += 1
        tally.bytes += len(data)
        try:
            bench.firmware.receive(link, data)
            for answer in link.frames:
                message = decode_message(Frame.loads(answer))  # the device only ever sends valid frames
                tally.outcomes[type(message).__name__] += 1
            link.frames.clear()
            if rng.random() < 0.01:
                bench.advance(0.5)
        except Exception as exc:
            tally.crashes.append(f"{data.hex()}: {exc!r}")
    check_still_answers(bench, link)
    return tally


def check_still_answers(bench: Bench, link: RecordingLink) -> None:
    """After the storm the device still talks: a status, and a HELLO answered (owned or not)."""
    assert isinstance(bench.request(link, GetStatus()), Ack)
    bench.advance(5)  # let any owner that garbage happened to create time out
    assert isinstance(bench.request(link, Hello(1, 1, 0xC0FFEE)), Ack)


async def fuzz_pty(total_bytes: int, seed: int) -> Tally:
    """Random bytes and damaged frames written into the device's pseudo-terminal with pyserial."""
    import serial

    from simulator import SimulatedDevice

    rng = random.Random(seed)
    tally = Tally()
    async with SimulatedDevice() as device:
        pty = await device.serve_pty()
        port = serial.Serial(pty.path, timeout=0.2)
        try:
            while tally.bytes < total_bytes:
                chunk = mutate(rng) + (b"\x00" if rng.random() < 0.7 else b"")
                if rng.random() < 0.5:
                    chunk = encode_stream(chunk) if len(chunk) <= 20 else chunk
                await asyncio.to_thread(port.write, chunk)  # the device reads on this loop: never block it
                tally.inputs += 1
                tally.bytes += len(chunk)
                if tally.inputs % 200 == 0:
                    port.reset_input_buffer()
            port.reset_input_buffer()
            await asyncio.to_thread(port.write, b"\x00" + encode_stream(encode_message(GetStatus(), 77)))
            decoder = StreamDecoder()
            deadline = time.monotonic() + 2
            answers: list[Frame] = []
            while time.monotonic() < deadline and not any(f.seq == 77 for f in answers):
                answers += decoder.feed(await asyncio.to_thread(port.read, 64))
            assert any(f.seq == 77 and isinstance(decode_message(f), Ack) for f in answers)
            tally.outcomes["frames the device received"] = device.state.frames_received
            tally.outcomes["frames it dropped"] = device.state.frames_dropped
            tally.outcomes["NACKs it sent"] = device.state.nacks_sent
        finally:
            port.close()
    return tally


def test_codec_survives_fuzzing() -> None:
    tally = fuzz_codec(20_000, seed=1)
    assert not tally.crashes, tally.crashes[:5]
    assert tally.outcomes["valid"] > 0 and tally.outcomes["BadCRC"] > 0 and tally.outcomes["BadPayload"] > 0


def test_firmware_survives_fuzzing() -> None:
    tally = fuzz_firmware(10_000, seed=2)
    assert not tally.crashes, tally.crashes[:5]
    assert tally.outcomes["Nack"] > 0


@pytest.mark.realtime
async def test_device_survives_fuzzing_through_the_pty() -> None:
    tally = await fuzz_pty(30_000, seed=3)
    assert not tally.crashes
    assert tally.outcomes["frames it dropped"] + tally.outcomes["NACKs it sent"] > 0


def main() -> int:
    parser = argparse.ArgumentParser(description="fuzz the codec and the simulator's firmware")
    parser.add_argument("--inputs", type=int, default=200_000)
    parser.add_argument("--pty-bytes", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    crashes = 0
    for title, run in (("codec", fuzz_codec), ("firmware", fuzz_firmware)):
        start = time.perf_counter()
        tally = run(args.inputs, args.seed)
        print(tally.report(title, time.perf_counter() - start))
        crashes += len(tally.crashes)
    start = time.perf_counter()
    tally = asyncio.run(fuzz_pty(args.pty_bytes, args.seed))
    print(tally.report("pseudo-terminal", time.perf_counter() - start))
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
