"""The authenticated channel over real links (SPEC.md §11): a pseudo-terminal through pyserial, and TCP.

medctl pairs and signs through its serial transport; plain pyserial plays the stranger, the
replaying and the forging peer. The device must refuse all three, answer an honest retry from
its memory, and let the paired controller's STOP through while a flood of bad frames arrives.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import serial

from firmware_protocol import (
    Ack,
    AuthFailure,
    ErrorCode,
    Frame,
    Hello,
    Message,
    Nack,
    Replay,
    Request,
    SetHeat,
    SetIntensity,
    Start,
    Stop,
    StreamDecoder,
    crc16,
    decode_message,
    encode_message,
    encode_stream,
)
from firmware_protocol.auth import seal
from medctl import AuthenticationRefused, KeyStore, connect, pair
from medctl.keys import PairedKey
from simulator import DeviceConfig, SimulatedDevice

pytestmark = pytest.mark.realtime

CODE = "7KQM-3XHP"


@dataclass
class Served:
    device: SimulatedDevice
    path: str
    keys: KeyStore

    @property
    def url(self) -> str:
        return f"serial://{self.path}"

    async def pair(self) -> PairedKey:
        return await pair(self.url, CODE, keys=self.keys)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with SimulatedDevice(DeviceConfig(pairing_code=CODE)) as device:
        pty = await device.serve_pty()
        yield Served(device, pty.path, KeyStore(tmp_path / "keys.json"))


class RawPeer:
    """Plain pyserial on the device's pseudo-terminal: sends any frame, reads the answers."""

    def __init__(self, path: str) -> None:
        self.port = serial.Serial(path, timeout=0.02)
        self.decoder = StreamDecoder()
        self.port.write(b"\x00")

    def close(self) -> None:
        self.port.close()

    def send(self, frame: bytes) -> None:
        self.port.write(encode_stream(frame))

    async def answer(self, seq: int, timeout: float = 1.0) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.decoder.feed(await asyncio.to_thread(self.port.read, 256)):
                message = decode_message(frame)
                if frame.seq == seq and isinstance(message, Ack | Nack):
                    return message
        raise AssertionError(f"no answer with seq {seq}")

    async def exchange(self, frame: bytes) -> Message:
        self.send(frame)
        return await self.answer(Frame.loads(frame).seq)


@pytest.fixture
def peer(served: Served) -> Iterator[RawPeer]:
    raw = RawPeer(served.path)
    yield raw
    raw.close()


class Signing:
    """Frames signed as the paired controller would sign them, counter by counter."""

    def __init__(self, record: PairedKey, first_counter: int = 1) -> None:
        self.record = record
        self.counter = itertools.count(first_counter)
        self.seq = itertools.count(10)

    def frame(self, message: Request, key: bytes | None = None) -> bytes:
        return seal(message, next(self.seq) & 0xFF, key or self.record.key, next(self.counter))

    def hello(self) -> bytes:
        return self.frame(Hello(2, 2, self.record.controller_id))


# --- pairing, strangers, replays, forgeries, retries -------------------------------------------------


async def test_pairing_then_a_signed_session(served: Served) -> None:
    record = await served.pair()
    stored = served.keys.path.stat().st_mode & 0o777
    async with connect(served.url, keys=served.keys) as massager:
        assert massager.authenticated and massager.controller_id == record.controller_id
        await massager.raw().start(1)
        await massager.raw().set_intensity(3)
        assert served.device.state.running and served.device.state.intensity == 3
        await massager.stop()
    state = served.device.state
    assert stored == 0o600 and not state.running and not state.owned
    assert (state.auth_required, state.auth_failed, state.replayed) == (0, 0, 0)


async def test_an_unpaired_controller_is_refused(served: Served, peer: RawPeer, tmp_path: Path) -> None:
    await served.pair()
    with pytest.raises(AuthenticationRefused, match="pair with it first"):
        async with connect(served.url, keys=KeyStore(tmp_path / "strangers-keys.json")):
            pass
    assert await peer.exchange(encode_message(Hello(1, 2, 99), 1)) == Nack(Hello.TYPE, ErrorCode.AUTH_REQUIRED)
    assert await peer.exchange(encode_message(Start(5), 2)) == Nack(Start.TYPE, ErrorCode.AUTH_REQUIRED)
    state = served.device.state
    assert not state.owned and not state.running and state.auth_required == 3


async def test_a_replayed_frame_is_refused(served: Served, peer: RawPeer) -> None:
    signing = Signing(await served.pair())
    assert isinstance(await peer.exchange(signing.hello()), Ack)
    start = signing.frame(Start(1))
    assert isinstance(await peer.exchange(start), Ack)
    assert isinstance(await peer.exchange(signing.frame(Stop())), Ack)
    assert await peer.exchange(start) == Nack(Start.TYPE, ErrorCode.REPLAYED, Replay.OLDER)
    assert not served.device.state.running and served.device.state.replayed == 1


