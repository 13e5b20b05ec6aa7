"""The device on a real pseudo-terminal, driven with plain pyserial on wall-clock time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import serial

from firmware_protocol import (
    PROTOCOL_VERSION,
    Ack,
    ErrorCode,
    Frame,
    GetStatus,
    Hello,
    Message,
    MsgType,
    Nack,
    Request,
    Start,
    StreamDecoder,
    crc16,
    decode_message,
    encode_message,
    encode_stream,
)
from simulator import PtyEndpoint, SimulatedDevice

pytestmark = pytest.mark.realtime


class Client:
    """A controller's view of the port: plain pyserial, read in a worker thread."""

    def __init__(self, path: str) -> None:
        self.port = serial.Serial(path, timeout=0.05)
        self.decoder = StreamDecoder()

    def close(self) -> None:
        self.port.close()

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def send(self, message: Request, seq: int) -> None:
        self.write(encode_stream(encode_message(message, seq)))

    async def frames(self, seconds: float, stop_after: int | None = None) -> list[Frame]:
        """Frames received within *seconds* (or as soon as *stop_after* arrived)."""
        frames: list[Frame] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and (stop_after is None or len(frames) < stop_after):
            frames.extend(self.decoder.feed(await asyncio.to_thread(self.port.read, 256)))
        return frames

    async def answer(self, seq: int, timeout: float = 1.0) -> Message:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in await self.frames(0.1, stop_after=1):
                message = decode_message(frame)
                if frame.seq == seq and isinstance(message, Ack | Nack):
                    return message
        raise TimeoutError(f"no answer to seq {seq}")


@pytest.fixture
async def served() -> AsyncIterator[tuple[SimulatedDevice, PtyEndpoint]]:
    async with SimulatedDevice() as device:
        yield device, await device.serve_pty()


@pytest.fixture
async def client(served: tuple[SimulatedDevice, PtyEndpoint]) -> AsyncIterator[Client]:
    client = Client(served[1].path)
    yield client
    client.close()


async def test_hello_is_acked(served: tuple[SimulatedDevice, PtyEndpoint], client: Client) -> None:
    device, pty = served
    assert pty.path.startswith("/dev/")
    client.send(Hello(1, 1, 42), 9)
    answer = await client.answer(9)
    assert isinstance(answer, Ack) and answer.request is MsgType.HELLO
    assert device.state.owner == 42


async def test_garbage_and_a_corrupted_frame_do_not_hide_the_next_frame(
    served: tuple[SimulatedDevice, PtyEndpoint], client: Client
) -> None:
    device, _ = served
    corrupted = bytearray(encode_message(GetStatus(), 1))
    corrupted[2] ^= 0x10
    client.write(b"\x00\x13\x37 line noise \xff\x00" + encode_stream(bytes(corrupted)) + b"\x01\x02\x00")
    client.send(GetStatus(), 2)
    frames = await client.frames(1.0, stop_after=1)
    assert [f.seq for f in frames] == [2]
    assert device.state.frames_dropped >= 2


async def test_frames_split_into_single_bytes_are_reassembled(client: Client) -> None:
    for byte in encode_stream(encode_message(GetStatus(), 3)):
        client.write(bytes([byte]))
    assert isinstance(await client.answer(3), Ack)


async def test_unsupported_version_is_nacked(client: Client) -> None:
    frame = bytearray(encode_message(GetStatus(), 4))
    frame[0] = PROTOCOL_VERSION + 1
    body = bytes(frame[:-2])
    client.write(encode_stream(body + crc16(body).to_bytes(2, "big")))
    # the detail names the highest version the device speaks
    assert await client.answer(4) == Nack(MsgType.GET_STATUS, ErrorCode.UNSUPPORTED_VERSION, PROTOCOL_VERSION)


async def test_a_dropped_pty_goes_silent_then_returns_as_a_new_link(
    served: tuple[SimulatedDevice, PtyEndpoint], client: Client
) -> None:
    device, pty = served
    path = pty.path
    client.send(Hello(1, 1, 7), 1)
    await client.answer(1)
    device.faults.drop_links()
    client.send(GetStatus(), 2)
    assert await client.frames(0.3) == []
    device.faults.restore_links()
    assert pty.path == path
    client.send(Start(1), 3)
    assert await client.answer(3) == Nack(MsgType.START, ErrorCode.HELLO_REQUIRED)


async def test_the_port_can_be_closed_and_opened_again(served: tuple[SimulatedDevice, PtyEndpoint]) -> None:
    _, pty = served
    for seq in range(3):
        client = Client(pty.path)
        try:
            client.send(GetStatus(), seq)
            assert isinstance(await client.answer(seq), Ack)
        finally:
            client.close()


async def test_an_unread_port_never_blocks_the_device(served: tuple[SimulatedDevice, PtyEndpoint]) -> None:
    device, pty = served
    for _ in range(100):  # ~200 kB: far more than a pty buffers; a blocking write would hang here
        device.faults.inject_garbage(bytes(range(1, 256)) * 8)
    assert pty.dropped_writes > 0
    client = Client(pty.path)  # pyserial flushes the stale input on open
    try:
        client.send(GetStatus(), 5)
        assert isinstance(await client.answer(5), Ack)
    finally:
        client.close()
