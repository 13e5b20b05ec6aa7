"""Snapshots (pytest-textual-snapshot) of the connect, live session and history screens at 80×24.

Deterministic by construction: a fixed list of ports and no Bluetooth; a session clock that
stands still at 18 s unless the test moves it (the simulator's pad stays at ambient with the
heat off); history written with fixed times, read with a fixed "now", shown in UTC.
Update them with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from medctl.history import Feedback, HistoryStore
from medctl.session import Phase, SafetyCheck, SessionPlan
from medctl.tui.app import MedctlApp
from medctl.tui.connect import ConnectScreen
from medctl.tui.devices import DeviceChoice
from medctl.tui.history import HistoryScreen
from medctl.tui.live import LiveScreen
from medctl.tui.widgets import TemperaturePlot

SIZE = (80, 24)
NOW = datetime(2025, 3, 14, 18, 30, tzinfo=UTC)  # a Friday
ALL_CLEAR = SafetyCheck.from_answers(dict.fromkeys(SafetyCheck.__dataclass_fields__, False))
PORTS = [
    DeviceChoice("serial:///dev/ttyACM0", "/dev/ttyACM0", "NeckEase 2 (USB)"),
    DeviceChoice("serial:///dev/ttyUSB0", "/dev/ttyUSB0", "CP2102 USB to UART Bridge Controller"),
]


def test_connect_screen(snap_compare: Any, make_app: Callable[..., MedctlApp], tui: Any) -> None:
    app = make_app(connector=tui.SimConnector(), discovery=tui.FixedDiscovery(PORTS))

    async def choose_device(pilot: Pilot[Any]) -> None:
        await tui.connected(pilot)
        await pilot.press("d")
        await tui.on_screen(pilot, ConnectScreen)

    assert snap_compare(app, terminal_size=SIZE, run_before=choose_device)


def test_live_session_screen(snap_compare: Any, make_app: Callable[..., MedctlApp], tui: Any) -> None:
    clock = tui.FrozenClock()
    app = make_app(connector=tui.SimConnector(clock=clock))

    async def eighteen_seconds_in_and_a_refused_increase(pilot: Pilot[Any]) -> None:
        # straight to the live screen (the way there is the pilot tests' business, and keys cost real time here)
        await tui.connected(pilot)
        assert app.link.client is not None
        plan = SessionPlan(minutes=5, target_intensity=3)
        app.push_screen(LiveScreen(app.link.client, plan, safety=ALL_CLEAR, history=None))
        live: LiveScreen = await tui.on_screen(pilot, LiveScreen)
        await tui.until(pilot, lambda: _at(live, 0.0), "the session's start")
        clock.t = 18.0
        await tui.until(pilot, lambda: _at(live, 18.0), "18 s of session")
        live.action_increase()
        await tui.until(pilot, lambda: "warm-up" in str(live.query_one("#message").content), "the refusal")
        plot = live.query_one(TemperaturePlot)
        await tui.until(pilot, lambda: plot.drawn == 2, "the plot of the samples at 0 s and 18 s")

    assert snap_compare(app, terminal_size=SIZE, run_before=eighteen_seconds_in_and_a_refused_increase)


def _at(live: LiveScreen, seconds: float) -> bool:
    update = live.last_update
    return (
        update is not None
        and update.phase is Phase.WARM_UP
        and update.massage_s == seconds
        and (update.pad_temp_c is not None)
    )


def test_history_screen(
    snap_compare: Any, make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path, utc_local_time: None
) -> None:
    db = tmp_path / "history.sqlite3"
    _record_sessions(db)
    app = make_app(connector=tui.SimConnector(), db_path=db, now=lambda: NOW)

    async def open_history(pilot: Pilot[Any]) -> None:
        await tui.connected(pilot)
        await pilot.press("l")
        await tui.on_screen(pilot, HistoryScreen)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_history)


def _record_sessions(db: Path) -> None:
    """Seven weeks of a plausible history, written with fixed times."""
    plan = [  # days before NOW, minutes, heat, max intensity, end reason, feedback
        (44, 5, False, 2, "completed", Feedback(6, "better", False)),
        (37, 5, True, 3, "completed", None),
        (35, 8, True, 3, "completed", Feedback(7, "better", False)),
        (23, 10, True, 4, "too_much", Feedback(3, "worse", True)),
        (16, 6, False, 2, "stopped", None),
        (9, 5, True, 3, "completed", Feedback(8, "better", False)),
        (8, 7, True, 3, "completed", Feedback(7, "same", False)),
        (2, 10, True, 4, "completed", Feedback(8, "better", False)),
        (0.2, 5, False, 1, "link_lost", None),
    ]
    with HistoryStore(db) as history:
        for days, minutes, heat, top, reason, feedback in plan:
            start = NOW - timedelta(days=days)
            sid = history.begin_session(
                device="sim://",
                device_model="NeckEase 2",
                planned_s=minutes * 60,
                heat=heat,
                target_intensity=None,
                now=start,
            )
            massage = minutes * 60 if reason == "completed" else minutes * 30
            history.end_session(
                sid, reason=reason, massage_s=massage, max_intensity=top, now=start + timedelta(seconds=massage)
            )
            if feedback is not None:
                history.add_feedback(sid, feedback, now=start + timedelta(minutes=30))
