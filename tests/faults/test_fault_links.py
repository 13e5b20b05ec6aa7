"""Link faults over real links, in every session phase, on real time.

The session clock runs 300 times faster (as ``sim://?speed=300`` would) so every phase
is reached in about a second, while answers, heartbeats and the device's watchdog stay
on real time, as they do for a person.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from medctl.client import DeviceClient
from medctl.clock import ScaledClock
from medctl.history import HistoryStore
from medctl.session import EndReason, Phase, SessionPlan
from medctl.session.engine import Session
from medctl.testing import ALL_CLEAR
from medctl.transport.base import Transport
from medctl.transport.serial import SerialTransport
from medctl.transport.tcp import TcpTransport
from simulator import SimulatedDevice

pytestmark = pytest.mark.realtime

SPEED = 300.0
WATCHDOG_S = 3.0
SAFE = ALL_CLEAR  # the shared all-clear safety check (medctl.testing)
PHASE_AT = {"warm_up": 20.0, "massage": 90.0, "step_down": 285.0, "paused": 90.0}


async def reach(session: Session, phase: str) -> None:
    """Wait (session time) until *phase*; pause for "paused"."""
    async with asyncio.timeout(5):
        while session.massage_s < PHASE_AT[phase]:
            await asyncio.sleep(0.01)
    if phase == "paused":
        await session.pause()
    expected = {"warm_up": Phase.WARM_UP, "massage": Phase.MASSAGE, "step_down": Phase.STEP_DOWN}
    assert session.phase is expected.get(phase, Phase.PAUSED)


@asynccontextmanager
async def running_session(transport: Transport, history: HistoryStore) -> AsyncIterator[tuple[DeviceClient, Session]]:
    client = DeviceClient(transport, clock=ScaledClock(SPEED))
    await client.open()
    session = client.session(
        SessionPlan(minutes=5, heat=True), safety=SAFE, history=history, reconnect_backoff_s=(0.2, 0.4)
    )
    try:
        await session.begin()
        yield client, session
    finally:
        if not session.done:
            await session.stop()
        await session._cancel_tasks()
        await client.close()


Endpoint = Callable[[SimulatedDevice], Awaitable[tuple[Transport, Callable[[], None]]]]


async def serial_port_vanishes(device: SimulatedDevice) -> tuple[Transport, Callable[[], None]]:
    pty = await device.serve_pty()
    return SerialTransport(pty.path), pty.close


async def tcp_connection_closed(device: SimulatedDevice) -> tuple[Transport, Callable[[], None]]:
    tcp = await device.serve_tcp()
    return TcpTransport(tcp.host, tcp.port), device.faults.drop_links


@pytest.mark.parametrize("phase", list(PHASE_AT))
async def test_serial_port_vanishes(phase: str, tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as history:
        async with SimulatedDevice() as device:
            transport, break_link = await serial_port_vanishes(device)
            async with running_session(transport, history) as (_, session):
                await reach(session, phase)
                break_link()
                await device.wait_for(lambda s: not s.running and s.heat == 0, timeout=WATCHDOG_S + 0.5)
                record = await asyncio.wait_for(session.wait(), 5)
            assert record.end_reason is EndReason.LINK_LOST
            told = " ".join(record.notices)
            assert "link lost" in told and "could not reconnect" in told
        (stored,) = history.sessions()
        kinds = {e.kind for e in history.events(stored.id)}
    assert stored.state == "ended" and stored.end_reason == "link_lost" and "link_lost" in kinds


@pytest.mark.parametrize("phase", list(PHASE_AT))
async def test_tcp_connection_closed(phase: str, tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as history:
        async with SimulatedDevice() as device:
            transport, break_link = await tcp_connection_closed(device)
            async with running_session(transport, history) as (_, session):
                await reach(session, phase)
                break_link()
                await device.wait_for(lambda s: not s.running and s.heat == 0, timeout=WATCHDOG_S + 0.5)
                async with asyncio.timeout(5):
                    while not any("reconnected" in n for n in session.record.notices):
                        await asyncio.sleep(0.02)
                assert session.phase is Phase.INTERRUPTED and not device.state.running
                await session.resume()
                assert device.state.running and device.state.intensity == 1
                await session.stop()
        (stored,) = history.sessions()
        kinds = {e.kind for e in history.events(stored.id)}
    assert stored.state == "ended" and {"link_lost", "reconnected", "resume"} <= kinds
