"""Virtual time: the wall time of a full 10-minute guided session against the simulator.

On a fast-forwarded loop (looptime), the session, the simulator, heartbeats and status
all run as they would over ten minutes. The baseline is the same loop running only the
timers a session needs at the least (one wake-up per session tick), with no work in them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import looptime

from medctl.session import NO_HISTORY, SafetyCheck, SessionPlan
from medctl.session.engine import TICK_S
from medctl.testing import simulated_massager

SAFE = SafetyCheck(
    swelling_bruising_or_injury=False,
    underlying_condition=False,
    provider_agreed=False,
    recent_trauma=False,
    arm_symptoms=False,
    severe_headache=False,
    fever=False,
)


@dataclass(frozen=True)
class Figures:
    session_s: float
    baseline_s: float


async def _session() -> None:
    async with simulated_massager() as (_, client):
        plan = SessionPlan(minutes=10, heat=True, target_intensity=4)
        async with client.session(plan, safety=SAFE, history=NO_HISTORY) as session:
            await session.wait()


async def _bare_ticks() -> None:
    for _ in range(int(600 / TICK_S)):
        await asyncio.sleep(TICK_S)


def _timed(coro_factory: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        loop = looptime.new_event_loop(start=0.0, noop_cycles=4)  # fast-forwards from the start
        started = time.perf_counter()
        loop.run_until_complete(coro_factory())  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
        loop.close()
    return best


def run(repeat: int = 3) -> Figures:
    return Figures(session_s=_timed(_session, repeat), baseline_s=_timed(_bare_ticks, repeat))


def report(figures: Figures) -> str:
    return (
        f"{'10-minute session, virtual clock':<34}{'wall s':>9}{'ratio':>11}\n"
        f"{'bare loop, one timer per tick':<34}{figures.baseline_s:>9.3f}{1:>10.2f}x\n"
        f"{'full guided session + simulator':<34}{figures.session_s:>9.3f}"
        f"{figures.session_s / figures.baseline_s:>10.2f}x"
    )
