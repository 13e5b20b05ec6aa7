"""The control loop wakes when something is due or happens, never on a fixed tick.

Against an in-memory massager that acknowledges every command at once, on the virtual loop
clock, so every time below is exact virtual time and costs no wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import pytest

from medctl.clock import DUE_MARGIN_S
from medctl.devices import ALL_FAULTS, Capabilities, DeviceStatus, FaultFlag, FaultReport
from medctl.errors import ConnectionLost
from medctl.session import NO_HISTORY, EndReason, Phase, Session, SessionPlan
from medctl.testing import ALL_CLEAR

pytestmark = pytest.mark.looptime


class InMemoryMassager:
    """Every command acknowledged at once; statuses only when the test pushes one."""

    description = "in-memory massager"
    identity = None
    simulated = True
    status = None

    def __init__(self, *, heartbeat_s: float | None) -> None:
        self.capabilities = Capabilities(
            intensity_levels=5, heat_levels=2, battery=False, watchdog_s=None if heartbeat_s is None else 3.0
        )
        self.heartbeat_s = heartbeat_s
        self.fed: list[float] = []
        self.running = False
        self._status: list[Callable[[DeviceStatus], None]] = []
        self._lost = asyncio.Event()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        yield

    def end(self) -> None:
        pass

    async def start(self, level: int = 1) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False

    async def set_intensity(self, level: int) -> None:
        pass

    async def set_heat(self, level: int) -> None:
        pass

    async def set_mode(self, mode: str) -> None:
        raise ValueError(mode)

    async def clear_faults(self, faults: FaultFlag = ALL_FAULTS) -> None:
        pass

    def on_status(self, listener: Callable[[DeviceStatus], None]) -> Callable[[], None]:
        self._status.append(listener)
        return lambda: self._status.remove(listener)

    def on_fault(self, listener: Callable[[FaultReport], None]) -> Callable[[], None]:
        return lambda: None

    def push(self, status: DeviceStatus) -> None:
        for listener in list(self._status):
            listener(status)

    async def keepalive(self) -> float | None:
        if self.heartbeat_s is None:
            return None
        now = asyncio.get_running_loop().time()
        if not self.fed or now >= self.fed[-1] + self.heartbeat_s:
            self.fed.append(now)
        return self.fed[-1] + self.heartbeat_s

    async def wait_lost(self) -> ConnectionLost:
        await self._lost.wait()
        return ConnectionLost("gone")

    async def reconnect(self) -> DeviceStatus:
        raise ConnectionLost("gone")


def count_rounds(session: Session) -> list[float]:
    """The loop times at which the control loop acted (each round runs _tick once)."""
    rounds: list[float] = []
    tick = session._tick

    async def counted() -> None:
        rounds.append(asyncio.get_running_loop().time())
        await tick()

    session._tick = counted  # type: ignore[method-assign]
    return rounds


async def test_with_nothing_happening_the_loop_wakes_once_for_each_second_shown() -> None:
    massager = InMemoryMassager(heartbeat_s=None)
    async with Session(massager, SessionPlan(minutes=5), safety=ALL_CLEAR, history=NO_HISTORY) as session:
        rounds = count_rounds(session)
        await asyncio.sleep(30.0)
        assert 29 <= len(rounds) <= 31  # a 0.25 s tick would have been 120
        await session.stop()


async def test_the_warm_up_ends_on_time_and_not_a_tick_later() -> None:
    massager = InMemoryMassager(heartbeat_s=None)
    loop = asyncio.get_running_loop()
    async with Session(massager, SessionPlan(minutes=5), safety=ALL_CLEAR, history=NO_HISTORY) as session:
        began = loop.time()
        async for update in session.updates():
            if update.phase is Phase.MASSAGE:
                break
        assert loop.time() - began == pytest.approx(60.0, abs=2 * DUE_MARGIN_S)
        await session.stop()


async def test_a_heartbeat_goes_when_it_is_due_however_the_seconds_fall() -> None:
    massager = InMemoryMassager(heartbeat_s=0.7)  # out of step with the once-a-second display
    async with Session(massager, SessionPlan(minutes=5), safety=ALL_CLEAR, history=NO_HISTORY) as session:
        await asyncio.sleep(20.0)
        gaps = [later - earlier for earlier, later in zip(massager.fed, massager.fed[1:], strict=False)]
        assert len(gaps) >= 25 and max(gaps) == pytest.approx(0.7, abs=2 * DUE_MARGIN_S)
        await session.stop()


async def test_a_status_wakes_the_loop_at_once() -> None:
    massager = InMemoryMassager(heartbeat_s=None)
    loop = asyncio.get_running_loop()
    async with Session(massager, SessionPlan(minutes=5), safety=ALL_CLEAR, history=NO_HISTORY) as session:
        await asyncio.sleep(10.4)  # between two displayed seconds
        pushed = loop.time()
        massager.push(DeviceStatus(running=False, intensity=1, heat=0, pad_temp_c=30.0, owned=True, received_at=pushed))
        record = await session.wait()
        assert record.end_reason is EndReason.STOPPED  # stopped at its own button
        assert loop.time() == pytest.approx(pushed)  # at once, not at the next second or tick


async def test_a_new_reading_while_running_is_shown_at_once_without_a_round() -> None:
    """A device sends STATUS once a second; one that only brings a new pad temperature has nothing
    for the loop to act on (a round acts on a motor reported off, or on faults)."""
    massager = InMemoryMassager(heartbeat_s=None)
    loop = asyncio.get_running_loop()
    async with Session(massager, SessionPlan(minutes=5, heat=True), safety=ALL_CLEAR, history=NO_HISTORY) as session:
        await asyncio.sleep(10.4)
        rounds = count_rounds(session)
        shown: list[float | None] = []
        session._subscribers.append(lambda update: shown.append(update.pad_temp_c))

        def push(temp: float, faults: FaultFlag = FaultFlag.NONE) -> None:
            massager.push(DeviceStatus(running=True, intensity=1, heat=1, pad_temp_c=temp, faults=faults,
                                       owned=True, received_at=loop.time()))  # fmt: skip

        push(30.0)  # the first status of all is acted on: nothing to compare it with
        await asyncio.sleep(0.01)
        rounds.clear()
        shown.clear()
        push(31.0)
        push(32.5)
        assert shown == [31.0, 32.5]  # shown at once, in the listener's own call
        await asyncio.sleep(0.01)
        assert rounds == []  # and no round woken for them
        push(33.0, FaultFlag.OVER_TEMPERATURE)
        await asyncio.sleep(0.01)
        assert len(rounds) == 1  # a fault in a status is for the loop to act on
        await session.stop()


async def test_an_action_wakes_the_loop_for_what_it_made_due() -> None:
    massager = InMemoryMassager(heartbeat_s=None)
    plan = SessionPlan(minutes=5, pause_limit_s=5.5)
    loop = asyncio.get_running_loop()
    async with Session(massager, plan, safety=ALL_CLEAR, history=NO_HISTORY) as session:
        await asyncio.sleep(20.3)
        await session.pause()
        paused = loop.time()
        record = await session.wait()
        assert record.end_reason is EndReason.PAUSE_TIMEOUT
        assert loop.time() - paused == pytest.approx(5.5, abs=2 * DUE_MARGIN_S)
