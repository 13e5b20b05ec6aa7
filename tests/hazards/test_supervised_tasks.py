"""A bug in a background task never hangs a session (supervised tasks).

An exception raised inside each of the session's background tasks — the control loop's tick,
the link watcher, the reconnect, the hazard stop — and in the connection's own reader stops
the device, ends the session with ``error``, tells the person in one line, records it, and
ends ``updates()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from medctl.client import DeviceClient
from medctl.session import EndReason, SessionPlan, SessionUpdate
from medctl.session.engine import Session
from medctl.testing import ALL_CLEAR, simulated_massager, temporary_history, until_massage
from simulator import SimulatedDevice

pytestmark = pytest.mark.looptime


class Boom(RuntimeError):
    pass


async def raising(*_: Any, **__: Any) -> Any:
    await asyncio.sleep(1)  # a task that ran a while, then hit a bug
    raise Boom("injected for the test")


def broken(*_: Any, **__: Any) -> Any:
    raise Boom("injected for the test")


async def no_trigger(device: SimulatedDevice, session: Session) -> None:
    return None


async def drop_link(device: SimulatedDevice, session: Session) -> None:
    device.faults.drop_links()


async def misreport(device: SimulatedDevice, session: Session) -> None:
    from tests.hazards.test_device_misbehaves import lie

    lie(device, intensity=4)


#: task → (the method that raises in it, what makes the task run it)
TASKS: dict[str, tuple[str, Callable[[SimulatedDevice, Session], Any]]] = {
    "control loop (_tick)": ("_tick", no_trigger),
    "link watcher (_watch_link)": ("_watch_link", no_trigger),
    "reconnect (_reconnect)": ("_reconnect", drop_link),
    "hazard stop (_record)": ("_record", misreport),
    "the connection's status reader (DeviceClient._store_status)": ("_store_status", no_trigger),
}


@pytest.mark.parametrize("task", sorted(TASKS))
async def test_an_exception_in_a_background_task_stops_the_device_and_ends_with_error(
    task: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    method, trigger = TASKS[task]
    updates: list[SessionUpdate] = []
    if method == "_watch_link":  # it starts with the session
        monkeypatch.setattr(Session, method, raising)
    with temporary_history(tmp_path) as history:
        async with simulated_massager() as (device, client):
            async with client.session(SessionPlan(minutes=5, heat=True), safety=ALL_CLEAR, history=history) as session:

                async def follow() -> None:
                    async for update in session.updates():
                        updates.append(update)

                follower = asyncio.create_task(follow())
                await until_massage(session, 0.5)
                if method == "_record":  # the hazard task's first history write fails
                    original = Session._record

                    def record(self: Session, kind: str, **fields: Any) -> None:
                        if kind == "hazard":
                            raise Boom("injected for the test")
                        original(self, kind, **fields)

                    monkeypatch.setattr(Session, "_record", record)
                elif method == "_store_status":  # the connection's own reader task fails at the next status
                    monkeypatch.setattr(DeviceClient, method, broken)
                elif method != "_watch_link":
                    monkeypatch.setattr(Session, method, raising)
                await trigger(device, session)
                record = await asyncio.wait_for(session.wait(), 10)
                await asyncio.wait_for(follower, 1)  # updates() ended
            assert record.end_reason is EndReason.ERROR
            assert updates[-1].end_reason is EndReason.ERROR
            (notice,) = [n for n in record.notices if "internal error" in n]
            assert "\n" not in notice and "Boom" in notice, notice
            # stopped by the session's STOP, or with the link gone, by the device's watchdog (3 s)
            state = await device.wait_for(lambda s: not s.running and s.heat == 0, timeout=4)
            assert not state.running and state.heat == 0
        (saved,) = history.sessions()
        assert saved.end_reason == "error"
        assert any(e.kind == "error" and "Boom" in (e.detail or "") for e in history.events(saved.id))
