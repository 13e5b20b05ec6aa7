"""The simulator within the timing tolerances of SPEC.md §7.5 and §7.8, on the looptime virtual clock.

These are behaviour checks on virtual time (when the device acts, measured by its own event
loop clock), not wall-clock measurements: looptime makes every instant exact and repeatable.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from firmware_protocol import (
    Ack,
    Fault,
    FaultEvent,
    Frame,
    Heartbeat,
    Hello,
    SetHeat,
    SetIntensity,
    Start,
    Status,
    decode_message,
    encode_message,
)
from simulator import InProcessLink, SimulatedDevice
from simulator.testing import exchange

pytestmark = pytest.mark.looptime

#: SPEC.md §7.5: the watchdog fires in [watchdog_ms, watchdog_ms + 250 ms] after the last feeding frame.
WATCHDOG_S = 3.0
WATCHDOG_LATE_S = 0.25
#: SPEC.md §7.8: periodic STATUS 0.75..1.25 s apart; never more than 1.25 s without a STATUS.
STATUS_MIN_S = 0.75
STATUS_MAX_S = 1.25


def now() -> float:
    return asyncio.get_running_loop().time()


async def statuses_until(link: InProcessLink, end: float) -> list[tuple[float, Status]]:
    """Every STATUS the link receives until loop time *end*, with its arrival time."""
    received: list[tuple[float, Status]] = []
    while (left := end - now()) > 0:
        try:
            frame = Frame.loads(await asyncio.wait_for(link.recv(), left))
        except TimeoutError:
            break
        message = decode_message(frame)
        if isinstance(message, Status):
            received.append((now(), message))
    return received


@pytest.mark.parametrize("last_feed_s", [0.0, 0.37, 1.01, 2.55])
async def test_watchdog_fires_within_its_tolerance(last_feed_s: float) -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        assert isinstance(await exchange(link, Hello(1, 1, 1), 0), Ack)
        await exchange(link, Start(1), 1)
        await exchange(link, SetHeat(1), 2)
        await asyncio.sleep(last_feed_s)
        await exchange(link, Heartbeat(), 3)
        fed = now()
        state = await device.wait_for(lambda s: not s.owned, timeout=10)
        fired = now()
        assert WATCHDOG_S <= fired - fed <= WATCHDOG_S + WATCHDOG_LATE_S
        assert not state.running and state.heat == 0 and state.faults == Fault.LINK_LOST


async def test_periodic_status_stays_within_its_tolerance_while_heartbeats_keep_the_link() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        assert isinstance(await exchange(link, Hello(1, 1, 1), 0), Ack)
        await exchange(link, Start(1), 1)
        received: list[tuple[float, Status]] = []
        for seq in range(2, 62):  # a minute, with a heartbeat every 0.9 s from a controller that is busy
            received += await statuses_until(link, now() + 0.9)
            await link.send(encode_message(Heartbeat(), seq))
        times = [t for t, _ in received]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(times) >= 50
        assert all(STATUS_MIN_S <= gap <= STATUS_MAX_S for gap in gaps), gaps


async def test_a_change_status_restarts_the_period_and_no_gap_exceeds_the_tolerance() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        assert isinstance(await exchange(link, Hello(1, 1, 1), 0), Ack)
        await exchange(link, Start(1), 1)
        received: list[tuple[float, Status]] = []
        for seq, level in zip(range(2, 40), itertools.cycle([2, 1, 1]), strict=False):
            received += await statuses_until(link, now() + 0.63)
            await link.send(encode_message(SetIntensity(level), seq))
        gaps = [b - a for (a, _), (b, _) in itertools.pairwise(received)]
        assert gaps and max(gaps) <= STATUS_MAX_S
        assert device.state.owned, "the link stayed fed throughout"


async def test_fault_event_precedes_the_status_that_shows_it() -> None:
    async with SimulatedDevice() as device:
        link = device.open_link()
        assert isinstance(await exchange(link, Hello(1, 1, 1), 0), Ack)
        await exchange(link, Start(1), 1)
        device.faults.exhaust_run_budget()
        kinds = []
        while not any(isinstance(m, Status) and not m.running for m in kinds):
            kinds.append(decode_message(Frame.loads(await asyncio.wait_for(link.recv(), 1.0))))
        faults = [m for m in kinds if isinstance(m, FaultEvent)]
        assert faults == [FaultEvent(Fault.AUTO_OFF, active=True, detail=0)]
        assert isinstance(kinds[-1], Status) and kinds[-1].faults == Fault.AUTO_OFF
