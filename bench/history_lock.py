"""STOP latency while another program holds the history's write lock, next to the same figure unlocked.

A guided session runs against the in-process simulator on an accelerated session clock (as the
``sim://?speed=60`` demo does), so it writes a status sample to the history every 1/6 s. Then
another SQLite connection takes the write lock (``BEGIN IMMEDIATE``) — or not, for the
baseline — and a second thread, standing for the person, asks for STOP at a random moment.
Measured: from that request to the simulator's motor being off. A control loop that waits on
SQLite cannot send STOP until the lock is gone or its busy timeout runs out.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from bench.stats import Sample, table
from medctl.client import DeviceClient
from medctl.clock import ScaledClock
from medctl.history import HistoryStore
from medctl.session import SessionPlan
from medctl.session.engine import Session
from medctl.testing import ALL_CLEAR
from medctl.transport.sim import SimTransport
from simulator import DeviceConfig, LoopClock, SimulatedDevice

SPEED = 60.0  # session time runs 60× faster: a status sample every 10/60 s
SAFE = ALL_CLEAR  # the shared all-clear safety check (medctl.testing)


async def _one_stop(store: HistoryStore, device: SimulatedDevice, client: DeviceClient, *, locked: bool) -> float:
    session = Session(
        client,
        SessionPlan(minutes=10),
        safety=SAFE,
        clock=ScaledClock(SPEED),
        history=store,
        override_frequency="benchmark",  # R9: many sessions today, on purpose
        device_name="bench://in-process",
    )
    await session.begin()
    await asyncio.sleep(0.05)
    locker = sqlite3.connect(store.path, isolation_level=None)
    if locked:
        locker.execute("BEGIN IMMEDIATE")
    loop = asyncio.get_running_loop()
    asked: list[float] = []
    stopped: asyncio.Future[object] = loop.create_future()

    def person() -> None:
        time.sleep(random.uniform(0.0, 0.4))
        asked.append(time.perf_counter())
        future = asyncio.run_coroutine_threadsafe(session.stop(), loop)
        future.add_done_callback(lambda f: loop.call_soon_threadsafe(stopped.set_result, None))

    threading.Thread(target=person, daemon=True).start()
    await device.wait_for(lambda s: not s.running, timeout=60)
    off = time.perf_counter()
    if locked:
        locker.execute("ROLLBACK")
    locker.close()
    await stopped
    return off - asked[0]


async def _measure(count: int, *, locked: bool) -> list[float]:
    with tempfile.TemporaryDirectory() as folder, HistoryStore(Path(folder) / "history.sqlite3") as store:
        async with SimulatedDevice(DeviceConfig(), clock=LoopClock()) as device:
            client = DeviceClient(SimTransport(device=device))
            await client.open()
            try:
                return [await _one_stop(store, device, client, locked=locked) for _ in range(count)]
            finally:
                await client.close()


def run(count: int = 20) -> tuple[Sample, Sample]:
    """(unlocked, locked) STOP latencies; *count* sessions each."""
    unlocked = Sample("stop(), history free", asyncio.run(_measure(count, locked=False)))
    locked = Sample("stop(), history locked", asyncio.run(_measure(count, locked=True)))
    return unlocked, locked


def report(unlocked: Sample, locked: Sample) -> str:
    return table("stop() → motor off (session)", [locked], unlocked)


if __name__ == "__main__":
    import sys

    print(report(*run(int(sys.argv[1]) if len(sys.argv) > 1 else 20)))
