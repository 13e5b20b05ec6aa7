"""The authenticated channel over real links (SPEC.md §11, §12): a pseudo-terminal through pyserial, and TCP.

medctl pairs and signs through its serial transport; plain pyserial plays the stranger, the
replaying and the forging peer. The device must refuse all three, answer an honest retry from
its memory, and let the paired controller's STOP through while a flood of bad frames arrives.
Over TCP, a recording relay harvests a whole signed session and plays it to the device again
on a new connection (refused), and a fake device claiming the real serial number gets nothing
signed from medctl.
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
    SessionBegin,
    SessionBeginResult,
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
from firmware_protocol.session import device_proof, session_key
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
        self.device.firmware.open_pairing_window()  # the pairing button
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
    """Frames signed as the paired controller would sign them on one connection, counter by counter."""

    def __init__(self, record: PairedKey) -> None:
        self.record = record
        self.counter = itertools.count(1)
        self.seq = itertools.count(10)
        self.key = b""

    async def begin(self, peer: RawPeer) -> Signing:
        """SESSION_BEGIN on *peer*'s connection: check the device's proof, keep the connection key."""
        nonce = secrets.token_bytes(8)
        answer = await peer.exchange(encode_message(SessionBegin(self.record.controller_id, nonce), 9))
        assert isinstance(answer, Ack), answer
        result = SessionBeginResult.from_bytes(answer.data)
        self.key = session_key(self.record.key, self.record.controller_id, nonce, result.nonce)
        assert device_proof(self.key, self.record.controller_id, nonce, result.nonce) == result.proof
        return self

    def frame(self, message: Request, key: bytes | None = None) -> bytes:
        return seal(message, next(self.seq) & 0xFF, key or self.key, next(self.counter))

    def hello(self) -> bytes:
        return self.frame(Hello(3, 3, self.record.controller_id))


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
    assert await peer.exchange(encode_message(Hello(1, 3, 99), 1)) == Nack(Hello.TYPE, ErrorCode.AUTH_REQUIRED)
    assert await peer.exchange(encode_message(Start(5), 2)) == Nack(Start.TYPE, ErrorCode.AUTH_REQUIRED)
    state = served.device.state
    assert not state.owned and not state.running and state.auth_required == 3


async def test_a_replayed_frame_is_refused(served: Served, peer: RawPeer) -> None:
    signing = await Signing(await served.pair()).begin(peer)
    assert isinstance(await peer.exchange(signing.hello()), Ack)
    start = signing.frame(Start(1))
    assert isinstance(await peer.exchange(start), Ack)
    assert isinstance(await peer.exchange(signing.frame(Stop())), Ack)
    assert await peer.exchange(start) == Nack(Start.TYPE, ErrorCode.REPLAYED, Replay.OLDER)
    assert not served.device.state.running and served.device.state.replayed == 1


async def test_a_forged_mac_is_refused(served: Served, peer: RawPeer) -> None:
    signing = await Signing(await served.pair()).begin(peer)
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
    signing = await Signing(await served.pair()).begin(peer)
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
        seal(Hello(3, 3, record.controller_id), 3, wrong, 1_000_002),  # take over the owner's id
        seal(Start(5), 4, record.key, 1),  # signed with the pairing key itself, as version 2 did
        seal(SetIntensity(5), 5, record.key, 2),
        seal(Hello(3, 3, record.controller_id), 6, record.key, 3),
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
            await device.wait_for(lambda s: s.auth_failed + s.replayed + s.auth_required > refused + 50, timeout=5)
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


# --- harvesting: a relay that records, a fake device that collects ------------------------------------


class Relay:
    """A TCP relay between medctl and the device that keeps every byte medctl sends (a recording neighbour)."""

    def __init__(self, device_port: int) -> None:
        self.device_port = device_port
        self.recorded = bytearray()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.device_port)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, keep: bool) -> None:
            while data := await source.read(4096):
                if keep:
                    self.recorded += data
                sink.write(data)
            sink.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False), return_exceptions=True)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_harvested_session_is_refused_on_a_new_connection(served: Served) -> None:
    await served.pair()
    tcp = await served.device.serve_tcp()
    relay = Relay(tcp.port)
    port = await relay.start()
    try:
        async with connect(f"tcp://127.0.0.1:{port}", keys=served.keys) as massager:
            await massager.raw().start(1)
            await massager.raw().set_heat(1)
            await asyncio.sleep(1.5)  # a signed heartbeat or two
        assert not served.device.state.running and not served.device.state.owned
    finally:
        relay.close()
    frames = StreamDecoder().feed(bytes(relay.recorded))
    assert sum(f.version == 2 for f in frames) >= 4  # HELLO, START, SET_HEAT, heartbeats ...
    reader, writer = await asyncio.open_connection(tcp.host, tcp.port)  # ... played again, later
    try:
        for frame in frames:
            if frame.msg_type != Stop.TYPE:
                writer.write(encode_stream(bytes(frame)))
                await writer.drain()
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        answers = [decode_message(f) for f in StreamDecoder().feed(await reader.read(65536))]
    finally:
        writer.close()
    refused = [a for a in answers if isinstance(a, Nack)]
    assert refused and all(a.code in (ErrorCode.AUTH_FAILED, ErrorCode.HELLO_REQUIRED) for a in refused)
    state = served.device.state
    assert not state.running and state.heat == 0 and not state.owned


class FakeDevice:
    """Claims the real massager's serial number over TCP and keeps every frame it is sent."""

    def __init__(self, serial_number: str, answer_session: bool) -> None:
        self.serial_number = serial_number
        self.answer_session = answer_session
        self.received: list[Frame] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from firmware_protocol import GetInfo, HelloResult, InfoResult

        decoder = StreamDecoder()
        while data := await reader.read(4096):
            for frame in decoder.feed(data):
                self.received.append(frame)
                message = decode_message(frame)
                if isinstance(message, GetInfo):
                    answer: Message = Ack(message.TYPE, InfoResult(message.info, self.serial_number).to_bytes())
                elif isinstance(message, SessionBegin) and self.answer_session:
                    answer = Ack(message.TYPE, secrets.token_bytes(12))  # a nonce and a guessed proof
                elif isinstance(message, SessionBegin):
                    answer = Nack(message.TYPE, ErrorCode.UNKNOWN_TYPE)  # "an older device"
                elif isinstance(message, Hello):
                    answer = Ack(message.TYPE, HelloResult(3, 5, 2, 0, 3000).to_bytes())
                else:
                    answer = Ack(frame.msg_type)
                writer.write(encode_stream(bytes(answer.to_frame(frame.seq))))

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.mark.parametrize("answer_session", [True, False], ids=["guessed proof", "claims an older protocol"])
async def test_a_fake_device_claiming_the_serial_gets_no_signed_frame(served: Served, answer_session: bool) -> None:
    record = await served.pair()
    fake = FakeDevice(record.serial, answer_session)
    port = await fake.start()
    try:
        with pytest.raises(AuthenticationRefused, match="Nothing was sent signed"):
            async with connect(f"tcp://127.0.0.1:{port}", keys=served.keys):
                pass
    finally:
        fake.close()
    assert [f.msg_type for f in fake.received if f.version != 1] == []
    assert SessionBegin.TYPE in {f.msg_type for f in fake.received}
