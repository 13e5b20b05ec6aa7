"""The simulator's TCP endpoint under strangers: a cap that spares the owner, an idle timeout, one log line."""

from __future__ import annotations

import asyncio
import logging

import pytest

from firmware_protocol import (
    Ack,
    GetStatus,
    Heartbeat,
    Hello,
    StreamDecoder,
    decode_message,
    encode_message,
    encode_stream,
)
from simulator import SimulatedDevice
from simulator.tcp import SLICE_BYTES, STRANGER_BURST, STRANGER_BYTES_PER_S, TcpEndpoint

pytestmark = pytest.mark.realtime


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, message: object, seq: int) -> object:
    writer.write(encode_stream(encode_message(message, seq)))  # type: ignore[arg-type]
    decoder = StreamDecoder()
    async with asyncio.timeout(5):
        while True:
            for frame in decoder.feed(await reader.read(256)):
                if frame.seq == seq:
                    return decode_message(frame)


async def closed(reader: asyncio.StreamReader) -> bool:
    async with asyncio.timeout(5):
        while await reader.read(256):
            pass
    return True


async def test_beyond_the_cap_the_quietest_stranger_goes_never_the_owner(caplog: pytest.LogCaptureFixture) -> None:
    async with SimulatedDevice() as device:
        endpoint = await TcpEndpoint.start(device.firmware, device.faults, "127.0.0.1", 0, max_connections=3)
        try:
            owner = await asyncio.open_connection(endpoint.host, endpoint.port)
            assert isinstance(await answer(*owner, Hello(1, 3, 7), 1), Ack)
            strangers = [await asyncio.open_connection(endpoint.host, endpoint.port) for _ in range(2)]
            await asyncio.sleep(0.05)
            with caplog.at_level(logging.WARNING, logger="simulator.tcp"):
                for _ in range(20):  # a burst of newcomers
                    strangers.append(await asyncio.open_connection(endpoint.host, endpoint.port))
                    await asyncio.sleep(0.01)
            assert endpoint.connections == 3 and endpoint.evicted == 20
            assert await closed(strangers[0][0])  # the quietest stranger made room
            assert isinstance(await answer(*owner, Heartbeat(), 2), Ack)  # the owner was never evicted
            assert isinstance(await answer(*strangers[-1], GetStatus(), 3), Ack)  # the newest is served
            lines = [r for r in caplog.records if r.name == "simulator.tcp"]
            assert len(lines) == 1 and "closing the quietest" in lines[0].getMessage() and not lines[0].exc_info
            for _, writer in [owner, *strangers]:
                writer.close()
        finally:
            endpoint.close()


async def test_an_idle_connection_is_closed_with_one_line(caplog: pytest.LogCaptureFixture) -> None:
    async with SimulatedDevice() as device:
        endpoint = await TcpEndpoint.start(device.firmware, device.faults, "127.0.0.1", 0, idle_timeout_s=0.3)
        try:
            with caplog.at_level(logging.INFO, logger="simulator.tcp"):
                idle_reader, idle_writer = await asyncio.open_connection(endpoint.host, endpoint.port)
                busy = await asyncio.open_connection(endpoint.host, endpoint.port)
                for seq in range(8):  # every 0.1 s: never idle
                    assert isinstance(await answer(*busy, GetStatus(), seq), Ack)
                    await asyncio.sleep(0.1)
                assert await closed(idle_reader)
            assert endpoint.connections == 1
            lines = [r.getMessage() for r in caplog.records if r.name == "simulator.tcp"]
            assert len(lines) == 1 and "nothing received for" in lines[0]
            idle_writer.close()
            busy[1].close()
        finally:
            endpoint.close()


async def test_a_stranger_is_read_on_a_budget_and_the_owner_is_not() -> None:
    async with SimulatedDevice() as device:
        endpoint = await TcpEndpoint.start(device.firmware, device.faults, "127.0.0.1", 0)
        try:
            owner = await asyncio.open_connection(endpoint.host, endpoint.port)
            assert isinstance(await answer(*owner, Hello(1, 3, 7), 1), Ack)
            _, stranger = await asyncio.open_connection(endpoint.host, endpoint.port)
            packet = encode_stream(encode_message(GetStatus(), 9))
            stranger.write(packet * 20_000)  # 160 kB at once
            loop = asyncio.get_running_loop()
            before, started = device.state.frames_received, loop.time()
            await asyncio.sleep(0.5)
            read, elapsed = device.state.frames_received - before, loop.time() - started
            allowed = (STRANGER_BURST + SLICE_BYTES + STRANGER_BYTES_PER_S * elapsed) / len(packet)
            assert 0 < read <= allowed + 1  # the budget for the time that really passed, not 20 000
            assert isinstance(await answer(*owner, Heartbeat(), 2), Ack)
            stranger.close()
            owner[1].close()
        finally:
            endpoint.close()