async def test_a_forged_mac_is_refused(served: Served, peer: RawPeer) -> None:
    signing = Signing(await served.pair())
    assert isinstance(await peer.exchange(signing.hello()), Ack)
    body = bytearray(signing.frame(Start(5))[:-2])
    body[-1] ^= 0x40  # one bit of the tag; the CRC is made right again
    forged = bytes(body) + crc16(bytes(body)).to_bytes(2, "big")
    assert await peer.exchange(forged) == Nack(Start.TYPE, ErrorCode.AUTH_FAILED, AuthFailure.BAD_TAG)
    other_key = signing.frame(SetHeat(2), key=secrets.token_bytes(32))
    assert await peer.exchange(other_key) == Nack(SetHeat.TYPE, ErrorCode.AUTH_FAILED, AuthFailure.BAD_TAG)
    state = served.device.state
    assert not state.running and state.heat == 0 and state.auth_failed == 2


async def test_a_retry_of_the_same_frame_is_answered_from_memory(served: Served, peer: RawPeer) -> None:
    signing = Signing(await served.pair())
    assert isinstance(await peer.exchange(signing.hello()), Ack)
    start = signing.frame(Start(1))
    first = await peer.exchange(start)
    executed = served.device.state.requests_executed
    again = await peer.exchange(start)  # the answer was lost; same seq, same bytes
    state = served.device.state
    assert isinstance(first, Ack) and again == first
    assert state.duplicates == 1 and state.requests_executed == executed and state.replayed == 0
    assert state.running and state.intensity == 1


# --- STOP through a flood ----------------------------------------------------------------------------


def bad_frames(record: PairedKey) -> list[bytes]:
    """Forged, replayed and unauthenticated requests (never a STOP), and noise: what a flood repeats."""
    wrong = secrets.token_bytes(32)
    frames = [
        seal(Start(5), 1, wrong, 1_000_000),
        seal(SetHeat(2), 2, wrong, 1_000_001),
        seal(Hello(2, 2, record.controller_id), 3, wrong, 1_000_002),  # take over the owner's id
        seal(Start(5), 4, record.key, 1),  # replays of counters long used
        seal(SetIntensity(5), 5, record.key, 2),
        seal(Hello(2, 2, record.controller_id), 6, record.key, 3),
        encode_message(Start(5), 7),
        encode_message(SetHeat(2), 8),
    ]
    return [encode_stream(frame) for frame in frames] + [b"\x13\x37noise\xff\x00"]


@contextmanager
def flooding(
    write: Callable[[bytes], object], packets: list[bytes], per_batch: int = 20, pause_s: float = 0.01
) -> Iterator[None]:
    """Write *packets* over and over from a thread (about 2000 per second) for the length of the block."""
    stop = threading.Event()
    batch = b"".join(itertools.islice(itertools.cycle(packets), per_batch))

    def run() -> None:
        while not stop.is_set():
            try:
                write(batch)
            except OSError:
                return
            time.sleep(pause_s)

    thread = threading.Thread(target=run, name="flood", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(2)


Flood = Callable[[PairedKey], AbstractContextManager[None]]


async def stop_through_flood(served: Served, start_flood: Flood) -> None:
    """Run a signed session, start the flood, STOP: it gets through (its latency is in bench/)."""
    record = await served.pair()
    device = served.device
    async with connect(served.url, keys=served.keys) as massager:
        await massager.raw().start(1)
        await massager.raw().set_heat(1)
        with start_flood(record):
            refused = device.state.auth_failed + device.state.replayed + device.state.auth_required
            await device.wait_for(lambda s: s.auth_failed + s.replayed + s.auth_required > refused + 200, timeout=1)
            assert device.state.running
            await massager.stop()
            assert not device.state.running and device.state.heat == 0
            await asyncio.sleep(0.2)  # the flood goes on; nothing in it may switch the motor back on
            assert not device.state.running and device.state.owner == record.controller_id


async def test_the_paired_stop_gets_through_a_flood_on_the_same_serial_line(served: Served) -> None:
    rogue = serial.Serial(served.path, timeout=0)  # a second writer on the same line, opened first

    @contextmanager
    def flood(record: PairedKey) -> Iterator[None]:
        with flooding(rogue.write, bad_frames(record)):
            yield

    try:
        await stop_through_flood(served, flood)
    finally:
        rogue.close()


async def test_the_paired_stop_gets_through_a_flood_from_another_link(served: Served) -> None:
    tcp = await served.device.serve_tcp()
    attacker = socket.create_connection((tcp.host, tcp.port))

    @contextmanager
    def flood(record: PairedKey) -> Iterator[None]:
        with flooding(attacker.sendall, bad_frames(record)):
            yield

    try:
        await stop_through_flood(served, flood)
    finally:
        attacker.close()
