"""The fault matrix: every fault × every session phase, on the virtual clock.

Each row says what the device does, what the controller does, what the person is
told and what the history records; the test asserts exactly that, plus the
invariants every row shares:

- the motor and heater are off within the watchdog time once control is lost, and
  at once when the session ends;
- the session record is there and consistent (ended, with its events);
- nothing but a MedctlError ever surfaces (no task dies with a traceback).

``docs/fault-matrix.md`` is generated from ``ROWS``; a test fails when it is stale
(``MEDCTL_UPDATE_DOCS=1 pytest tests/faults`` rewrites it). Faults that need a real
link or process (a vanishing serial port, a closed TCP connection, SIGKILL) are in
``test_fault_links.py`` and ``tests/integration/test_cli.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from firmware_protocol import ErrorCode, Fault
from medctl.client import HEARTBEAT_INTERVAL_S, DeviceClient
from medctl.errors import CommandRefused, DeviceBusy
from medctl.history import HistoryStore
from medctl.session import EndReason, Phase, SessionPlan
from medctl.session.engine import TICK_S, Session
from medctl.testing import ALL_CLEAR, simulated_massager
from medctl.transport.sim import SimTransport
from simulator import DeviceConfig, SimulatedDevice

pytestmark = pytest.mark.looptime

DOC = Path(__file__).resolve().parents[2] / "docs" / "fault-matrix.md"
WATCHDOG_S = 3.0
SAFE = ALL_CLEAR  # the shared all-clear safety check (medctl.testing)
PHASES = ("warm_up", "massage", "step_down", "paused")
# How long each fault is left to act. Every test here runs on the virtual clock (looptime):
# these durations cost no wall time and nothing waits on them for synchronisation.
RECONNECT_S = 2.0  # the first reconnect attempt comes after 0.5 s
TRANSIENT_S = 4.0  # a burst of damaged frames or late answers, and the retries after it
REFUSAL_S = 2.0
OVERHEAT_S = 2.0  # the device turns the heater off at its next poll; the session reacts at its next tick
AFTER_FAULT_CLEARS_S = 8.0  # time for a reconnect attempt once the device answers again
DEVICE_POLLS_S = 1.0  # the device polls every 0.1 s
STATUS_SAMPLE_S = 12.0  # a status sample is written every 10 s
STOP_REACHES_S = 0.5  # a STOP is one request on an in-memory link: far less than a control tick or two
HEARTBEAT_CADENCE_S = HEARTBEAT_INTERVAL_S + TICK_S  # the loop sends one at its first tick after each interval
HANG_S = 30.0  # real seconds, for work in other threads and processes: only catches a hang


@dataclass
class World:
    device: SimulatedDevice
    client: DeviceClient
    session: Session
    history: HistoryStore
    phase: str
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    fault: str
    inject: Callable[[World], Awaitable[None]]
    device: str
    controller: str
    told: str
    history: str
    #: None: the session goes on; else how it ends.
    ends: EndReason | None
    #: Lower-case fragment of a notice the person sees (or of the refusal they get).
    notice: str | None
    #: Event kinds the history must hold for this session.
    events: frozenset[str] = frozenset()
    #: True: control of the device is lost, so it must be off within the watchdog time.
    loses_control: bool = False
    #: (ends, notice) instead, when the fault strikes a paused session (the motor is already off).
    when_paused: tuple[EndReason | None, str | None] | None = None

    def expected(self, phase: str) -> tuple[EndReason | None, str | None]:
        if phase == "paused" and self.when_paused is not None:
            return self.when_paused
        return self.ends, self.notice


# --- how each fault is injected ------------------------------------------------------------


async def drop_link(world: World) -> None:
    world.device.faults.drop_links()
    await asyncio.sleep(RECONNECT_S)


async def corrupt_both_ways(world: World) -> None:
    world.device.faults.corrupt_next(4, direction="both")
    await asyncio.sleep(TRANSIENT_S)


async def duplicate_both_ways(world: World) -> None:
    world.device.faults.duplicate_next(6, direction="both")
    await asyncio.sleep(TRANSIENT_S)


async def reorder_both_ways(world: World) -> None:
    world.device.faults.reorder_next(3, direction="both")
    await asyncio.sleep(TRANSIENT_S)


async def delay_past_timeout(world: World) -> None:
    world.device.faults.delay(0.8)  # longer than the 0.5 s answer timeout, shorter than the watchdog
    await asyncio.sleep(TRANSIENT_S)
    world.device.faults.delay(0)


async def refuse_commands(world: World) -> None:
    world.device.faults.refuse(ErrorCode.BUSY)
    try:
        if world.session.phase in (Phase.MASSAGE, Phase.WARM_UP):
            await world.session.decrease() if world.session.intensity > 1 else await world.session.set_heat(0)
    except CommandRefused as refusal:
        world.errors.append(str(refusal))
    await asyncio.sleep(REFUSAL_S)
    world.device.faults.stop_refusing()


async def device_goes_silent(world: World) -> None:
    world.device.faults.corrupt_next(10**6, direction="out")  # the device hears us but we never hear it
    await asyncio.sleep(WATCHDOG_S + 1)
    world.device.faults.clear()
    await asyncio.sleep(AFTER_FAULT_CLEARS_S)


async def over_temperature(world: World) -> None:
    world.device.faults.force_over_temperature()
    await asyncio.sleep(OVERHEAT_S)


async def motor_stall(world: World) -> None:
    world.device.faults.stall_motor()
    await asyncio.sleep(DEVICE_POLLS_S)
    if world.session.phase is Phase.PAUSED:
        await world.session.resume()  # the motor is only found stalled when it is asked to turn
    await asyncio.sleep(DEVICE_POLLS_S)


async def battery_empty(world: World) -> None:
    world.device.faults.drain_battery()
    await asyncio.sleep(DEVICE_POLLS_S)


async def controller_crash(world: World) -> None:
    """The controller dies without a word: no STOP, no GOODBYE, no more heartbeats."""
    await world.session._cancel_tasks()
    await world.client._stop_tasks()
    world.client._closed = True
    await asyncio.sleep(WATCHDOG_S + 0.5)


async def history_read_only(world: World) -> None:
    writer = world.session._writer
    assert writer is not None
    writer._call(lambda conn: conn.execute("PRAGMA query_only = ON"))  # every write now fails as read-only
    await asyncio.sleep(STATUS_SAMPLE_S)
    if world.session.phase is Phase.PAUSED:
        await world.session.resume()  # a paused session writes nothing until something happens
    assert await writer.flush(HANG_S)  # the failure is found in the writer's thread, off the loop clock


LOCK_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


@contextlib.contextmanager
def locked_by_another_process(path: Path) -> Iterator[None]:
    """Another process holds the history's write lock (``BEGIN IMMEDIATE``) until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline() == "locked\n"
        yield
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        assert holder.wait(HANG_S) == 0


