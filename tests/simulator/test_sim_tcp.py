"""The device on a TCP port, driven with plain sockets (asyncio streams) on wall-clock time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from firmware_protocol import (
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
    decode_message,
    encode_message,
    encode_stream,
)
from simulator import SimulatedDevice, TcpEndpoint

pytestmark = pytest.mark.realtime


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.decoder = StreamDecoder()
        self.pending: list[Frame] = []

    @classmethod
    async def connect(cls, endpoint: TcpEndpoint) -> Client:
        return cls(*await asyncio.open_connection(endpoint.host, endpoint.port))

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    def send(self, message: Request, seq: int) -> None:
        self.write(encode_stream(encode_message(message, seq)))

    async def frame(self, timeout: float = 1.0) -> Frame:
        async with asyncio.timeout(timeout):
            while not self.pending:
                chunk = await self.reader.read(256)
                if not chunk:
                    raise ConnectionError("closed by the device")
                self.pending.extend(self.decoder.feed(chunk))
        return self.pending.pop(0)

    async def answer(self, seq: int, timeout: float = 1.0) -> Message:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frame(timeout)
                message = decode_message(frame)
                if frame.seq == seq and isinstance(message, Ack | Nack):
                    return message


@pytest.fixture
async def served() -> AsyncIterator[tuple[SimulatedDevice, TcpEndpoint]]:
    async with SimulatedDevice() as device:
        yield device, await device.serve_tcp()


async def test_hello_is_acked(served: tuple[SimulatedDevice, TcpEndpoint]) -> None:
    device, endpoint = served
    assert endpoint.host == "127.0.0.1" and endpoint.port > 0
    client = await Client.connect(endpoint)
    client.send(Hello(1, 1, 11), 0)
    assert isinstance(await client.answer(0), Ack)
    assert device.state.owner == 11
    await client.close()


async def test_garbage_and_a_corrupted_frame_do_not_hide_the_next_frame(
    served: tuple[SimulatedDevice, TcpEndpoint],
) -> None:
    device, endpoint = served
    client = await Client.connect(endpoint)
    corrupted = bytearray(encode_message(GetStatus(), 1))
    corrupted[-1] ^= 0x01
    client.write(b"noise\x00\xff\xff\xff" + encode_stream(bytes(corrupted)))
    client.send(GetStatus(), 2)
    frame = await client.frame()
    assert frame.seq == 2 and isinstance(decode_message(frame), Ack)
    assert device.state.frames_dropped >= 2
    await client.close()


async def test_each_connection_is_its_own_link(served: tuple[SimulatedDevice, TcpEndpoint]) -> None:
    device, endpoint = served
    a, b = await Client.connect(endpoint), await Client.connect(endpoint)
    a.send(Hello(1, 1, 1), 0)
    await a.answer(0)
    b.send(Hello(1, 1, 2), 0)
    assert await b.answer(0) == Nack(MsgType.HELLO, ErrorCode.NOT_OWNER)
    assert endpoint.connections == 2 and device.state.links == 2
    await b.close()
    await device.wait_for(lambda s: s.links == 1, timeout=1)
    await a.close()


async def test_drop_links_closes_connections_and_the_owner_may_return(
    served: tuple[SimulatedDevice, TcpEndpoint],
) -> None:
    device, endpoint = served
    client = await Client.connect(endpoint)
    client.send(Hello(1, 1, 5), 0)
    await client.answer(0)
    device.faults.drop_links()
    with pytest.raises(ConnectionError):
        while True:
            await client.frame()
    assert device.state.owner == 5
    again = await Client.connect(endpoint)
    again.send(Hello(1, 1, 5), 0)
    assert isinstance(await again.answer(0), Ack)
    again.send(Start(1), 1)
    assert isinstance(await again.answer(1), Ack)
    await again.close()
    await client.close()


async def test_closing_the_endpoint_stops_listening(served: tuple[SimulatedDevice, TcpEndpoint]) -> None:
    _, endpoint = served
    endpoint.close()
    await endpoint.wait_closed()
    with pytest.raises(OSError):
        await asyncio.open_connection(endpoint.host, endpoint.port)
