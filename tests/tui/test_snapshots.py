"""Snapshots (pytest-textual-snapshot) of every screen and state that matters, at 80×24, and the
live screen at 60×20 (STOP and the countdown still on it).

Deterministic by construction: a fixed list of ports and no Bluetooth; a session clock that
stands still at 18 s unless the test moves it (the simulator's pad stays at ambient with the
heat off); history written with fixed times, read with a fixed "now", shown in UTC.
Update them with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox

from medctl.address import parse_address
from medctl.history import Feedback, HistoryStore
from medctl.session import EndReason, Phase, SafetyCheck, SessionPlan, SessionSummary
from medctl.session.rules import TOO_MUCH_ADVICE
from medctl.transport.sim import sim_config
from medctl.tui.app import MedctlApp
from medctl.tui.connect import ConnectScreen
from medctl.tui.devices import DeviceChoice
from medctl.tui.help import HelpScreen
from medctl.tui.history import HistoryScreen
from medctl.tui.live import LiveScreen
from medctl.tui.plan import PlanScreen
from medctl.tui.safety import SafetyScreen
from medctl.tui.summary import SummaryScreen
from medctl.tui.techniques import TechniquesScreen
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


@pytest.mark.parametrize("size", [SIZE, (60, 20)], ids=["80x24", "60x20"])
def test_connect_screen_with_a_wrong_address(
    snap_compare: Any, make_app: Callable[..., MedctlApp], tui: Any, size: tuple[int, int]
) -> None:
    """The error is whole, wrapped, and on screen without scrolling even at 60×20."""
    simulator = tui.SimConnector()

    @asynccontextmanager
    async def checked(url: str) -> AsyncIterator[Any]:
        sim_config(parse_address(url))  # the options are checked as medctl's own connect does
        async with simulator(url) as client:
            yield client

    app = make_app(connector=checked, discovery=tui.FixedDiscovery(PORTS))

    async def wrong_address(pilot: Pilot[Any]) -> None:
        await tui.connected(pilot)
        await pilot.press("d")
        screen = await tui.on_screen(pilot, ConnectScreen)
        screen.query_one("#address").value = "sim://?speed=60&intensity_levels=3&heat_levels=2&colour=blue"
        screen.query_one("#address").focus()
        await pilot.press("enter")
        await tui.until(pilot, lambda: app.link_state.phase == "failed", "the failure")
        again = await tui.on_screen(pilot, ConnectScreen)
        await tui.until(pilot, lambda: "colour" in str(again.query_one("#connect-message").content), "the reason")
        assert not again.query_one("#remember", Checkbox).value  # a simulator is never remembered unasked
        body, message = again.query_one("#connect-body"), again.query_one("#connect-message")
        assert body.region.contains_region(message.region)  # on screen without any scrolling
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=wrong_address)


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


# -- the live screen in each phase, at 80×24 and 60×20 ----------------------------------------------

#: Session seconds the frozen clock is set to for each phase (a 5-minute plan).
PHASE_AT = {Phase.WARM_UP: 18.0, Phase.MASSAGE: 90.0, Phase.STEP_DOWN: 285.0}


async def _live_at(pilot: Pilot[Any], tui: Any, clock: Any, seconds: float, wanted: Phase) -> LiveScreen:
    """The live screen of a 5-minute session, *seconds* in, in phase *wanted*, its plot drawn."""
    app = pilot.app
    assert isinstance(app, MedctlApp)
    await tui.connected(pilot)
    assert app.link.client is not None
    app.push_screen(LiveScreen(app.link.client, SessionPlan(minutes=5), safety=ALL_CLEAR, history=None))
    live: LiveScreen = await tui.on_screen(pilot, LiveScreen)
    await tui.until(pilot, lambda: _at(live, 0.0), "the session's start")
    clock.t = seconds
    await tui.until(
        pilot,
        lambda: (
            live.last_update is not None and live.last_update.massage_s == seconds and live.last_update.phase is wanted
        ),
        f"{seconds} s of session",
    )
    plot = live.query_one(TemperaturePlot)
    await tui.until(pilot, lambda: plot.drawn == 2, "the plot of two samples")
    return live


@pytest.mark.parametrize("size", [SIZE, (60, 20), (120, 40)], ids=["80x24", "60x20", "120x40"])
@pytest.mark.parametrize("wanted", list(PHASE_AT), ids=lambda p: p.value)
def test_live_in_each_phase(
    snap_compare: Any, make_app: Callable[..., MedctlApp], tui: Any, wanted: Phase, size: tuple[int, int]
) -> None:
    clock = tui.FrozenClock()
    app = make_app(connector=tui.SimConnector(clock=clock))

    async def in_phase(pilot: Pilot[Any]) -> None:
        await _live_at(pilot, tui, clock, PHASE_AT[wanted], wanted)

    assert snap_compare(app, terminal_size=size, run_before=in_phase)


@pytest.mark.parametrize("size", [SIZE, (60, 20)], ids=["80x24", "60x20"])
def test_live_paused(snap_compare: Any, make_app: Callable[..., MedctlApp], tui: Any, size: tuple[int, int]) -> None:
    clock = tui.FrozenClock()
    app = make_app(connector=tui.SimConnector(clock=clock))

    async def paused(pilot: Pilot[Any]) -> None:
        live = await _live_at(pilot, tui, clock, 90.0, Phase.MASSAGE)
        live.action_pause()
        await tui.until(pilot, lambda: live.last_update is not None and live.last_update.phase is Phase.PAUSED, "pause")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=paused)


def test_live_link_lost(snap_compare: Any, make_app: Callable[..., MedctlApp], tui: Any) -> None:
    clock = tui.FrozenClock()
    connector = tui.SimConnector(clock=clock)
    app = make_app(connector=connector)

    async def link_lost(pilot: Pilot[Any]) -> None:
        live = await _live_at(pilot, tui, clock, 90.0, Phase.MASSAGE)
        connector.unplugged = True  # out of range: it stays lost (a reconnect would race the snapshot)
        connector.device.faults.drop_links()
        await tui.until(
            pilot,
            lambda: (
                live.last_update is not None
                and live.last_update.phase is Phase.INTERRUPTED
                and live.last_update.next_action == "reconnecting…"
            ),
            "the link lost",
        )
        await tui.until(pilot, lambda: app.link_state.phase == "lost", "the device bar's lost link")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=link_lost)


# -- the other screens --------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["safety", "help", "techniques"])
def test_screen(snap_compare: Any, make_app: Callable[..., MedctlApp], tui: Any, key: str) -> None:
    app = make_app(connector=tui.SimConnector())
    kinds = {"help": ("question_mark", HelpScreen), "techniques": ("m", TechniquesScreen)}

    async def opened(pilot: Pilot[Any]) -> None:
        await tui.connected(pilot)
        await tui.on_screen(pilot, SafetyScreen)
        if key in kinds:
            press, kind = kinds[key]
            await pilot.press(press)
            await tui.on_screen(pilot, kind)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=opened)


def test_plan_with_frequency_advice(
    snap_compare: Any,
    make_app: Callable[..., MedctlApp],
    tui: Any,
    tmp_path: Path,
    utc_local_time: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "history.sqlite3"
    with HistoryStore(db) as history:  # a real massager's session this morning
        history.begin_session(
            device="serial:///dev/ttyUSB0", device_model="NeckEase 2", planned_s=300.0, heat=False,
            target_intensity=None, now=NOW - timedelta(hours=9),
        )  # fmt: skip
    advice = HistoryStore.frequency_warnings
    monkeypatch.setattr(HistoryStore, "frequency_warnings", lambda store, now=None: advice(store, NOW))
    app = make_app(connector=tui.SimConnector(), db_path=db)

    async def planned(pilot: Pilot[Any]) -> None:
        await tui.connected(pilot)
        await tui.until(pilot, lambda: app.screen.query_one("#safety-frequency").display, "the advice first")
        await pilot.press(*("n",) * 6)
        await tui.on_screen(pilot, PlanScreen)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=planned)


def test_safety_with_frequency_advice_first(
    snap_compare: Any,
    make_app: Callable[..., MedctlApp],
    tui: Any,
    tmp_path: Path,
    utc_local_time: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "history.sqlite3"
    with HistoryStore(db) as history:
        history.begin_session(
            device="serial:///dev/ttyUSB0", device_model="NeckEase 2", planned_s=300.0, heat=False,
            target_intensity=None, now=NOW - timedelta(hours=9),
        )  # fmt: skip
    advice = HistoryStore.frequency_warnings
    monkeypatch.setattr(HistoryStore, "frequency_warnings", lambda store, now=None: advice(store, NOW))
    app = make_app(connector=tui.SimConnector(), db_path=db)

    async def asked(pilot: Pilot[Any]) -> None:
        await tui.connected(pilot)
        await tui.until(pilot, lambda: app.screen.query_one("#safety-frequency").display, "the advice first")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=asked)


#: What a session had said when it ended, by end reason (the engine's own sentences).
NOTICES = {
    EndReason.TOO_MUCH: ("lowered to 1; tell us again if it is still too much",),
    EndReason.PAUSE_TIMEOUT: ("paused too long: the session has ended",),
    EndReason.FAULT: ("the motor stalled: the session has ended; check the massager",),
    EndReason.BATTERY_EMPTY: ("the battery is empty: charge the massager",),
    EndReason.LINK_LOST: ("could not reconnect to the massager: session ended",),
    EndReason.STOPPED: ("lowered to 1; tell us again if it is still too much",),
}


@pytest.mark.parametrize(
    ("reason", "size"),
    [*((r, SIZE) for r in EndReason), (EndReason.TOO_MUCH, (120, 40)), (EndReason.TOO_MUCH, (60, 20))],
    ids=lambda v: v.value if isinstance(v, EndReason) else f"{v[0]}x{v[1]}",
)
def test_summary_after(
    snap_compare: Any,
    make_app: Callable[..., MedctlApp],
    tui: Any,
    tmp_path: Path,
    reason: EndReason,
    size: tuple[int, int],
) -> None:
    db = tmp_path / "history.sqlite3"
    with HistoryStore(db) as history:
        session_id = history.begin_session(
            device="sim://", device_model="NeckEase 2", planned_s=300.0, heat=True, target_intensity=None, now=NOW
        )
    record = SessionSummary(
        session_id=session_id,
        plan=SessionPlan(minutes=5, heat=True),
        end_reason=reason,
        massage_s=115.0,
        max_intensity=2,
        too_much_count=2 if reason is EndReason.TOO_MUCH else 1 if reason is EndReason.STOPPED else 0,
        overrides=(),
        notices=NOTICES.get(reason, ()),
        advice=TOO_MUCH_ADVICE if reason is EndReason.TOO_MUCH else None,
    )
    app = make_app(connector=tui.SimConnector(), db_path=db)

    async def summary(pilot: Pilot[Any]) -> None:
        await tui.connected(pilot)
        await tui.until(pilot, lambda: app.history is not None, "the history")
        app.push_screen(SummaryScreen(record, app.history))
        await tui.on_screen(pilot, SummaryScreen)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=summary)