async def history_locked(world: World) -> None:
    """While the lock is held: the loop keeps its heartbeats and STOP reaches the device; after it, every
    event the session queued is in the history, in order."""
    session, writer = world.session, world.session._writer
    assert writer is not None
    queued: list[tuple[str, float]] = []
    found_locked = threading.Event()
    spy_on(writer, "record_event", lambda session_id, kind, **kw: queued.append((kind, kw["at_s"])))
    spy_on(writer, "_report", lambda problem, text: found_locked.set() if problem == "busy" else None)
    fed: list[float] = []
    spy_on(world.device._firmware, "_feed_watchdog", lambda: fed.append(asyncio.get_running_loop().time()))
    with locked_by_another_process(world.history.path):
        await asyncio.sleep(STATUS_SAMPLE_S)  # a status sample queues up behind the lock
        if session.phase is Phase.PAUSED:
            await session.resume()  # and the resume, when paused
        assert found_locked.wait(HANG_S)  # the writer has met the lock (its own thread; no loop time passes)
        stopping = asyncio.create_task(session.stop())
        state = await world.device.wait_for(lambda s: not s.running and s.heat == 0, timeout=STOP_REACHES_S)
        assert not state.faults & Fault.LINK_LOST  # stopped by our STOP, not by its watchdog
        gaps = [later - earlier for earlier, later in itertools.pairwise(fed)]
        assert len(fed) >= STATUS_SAMPLE_S / HEARTBEAT_INTERVAL_S and max(gaps) <= HEARTBEAT_CADENCE_S, gaps
    await stopping
    assert await writer.flush(HANG_S)
    assert session.session_id is not None and writer.lost == 0
    recorded = [(event.kind, event.at_s) for event in world.history.events(session.session_id)]
    assert queued and recorded[-len(queued) :] == queued


def spy_on(target: object, name: str, spy: Callable[..., object]) -> None:
    """Call *spy* with the arguments of every call of ``target.name``, before the real one."""
    real = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        spy(*args, **kwargs)
        return real(*args, **kwargs)

    setattr(target, name, wrapper)


async def second_controller_hello(world: World) -> None:
    other = DeviceClient(SimTransport(device=world.device), request_timeout=0.2, retries=1)
    try:
        await other.open()
    except DeviceBusy as refusal:
        world.errors.append(str(refusal))
    finally:
        await other.close(stop=False)


async def second_controller_stop(world: World) -> None:
    other = DeviceClient(SimTransport(device=world.device))
    await other._transport.open()
    other._start_reader()
    await other.stop()  # STOP is accepted from anyone
    await other.close(stop=False)
    await asyncio.sleep(DEVICE_POLLS_S)


