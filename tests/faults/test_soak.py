"""Soak: many sessions back to back with random actions and faults; many devices at once.

1. Sessions on the virtual clock, one after another, each with random user actions and
   random faults; after each, the invariants: the device is off, the history holds the
   session as it ended, massage time never above the plan (and never above 10 minutes),
   no task died with a traceback; after every fault that takes control away, motor and
   heater are off within the watchdog time.
2. Simulated devices on pseudo-terminals, all driven by this one process for a stretch of
   real time: no watchdog ever fires, every command is answered.

The suite runs a short version. The full runs, with their figures printed:

    python tests/faults/test_soak.py --sessions 200 --devices 20 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import looptime
import pytest

from firmware_protocol import ErrorCode, Fault
from medctl.client import DeviceClient
from medctl.errors import MedctlError
from medctl.history import HistoryStore
from medctl.session import RuleViolation, SessionPlan
from medctl.session.engine import Phase, Session
from medctl.testing import ALL_CLEAR, simulated_massager
from medctl.transport.serial import SerialTransport
from simulator import DeviceConfig, SimulatedDevice

WATCHDOG_S = 3.0
#: How long transient faults last. The soak runs on the virtual clock: these cost no wall time.
DELAY_FAULT_S = 3.0
REFUSAL_S = 2.0
POLL_S = 1.0  # a device poll is 0.1 s; give the fault a few
RECONNECT_WAIT_S = 3.0
#: The fleet's pace on real time: one change per device per second.
COMMAND_PERIOD_S = 1.0
SAFE = ALL_CLEAR  # the shared all-clear safety check (medctl.testing)


@dataclass
class SoakReport:
    sessions: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    endings: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.sessions} sessions; {sum(self.actions.values())} user actions "
            f"({sum(self.refusals.values())} refused by a rule or the device); "
            f"{sum(self.faults.values())} faults injected {dict(self.faults)}; "
            f"endings {dict(self.endings)}; invariant violations: {len(self.violations)}"
        )


# --- random user actions and faults --------------------------------------------------------

Action = Callable[[Session], Awaitable[object]]

USER_ACTIONS: dict[str, Action] = {
    "increase": lambda s: s.increase(),
    "decrease": lambda s: s.decrease(),
    "too_much": lambda s: s.too_much(),
    "heat_up": lambda s: s.set_heat(s.heat + 1),
    "heat_down": lambda s: s.set_heat(max(0, s.heat - 1)),
    "pause": lambda s: s.pause(),
    "resume": lambda s: s.resume(),
}
USER_WEIGHTS = {"increase": 6, "decrease": 2, "too_much": 1, "heat_up": 2, "heat_down": 1, "pause": 1, "resume": 3}

LINK_FAULTS = ("drop_links", "device_silent")
FAULTS = ("corrupt", "duplicate", "reorder", "delay", "refuse", "over_temperature", "stall", "battery", *LINK_FAULTS)


async def inject(fault: str, device: SimulatedDevice) -> None:
    faults = device.faults
    if fault == "corrupt":
        faults.corrupt_next(3, direction="both")
    elif fault == "duplicate":
        faults.duplicate_next(3, direction="both")
    elif fault == "reorder":
        faults.reorder_next(2, direction="both")
    elif fault == "delay":
        faults.delay(0.7)
        await asyncio.sleep(DELAY_FAULT_S)
        faults.delay(0)
    elif fault == "refuse":
        faults.refuse(ErrorCode.BUSY)
        await asyncio.sleep(REFUSAL_S)
        faults.stop_refusing()
    elif fault == "over_temperature":
        faults.force_over_temperature()
    elif fault == "stall":
        faults.stall_motor()
        await asyncio.sleep(POLL_S)  # found at the device's next poll, if the motor is turning
    elif fault == "battery":
        if device.config.battery:
            faults.drain_battery()
            await asyncio.sleep(POLL_S)
    elif fault == "drop_links":
        faults.drop_links()
    elif fault == "device_silent":
        faults.corrupt_next(10**6, direction="out")
        await asyncio.sleep(WATCHDOG_S + 1)
        faults.clear()


async def one_session(rng: random.Random, history: HistoryStore, report: SoakReport) -> None:
    config = DeviceConfig(battery=rng.random() < 0.3)
    async with simulated_massager(config) as (device, client):
        plan = SessionPlan(
            minutes=rng.choice([5.0, 7.5, 10.0]),
            heat=rng.random() < 0.5,
            target_intensity=rng.choice([None, 2, 3, 4]),
        )
        session = client.session(plan, safety=SAFE, history=history, override_frequency="soak run")
        async with session:
            await drive(rng, session, device, report)
        check_after(session, device, client, history, report)


async def drive(rng: random.Random, session: Session, device: SimulatedDevice, report: SoakReport) -> None:
    while not session.done:
        await asyncio.sleep(rng.uniform(1.0, 45.0))
        if session.done:
            return
        roll = rng.random()
        if roll < 0.01:
            report.actions["stop"] += 1
            await session.stop()
        elif roll < 0.08:
            fault = rng.choice(FAULTS)
            report.faults[fault] += 1
            await inject_and_watch(fault, session, device, report)
        else:
            name = rng.choices(list(USER_WEIGHTS), weights=list(USER_WEIGHTS.values()))[0]
            report.actions[name] += 1
            try:
                await USER_ACTIONS[name](session)
            except RuleViolation as refusal:
                report.refusals[refusal.rule] += 1
            except MedctlError as error:
                report.refusals[type(error).__name__] += 1


async def inject_and_watch(fault: str, session: Session, device: SimulatedDevice, report: SoakReport) -> None:
    injection = asyncio.create_task(inject(fault, device))
    if fault in LINK_FAULTS and device.state.owned:
        try:
            await device.wait_for(lambda s: not s.running and s.heat == 0, timeout=WATCHDOG_S + 0.5)
        except TimeoutError:
            report.violations.append(f"{fault}: device still on {WATCHDOG_S + 0.5} s after control was lost")
    await injection
    device.faults.release_motor()
    if device.config.battery:
        device.faults.charge_battery()
    if session.phase is Phase.INTERRUPTED:
        await asyncio.sleep(RECONNECT_WAIT_S)  # the reconnect with back-off


def check_after(
    session: Session, device: SimulatedDevice, client: DeviceClient, history: HistoryStore, report: SoakReport
) -> None:
    record = session.record
    report.sessions += 1
    report.endings[record.end_reason.value] += 1
    problems = []
    if device.state.running or device.state.heat:
        problems.append(f"device still on: {device.state}")
    if record.massage_s > min(session.plan.duration_s, 600.0) + 0.5:
        problems.append(f"massage time {record.massage_s:.1f} s above the plan")
    if record.max_intensity > client.capabilities.intensity_levels:
        problems.append(f"intensity {record.max_intensity} above the device's range")
    if record.session_id is None:
        problems.append("no history record")
    else:
        stored = history.session(record.session_id)
        if stored.state != "ended" or stored.end_reason != record.end_reason.value:
            problems.append(f"history says {stored.state}/{stored.end_reason}, session {record.end_reason}")
        if abs(stored.massage_s - record.massage_s) > 0.01:
            problems.append("history massage time differs")
        if not history.events(record.session_id):
            problems.append("no events recorded")
    report.violations += [f"session {report.sessions}: {p}" for p in problems]


async def soak_sessions(count: int, seed: int, db: Path) -> SoakReport:
    rng = random.Random(seed)
    report = SoakReport()
    task_errors: list[str] = []

    def on_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        task_errors.append(f"{context.get('message')}: {context.get('exception')!r}")

    asyncio.get_running_loop().set_exception_handler(on_error)
    with HistoryStore(db) as history:
        for _ in range(count):
            await one_session(rng, history, report)
    report.violations += [f"task error: {e}" for e in task_errors]
    return report


# --- many devices at once, on real time ----------------------------------------------------


@dataclass
class FleetReport:
    devices: int
    seconds: float
    commands: int = 0
    latencies: list[float] = field(default_factory=list)
    watchdog_trips: int = 0
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lat = sorted(self.latencies) or [0.0]
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
        return (
            f"{self.devices} devices on pseudo-terminals for {self.seconds:.0f} s: {self.commands} commands, "
            f"p50 {statistics.median(lat) * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms; watchdog trips {self.watchdog_trips}; "
            f"failures {len(self.failures)}"
        )


async def drive_fleet(count: int, seconds: float, seed: int) -> FleetReport:
    rng = random.Random(seed)
    report = FleetReport(count, seconds)
    async with _fleet(count) as pairs:
        deadline = asyncio.get_running_loop().time() + seconds
        await asyncio.gather(*(_drive_one(rng.random(), d, c, deadline, report) for d, c in pairs))
        for device, _ in pairs:
            if device.state.faults & Fault.LINK_LOST:
                report.watchdog_trips += 1
    return report


class _fleet:
    def __init__(self, count: int) -> None:
        self.count = count
        self.devices: list[SimulatedDevice] = []
        self.clients: list[DeviceClient] = []

    async def __aenter__(self) -> list[tuple[SimulatedDevice, DeviceClient]]:
        for _ in range(self.count):
            device = SimulatedDevice()
            await device.start()
            self.devices.append(device)
            pty = await device.serve_pty()
            client = DeviceClient(SerialTransport(pty.path))
            await client.open()
            self.clients.append(client)
        return list(zip(self.devices, self.clients, strict=True))

    async def __aexit__(self, *exc: object) -> None:
        for client in self.clients:
            await client.close()
        for device in self.devices:
            await device.close()


async def _drive_one(
    phase: float, device: SimulatedDevice, client: DeviceClient, deadline: float, report: FleetReport
) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(phase)  # spread the devices' commands over time
    level = 1
    try:
        await client.raw().start(1)
        while loop.time() < deadline:
            level = level % client.capabilities.intensity_levels + 1
            started = time.perf_counter()
            await client.raw().set_intensity(level)
            report.latencies.append(time.perf_counter() - started)
            report.commands += 1
            await asyncio.sleep(COMMAND_PERIOD_S)  # pacing, like a person: one change a second
        await client.stop()
    except MedctlError as error:
        report.failures.append(f"{client.description}: {error}")


# --- the suite's short runs ----------------------------------------------------------------


@pytest.mark.looptime
async def test_back_to_back_sessions_keep_every_invariant(tmp_path: Path) -> None:
    report = await soak_sessions(8, seed=11, db=tmp_path / "soak.sqlite3")
    assert report.sessions == 8
    assert not report.violations, report.violations
    assert sum(report.faults.values()) > 0 and sum(report.actions.values()) > 0


@pytest.mark.realtime
async def test_many_devices_on_pseudo_terminals_from_one_process() -> None:
    report = await drive_fleet(20, seconds=4.0, seed=5)
    assert not report.failures, report.failures
    assert report.watchdog_trips == 0
    assert report.commands >= 20 * 3


# --- the full runs -------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="soak medctl against the simulator")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with TemporaryDirectory() as tmp:
        loop = looptime.new_event_loop(start=0.0, noop_cycles=4)
        started = time.perf_counter()
        report = loop.run_until_complete(soak_sessions(args.sessions, args.seed, Path(tmp) / "soak.sqlite3"))
        loop.close()
    print(f"virtual clock: {report.summary()} ({time.perf_counter() - started:.1f} s of wall time)")
    for violation in report.violations[:20]:
        print("  violation:", violation)
    fleet = asyncio.run(drive_fleet(args.devices, args.seconds, args.seed))
    print(f"real time: {fleet.summary()}")
    return 1 if report.violations or fleet.failures or fleet.watchdog_trips else 0


if __name__ == "__main__":
    sys.exit(main())
