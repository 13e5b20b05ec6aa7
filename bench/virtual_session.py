"""The session loop's cost: a 10-minute session on virtual time, and a real-time one on a core.

Virtual time: on a fast-forwarded loop (looptime), the session, the simulator, heartbeats and
status all run as they would over ten minutes. The baseline is the same loop running only
bare timers, one per second of session (the least a screen counting down the seconds needs),
with no work in them.

Real time: a 60-second session on ``sim://`` without any screen, its process CPU time (user +
system, ``os.times``) as a share of one core, next to the same 60 seconds of an idle loop.
The simulator runs in the same process, so its share is included.

    python -m bench.virtual_session            # both figures (the real-time one takes 60 s)
    python -m bench.virtual_session --virtual  # the virtual-time figure only
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

import looptime

import medctl
from medctl.clock import reached
from medctl.devices import ALL_FAULTS, Capabilities, DeviceStatus, FaultFlag, FaultReport, Massager
from medctl.errors import ConnectionLost
from medctl.session import NO_HISTORY, Session, SessionPlan
from medctl.testing import ALL_CLEAR, simulated_massager

#: Wall seconds the 10-minute virtual session may take (the issue's bound).
VIRTUAL_BOUND_S = 0.2
#: Share of one core a real-time session may take without a screen (the issue's bound).
CORE_BOUND = 0.01
REAL_TIME_S = 60.0


@dataclass(frozen=True)
class Figures:
    session_s: float
    engine_s: float
    baseline_s: float
    repeat: int


class _Acknowledging:
    """The least a massager can be: every command acknowledged at once, a 3 s watchdog fed once a
    second, no statuses. The session engine's own cost shows against it, without a simulator's."""

    description = "bench massager"
    identity = None
    simulated = True
    status = None
    capabilities = Capabilities(intensity_levels=5, heat_levels=2, battery=False, watchdog_s=3.0)

    def __init__(self) -> None:
        self._lost = asyncio.Event()
        self._fed = 0.0

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        yield

    def end(self) -> None:
        pass

    async def start(self, level: int = 1) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def set_intensity(self, level: int) -> None:
        pass

    async def set_heat(self, level: int) -> None:
        pass

    async def set_mode(self, mode: str) -> None:
        raise ValueError(mode)

    async def clear_faults(self, faults: FaultFlag = ALL_FAULTS) -> None:
        pass

    def on_status(self, listener: Callable[[DeviceStatus], None]) -> Callable[[], None]:
        return lambda: None

    def on_fault(self, listener: Callable[[FaultReport], None]) -> Callable[[], None]:
        return lambda: None

    async def keepalive(self) -> float | None:
        now = asyncio.get_running_loop().time()
        if reached(self._fed + 1.0, now):  # as the client does: a heartbeat asked for a hair early goes
            self._fed = now
        return self._fed + 1.0

    async def wait_lost(self) -> ConnectionLost:
        await self._lost.wait()
        return ConnectionLost("never")

    async def reconnect(self) -> DeviceStatus:
        raise ConnectionLost("never")


async def _engine_alone() -> None:
    plan = SessionPlan(minutes=10, heat=True, target_intensity=4)
    massager: Massager = _Acknowledging()
    async with Session(massager, plan, safety=ALL_CLEAR, history=NO_HISTORY) as session:
        await session.wait()


@dataclass(frozen=True)
class CpuFigures:
    seconds: float
    session_cpu_s: float
    idle_cpu_s: float

    @property
    def session_share(self) -> float:
        return self.session_cpu_s / self.seconds

    @property
    def idle_share(self) -> float:
        return self.idle_cpu_s / self.seconds


async def _session() -> None:
    async with simulated_massager() as (_, client):
        plan = SessionPlan(minutes=10, heat=True, target_intensity=4)
        async with client.session(plan, safety=ALL_CLEAR, history=NO_HISTORY) as session:
            await session.wait()


async def _bare_seconds() -> None:
    for _ in range(600):
        await asyncio.sleep(1.0)


def _once(coro_factory: Callable[[], Coroutine[Any, Any, None]]) -> float:
    loop = looptime.new_event_loop(start=0.0, noop_cycles=4)  # fast-forwards from the start
    try:
        started = time.perf_counter()
        loop.run_until_complete(coro_factory())
        return time.perf_counter() - started
    finally:
        loop.close()


def run(repeat: int = 5) -> Figures:
    """Each figure is the least of *repeat* runs (as ``timeit`` reports), the three kinds taken in
    turn, so that a busy spell of the machine falls on the baseline as much as on the session."""
    kinds = (_session, _engine_alone, _bare_seconds)
    _once(_session)  # the first run of all pays for imports and first-time caches: not counted
    best = [math.inf] * len(kinds)
    for _ in range(repeat):
        for index, kind in enumerate(kinds):
            best[index] = min(best[index], _once(kind))
    return Figures(session_s=best[0], engine_s=best[1], baseline_s=best[2], repeat=repeat)


def report(figures: Figures) -> str:
    verdict = "within" if figures.session_s <= VIRTUAL_BOUND_S else "OVER"
    return (
        f"{'10-minute session, virtual clock':<34}{'wall s':>9}{'ratio':>11}   (least of {figures.repeat} runs each)\n"
        f"{'bare loop, one timer a second':<34}{figures.baseline_s:>9.3f}{1:>10.2f}x\n"
        f"{'session engine alone':<34}{figures.engine_s:>9.3f}{figures.engine_s / figures.baseline_s:>10.2f}x"
        f"   ({'within' if figures.engine_s <= VIRTUAL_BOUND_S else 'OVER'} the {VIRTUAL_BOUND_S} s bound)\n"
        f"{'full guided session + simulator':<34}{figures.session_s:>9.3f}"
        f"{figures.session_s / figures.baseline_s:>10.2f}x   ({verdict} the {VIRTUAL_BOUND_S} s bound)"
    )


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


async def _real_session(seconds: float) -> None:
    async with medctl.connect("sim://") as massager:
        plan = SessionPlan(minutes=5, heat=True, target_intensity=3)
        async with massager.session(plan, safety=ALL_CLEAR, history=NO_HISTORY) as session:
            await asyncio.sleep(seconds)
            await session.stop()


def run_real_time(seconds: float = REAL_TIME_S) -> CpuFigures:
    started = _cpu()
    asyncio.run(asyncio.sleep(seconds))
    idle = _cpu() - started
    started = _cpu()
    asyncio.run(_real_session(seconds))
    return CpuFigures(seconds, _cpu() - started, idle)


def report_real_time(figures: CpuFigures) -> str:
    verdict = "within" if figures.session_share <= CORE_BOUND else "OVER"
    return (
        f"{f'{figures.seconds:.0f} s real time, no screen':<34}{'CPU s':>9}{'% core':>11}\n"
        f"{'idle loop':<34}{figures.idle_cpu_s:>9.3f}{figures.idle_share * 100:>10.2f}%\n"
        f"{'guided session on sim://':<34}{figures.session_cpu_s:>9.3f}{figures.session_share * 100:>10.2f}%"
        f"   ({verdict} the {CORE_BOUND * 100:.0f} % bound)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--virtual", action="store_true", help="only the virtual-time figure")
    args = parser.parse_args()
    print(report(run()))
    if not args.virtual:
        print()
        print(report_real_time(run_real_time()))


if __name__ == "__main__":
    main()