ON = frozenset
ROWS: tuple[Row, ...] = (
    Row("link dropped (in-process)", drop_link,
        "stops: our STOP after reconnecting, or its watchdog", "interrupted; reconnects with back-off; never resumes",
        "link lost … reconnected; resume to continue at the lightest setting", "link_lost, reconnected",
        None, "reconnected", ON({"link_lost", "reconnected"}), loses_control=True),
    Row("bytes corrupted, both ways", corrupt_both_ways,
        "drops bad frames (CRC); de-duplicates retries", "retries with the same seq; the session goes on",
        "nothing", "the session as usual", None, None),
    Row("bytes duplicated, both ways", duplicate_both_ways,
        "answers a repeat from memory, acts once", "ignores duplicate answers; the session goes on",
        "nothing", "the session as usual", None, None),
    Row("frames reordered, both ways", reorder_both_ways,
        "acts on frames in arrival order; all commands are absolute", "matches answers by seq; the session goes on",
        "nothing", "the session as usual", None, None),
    Row("answers delayed past the timeout", delay_past_timeout,
        "answers late; de-duplicates the retries", "retries, ignores late answers; the session goes on",
        "nothing", "the session as usual", None, None),
    Row("device refuses commands (NACK BUSY)", refuse_commands,
        "refuses all but STOP", "the refused action fails; the session goes on",
        "the refusal's sentence (device busy)", "the session as usual", None, None),
    Row("device stops answering", device_goes_silent,
        "our blind STOP, or its watchdog, stops it", "link lost after 2 s of silence; blind STOP; reconnects",
        "link lost … reconnected", "link_lost, reconnected", None, "link lost",
        ON({"link_lost", "reconnected"}), loses_control=True),
    Row("over-temperature", over_temperature,
        "heater off, fault latched", "heat stays off for the session; the massage goes on",
        "the pad overheated … turned the heat off", "fault: over_temperature", None, "overheated", ON({"fault"})),
    Row("motor stall", motor_stall,
        "motor off, fault latched", "ends the session", "the motor stalled: session ended",
        "fault: motor_stall; ended: fault", EndReason.FAULT, "motor stalled", ON({"fault", "stop"})),
    Row("battery empty", battery_empty,
        "stops, fault latched", "ends the session", "the battery is empty: charge the massager",
        "fault: battery_empty; ended: battery_empty", EndReason.BATTERY_EMPTY, "battery is empty",
        ON({"fault", "stop"})),
    Row("controller crashes", controller_crash,
        "its watchdog stops motor and heater", "(gone)", "(nobody to tell)",
        "left 'running'; marked interrupted on the next open", None, None, loses_control=True),
    Row("history becomes read-only", history_read_only,
        "unaffected", "keeps the session going; stops writing history",
        "history is not being saved: … read-only", "events up to the failure", None, "history is not being saved"),
    Row("history locked by another process", history_locked,
        "unaffected: heartbeats keep their cadence, STOP arrives at once",
        "queues every write for its history thread; the loop never waits on the file",
        "the history is locked … written when it is free", "every event, in order, once the lock clears",
        EndReason.STOPPED, "history is locked by another program", ON({"stop"})),
    Row("a second controller says HELLO", second_controller_hello,
        "refuses it (NOT_OWNER)", "unaffected; the session goes on",
        "the second one: another controller is using the massager", "the session as usual", None, None),
    Row("a second controller sends STOP", second_controller_stop,
        "stops (STOP is accepted from anyone)", "ends the session",
        "the massager was stopped outside this session", "ended: stopped", EndReason.STOPPED,
        "stopped outside this session", ON({"stop"}), when_paused=(None, None)),
)  # fmt: skip


# --- the test ------------------------------------------------------------------------------


async def reach(session: Session, phase: str) -> None:
    """Drive the session into *phase* (5-minute plan with heat)."""
    targets = {"warm_up": 20.0, "massage": 90.0, "step_down": 285.0, "paused": 90.0}
    await asyncio.sleep(targets[phase] - session.massage_s)
    if phase == "massage" or phase == "paused":
        await session.increase()
    if phase == "paused":
        await session.pause()
    expected = {"warm_up": Phase.WARM_UP, "massage": Phase.MASSAGE, "step_down": Phase.STEP_DOWN}
    assert session.phase is expected.get(phase, Phase.PAUSED)


