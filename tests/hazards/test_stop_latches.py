"""R6: a STOP latches. It is injected at every await point of begin, resume, reconnect, the
climb and the step-down; after each, motor and heat are off on the device and the session is done.

The session's handle on the massager is wrapped so that its N-th command (start, set
intensity, set heat, clear faults, reconnect, stop) first lets ``session.stop()`` in — either
before the command goes out or while it is on its way, or on its way and the session's block is
left at once (cancelling its background tasks) — for N = 1, 2, … until the operation
runs to its end without reaching N. So every interleaving of a STOP with the operation's own
awaits is tried, not one lucky timing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from medctl.client import DeviceClient
from medctl.errors import MedctlError
from medctl.session import NO_HISTORY, EndReason, Phase, Session, SessionPlan
from medctl.testing import ALL_CLEAR, simulated_massager, until_massage
from simulator import SimulatedDevice

pytestmark = pytest.mark.looptime

COMMANDS = frozenset({"start", "set_intensity", "set_heat", "clear_faults", "reconnect", "stop"})
Mode = Literal["before", "during", "exit"]
#: Long enough for anything still on its way to land, and for the device's watchdog (3 s) to fire.
SETTLE_S = 5.0


@dataclass
class StopAtAwait:
    """Wraps the session's massager handle; its N-th command lets a STOP in (once)."""

    inner: Any
    session: Session
    at: int
    mode: Mode
    armed: bool = False
    count: int = 0
    stop_task: asyncio.Task[object] | None = None
    log: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if name not in COMMANDS:
            return value
        return self._wrap(name, value)

    def _wrap(self, name: str, call: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[Any]]:
        async def wrapped(*args: Any) -> Any:
            if not self.armed or self.stop_task is not None:
                return await call(*args)
            self.count += 1
            if self.count != self.at:
                return await call(*args)
            self.log.append(f"{self.mode} {name}{args}")
            if self.mode == "before":
                self.stop_task = asyncio.create_task(self.session.stop())
                await asyncio.sleep(0)  # the STOP gets going first
                return await call(*args)
            command = asyncio.ensure_future(call(*args))
            await asyncio.sleep(0)  # the command is on its way
            self.stop_task = asyncio.create_task(self._stop_and_leave() if self.mode == "exit" else self.session.stop())
            return await command

        return wrapped

    async def _stop_and_leave(self) -> None:
        """STOP, then leave the session's block at once: its background tasks are cancelled."""
        await self.session.stop()
        await self.session.__aexit__(None, None, None)


Operation = Callable[[SimulatedDevice, DeviceClient, Session, StopAtAwait], Awaitable[None]]


async def op_begin(device: SimulatedDevice, client: DeviceClient, session: Session, probe: StopAtAwait) -> None:
    probe.armed = True
    await session.begin()


async def op_resume(device: SimulatedDevice, client: DeviceClient, session: Session, probe: StopAtAwait) -> None:
    await session.begin()
    await until_massage(session, 70)
    await session.pause()
    await asyncio.sleep(10)
    probe.armed = True
    await session.resume()


async def op_reconnect(device: SimulatedDevice, client: DeviceClient, session: Session, probe: StopAtAwait) -> None:
    await session.begin()
    await until_massage(session, 20)
    probe.armed = True
    device.faults.drop_links()
    await asyncio.sleep(0.1)
    assert session.phase in (Phase.INTERRUPTED, Phase.DONE)
    while not session.done and not any("reconnected" in n for n in session.record.notices):
        await asyncio.sleep(0.1)


async def op_climb(device: SimulatedDevice, client: DeviceClient, session: Session, probe: StopAtAwait) -> None:
    await session.begin()
    await until_massage(session, 59)
    probe.armed = True
    await until_massage(session, 105)


async def op_step_down(device: SimulatedDevice, client: DeviceClient, session: Session, probe: StopAtAwait) -> None:
    await session.begin()
    await until_massage(session, 268)
    probe.armed = True
    await session.wait()


OPERATIONS: dict[str, Operation] = {
    "begin": op_begin,
    "resume": op_resume,
    "reconnect": op_reconnect,
    "climb": op_climb,
    "step_down": op_step_down,
}


async def run_once(operation: Operation, at: int, mode: Mode) -> StopAtAwait:
    """One run with the STOP at the *at*-th command; asserts the device and the session are off."""
    async with simulated_massager() as (device, client):
        plan = SessionPlan(minutes=5, heat=True, target_intensity=3)
        session = client.session(plan, safety=ALL_CLEAR, history=NO_HISTORY, reconnect_backoff_s=(0.5, 1.0))
        probe = StopAtAwait(session._massager, session, at, mode)
        session._massager = probe
        try:
            await operation(device, client, session, probe)
        except MedctlError:
            assert probe.stop_task is not None, "only the injected STOP may make the operation fail"
        if probe.stop_task is None:
            await session.stop()
            await session.__aexit__(None, None, None)
            return probe
        await probe.stop_task
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(SETTLE_S)
        state = device.state
        where = f"STOP {probe.log}"
        assert session.done and session.phase is Phase.DONE, where
        # a STOP that lands on the ending's own STOP (the planned end) leaves that ending's reason
        ending = probe.log[-1].endswith("stop()")
        assert session.record.end_reason is EndReason.STOPPED or ending, where
        assert not state.running, f"{where}: the motor runs"
        assert state.heat == 0, f"{where}: the heater is at {state.heat}"
        assert session.heat == 0 and session.snapshot().phase is Phase.DONE
        await session.__aexit__(None, None, None)
    return probe


@pytest.mark.parametrize("mode", ["before", "during", "exit"])
@pytest.mark.parametrize("name", sorted(OPERATIONS))
async def test_a_stop_at_every_await_point_leaves_motor_and_heat_off(name: str, mode: Mode) -> None:
    operation = OPERATIONS[name]
    injected = 0
    for at in range(1, 40):
        probe = await run_once(operation, at, mode)
        if probe.stop_task is None:
            break
        injected += 1
    else:
        pytest.fail(f"{name} still reached a command after 40 injections")
    assert injected >= 1, f"{name} has no await point to inject a STOP at"


async def test_a_stop_between_start_and_heat_keeps_the_heater_off() -> None:
    """Finding 1: begin() sent START, then SET_HEAT as a new command after a STOP between them."""
    probe = await run_once(op_begin, at=2, mode="before")
    assert probe.log == ["before set_heat(1,)"]


async def test_a_stop_during_resume_ends_done_not_warm_up() -> None:
    """Finding 1, resume: a STOP while resuming left the phase reading warm-up, the heater on."""
    probe = await run_once(op_resume, at=1, mode="during")
    assert probe.log == ["during start(1,)"]