def collect_task_errors(errors: list[str]) -> None:
    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        errors.append(f"{context.get('message')}: {context.get('exception')!r}")

    asyncio.get_running_loop().set_exception_handler(handler)


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("row", ROWS, ids=[r.fault for r in ROWS])
async def test_fault(row: Row, phase: str, tmp_path: Path) -> None:
    task_errors: list[str] = []
    collect_task_errors(task_errors)
    config = DeviceConfig(battery=True)
    with HistoryStore(tmp_path / "history.sqlite3") as history:
        async with simulated_massager(config) as (device, client):
            session = client.session(SessionPlan(minutes=5, heat=True), safety=SAFE, history=history)
            await session.begin()
            world = World(device, client, session, history, phase)
            await reach(session, phase)
            session_id = session.session_id
            assert session_id is not None
            injection = asyncio.create_task(row.inject(world))
            if row.loses_control:  # off within the watchdog time, whatever else is going on
                await device.wait_for(lambda s: not s.running and s.heat == 0, timeout=WATCHDOG_S + 0.5)
            await injection
            await check_controller(row, world)
            if not session.done and row.fault != "controller crashes":
                await session.stop()
            assert not device.state.running and device.state.heat == 0
            if row.fault == "controller crashes":
                history._connection().execute("UPDATE sessions SET pid = ? WHERE id = ?", (dead_pid(), session_id))
        check_history(row, world, session_id)
    assert not task_errors, task_errors


async def check_controller(row: Row, world: World) -> None:
    session = world.session
    ends, notice = row.expected(world.phase)
    if ends is not None:
        record = await asyncio.wait_for(session.wait(), 10)
        assert record.end_reason is ends, record
    elif row.fault != "controller crashes":
        assert not session.done, session.record
    told = " ".join([*session.record.notices, *world.errors]).lower()
    if notice is not None:
        assert notice in told, told
    if row.fault.startswith("device refuses") and world.phase in ("warm_up", "massage"):
        assert "busy" in told, told
    if row.fault == "a second controller says HELLO":
        assert "another controller" in told, told
    if row.fault == "over-temperature":
        assert session.heat == 0 and world.device.state.heat == 0


def check_history(row: Row, world: World, session_id: int) -> None:
    with HistoryStore(world.history.path) as history:  # re-opened, as the next run of medctl would
        record = history.session(session_id)
        kinds = {event.kind for event in history.events(session_id)}
    assert "phase" in kinds  # nothing recorded before the fault was lost
    if row.fault == "controller crashes":
        assert record.state == "interrupted"
    elif row.fault == "history becomes read-only":
        assert record.state == "running"  # the end could not be written; the next open of a new process marks it
    else:
        ends, _ = row.expected(world.phase)
        assert record.state == "ended"
        assert record.end_reason == (ends or EndReason.STOPPED).value
        assert row.events <= kinds, (row.events, kinds)


def dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


# --- the documentation table ---------------------------------------------------------------


def render_table() -> str:
    lines = [
        "# Fault matrix",
        "",
        "Generated from `tests/faults/test_fault_matrix.py` (`MEDCTL_UPDATE_DOCS=1 pytest tests/faults`);",
        f"every row runs in each session phase: {', '.join(p.replace('_', '-') for p in PHASES)}.",
        "In every row: motor and heater off within the watchdog time once control is lost and at once",
        "when the session ends; the session record kept and consistent; no traceback reaches the user.",
        "",
        "| fault | device | controller | the person is told | history |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r.fault} | {r.device} | {r.controller} | {r.told} | {r.history} |" for r in ROWS]
    lines += [
        "",
        "Over real links and processes, in every phase too (`tests/faults/test_fault_links.py`,",
        "`tests/faults/test_fault_ble.py` over the virtual radio link, and `tests/integration/test_cli.py`):",
        "",
        "| fault | device | controller | the person is told | history |",
        "|---|---|---|---|---|",
        "| serial port vanishes | its watchdog stops it | link lost; reconnects with back-off; ends the session "
        "when the port stays gone | link lost …; could not reconnect | link_lost; ended: link_lost |",
        "| TCP connection closed | its watchdog stops it, or our STOP after reconnecting | link lost; reconnects |"
        " link lost … reconnected | link_lost, reconnected |",
        "| BLE disconnect (out of range) | its watchdog stops it and releases it | link lost; reconnects when back"
        " in range; never resumes | link lost … reconnected | link_lost, reconnected, resume |",
        "| controller process killed (SIGKILL, in warm-up; every phase in-process above) |"
        " its watchdog stops motor and heater within 3 s | (gone) |"
        " (nobody to tell) | marked interrupted on the next open, events up to the kill |",
        "",
    ]
    return "\n".join(lines)


def test_docs_table_is_current() -> None:
    table = render_table()
    if os.environ.get("MEDCTL_UPDATE_DOCS"):
        DOC.write_text(table)
    assert DOC.exists() and DOC.read_text() == table, "run MEDCTL_UPDATE_DOCS=1 pytest tests/faults"
