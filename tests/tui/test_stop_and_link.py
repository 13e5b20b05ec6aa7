"""STOP from every phase, and a lost link: shown, the massager stopped, reconnected (R6, R10).

On looptime's virtual clock; the simulator the app connects to is made inside each test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from medctl.history import HistoryStore
from medctl.session import EndReason, Phase
from medctl.session.rules import DEFAULT_PAUSE_LIMIT_S
from medctl.tui.app import MedctlApp
from medctl.tui.help import HelpScreen
from medctl.tui.live import LiveScreen
from medctl.tui.plan import PlanScreen
from medctl.tui.summary import SummaryScreen

pytestmark = pytest.mark.looptime

SIZE = (80, 24)


def text_of(pilot: Pilot[Any], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).content)


def phase(live: LiveScreen) -> Phase | None:
    return None if live.last_update is None else live.last_update.phase


async def start_session(pilot: Pilot[Any], tui: Any, *keys: str) -> LiveScreen:
    await tui.connected(pilot)
    await pilot.press(*("n",) * 6)
    await tui.on_screen(pilot, PlanScreen)
    await pilot.press(*keys, "enter")
    live: LiveScreen = await tui.on_screen(pilot, LiveScreen)
    await tui.until(pilot, lambda: phase(live) is Phase.WARM_UP, "the warm-up")
    return live


async def reach(pilot: Pilot[Any], tui: Any, live: LiveScreen, wanted: Phase, connector: Any, clock: Any) -> None:
    """Bring the running session into phase *wanted*: by time, by a key, or by a radio gap."""
    if wanted is Phase.MASSAGE:
        clock.jump(60)
    elif wanted is Phase.STEP_DOWN:
        clock.jump(270)
    elif wanted is Phase.PAUSED:
        await pilot.press("p")
    elif wanted is Phase.INTERRUPTED:
        connector.device.faults.drop_links()
    await tui.until(pilot, lambda: phase(live) is wanted, f"the {wanted.value} phase")


@pytest.mark.parametrize(
    ("wanted", "key"),
    [
        (Phase.WARM_UP, "space"),
        (Phase.MASSAGE, "escape"),
        (Phase.STEP_DOWN, "space"),
        (Phase.PAUSED, "escape"),
        (Phase.INTERRUPTED, "space"),
    ],
)
async def test_stop_works_from_every_phase(
    make_app: Callable[..., MedctlApp], tui: Any, wanted: Phase, key: str
) -> None:
    clock = tui.JumpClock()
    connector = tui.SimConnector(clock=clock)
    app = make_app(connector=connector)
    async with app.run_test(size=SIZE) as pilot:
        live = await start_session(pilot, tui, "down", "right")  # with heat, so STOP must turn it off too
        await reach(pilot, tui, live, wanted, connector, clock)
        await pilot.press(key)
        summary: SummaryScreen = await tui.on_screen(pilot, SummaryScreen)
        assert summary.record.end_reason is EndReason.STOPPED
        assert text_of(pilot, "#headline").startswith("You stopped the session, after ")
        # with the link down, the massager stops by its own watchdog (3 s); otherwise at once
        stopped = lambda: not connector.device.state.running and connector.device.state.heat == 0  # noqa: E731
        await tui.until(pilot, stopped, "the massager to stop", limit=4 if wanted is Phase.INTERRUPTED else 0.1)


async def test_space_stops_the_session_from_the_help_over_it(make_app: Callable[..., MedctlApp], tui: Any) -> None:
    connector = tui.SimConnector()
    app = make_app(connector=connector)
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot, tui)
        await pilot.press("question_mark")
        await tui.on_screen(pilot, HelpScreen)
        await pilot.press("space")
        summary: SummaryScreen = await tui.on_screen(pilot, SummaryScreen)  # the help closes with the session
        assert summary.record.end_reason is EndReason.STOPPED
        assert not connector.device.state.running
        assert [type(screen).__name__ for screen in app.screen_stack[-3:]] == [
            "SafetyScreen",
            "PlanScreen",
            "SummaryScreen",
        ]


async def test_a_lost_link_is_shown_and_resuming_after_the_reconnect_starts_at_level_one(
    make_app: Callable[..., MedctlApp], tui: Any
) -> None:
    clock = tui.JumpClock()
    connector = tui.SimConnector(clock=clock)
    app = make_app(connector=connector)
    async with app.run_test(size=SIZE) as pilot:
        live = await start_session(pilot, tui)
        clock.jump(60)
        await tui.until(pilot, lambda: phase(live) is Phase.MASSAGE, "the massage phase")
        await pilot.press("plus")
        await tui.until(pilot, lambda: connector.device.state.intensity == 2, "intensity 2")
        connector.device.faults.drop_links()
        await tui.until(pilot, lambda: phase(live) is Phase.INTERRUPTED, "the interruption")
        assert text_of(pilot, "#phase") == "LINK LOST"
        assert "watchdog" in text_of(pilot, "#message")
        await tui.until(pilot, lambda: "reconnected" in text_of(pilot, "#message"), "the reconnect")
        assert "resume" in text_of(pilot, "#meaning")
        await tui.until(pilot, lambda: not connector.device.state.running, "the massager stopped")
        await pilot.press("p")
        await tui.until(pilot, lambda: phase(live) is Phase.MASSAGE, "massage again")
        assert connector.device.state.running and connector.device.state.intensity == 1
        await pilot.press("space")
        await tui.on_screen(pilot, SummaryScreen)


async def test_a_link_that_stays_lost_ends_the_session_and_r_reconnects_later(
    make_app: Callable[..., MedctlApp], tui: Any
) -> None:
    connector = tui.SimConnector()
    app = make_app(connector=connector)
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot, tui)
        connector.unplugged = True
        connector.device.faults.drop_links()
        # medctl keeps trying for as long as the session may stay interrupted (its pause limit)
        summary: SummaryScreen = await tui.on_screen(pilot, SummaryScreen, limit=DEFAULT_PAUSE_LIMIT_S + 30)
        assert summary.record.end_reason is EndReason.LINK_LOST
        assert "link to the massager was lost" in text_of(pilot, "#headline")
        assert "watchdog" in text_of(pilot, "#notices")
        assert not connector.device.state.running
        assert "lost" in text_of(pilot, ".device-bar")
        await pilot.press("escape")
        await tui.on_screen(pilot, PlanScreen)
        await pilot.press("r")
        await tui.until(pilot, lambda: "reconnect failed" in str(list(app._notifications)).lower(), "a failed try")
        connector.unplugged = False
        await pilot.press("r")
        await tui.until(pilot, lambda: app.link_state.phase == "connected", "the link back")
        assert "Massager: built-in simulator" in text_of(pilot, ".device-bar")


async def test_quitting_during_a_session_stops_the_massager_and_records_it(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path
) -> None:
    connector = tui.SimConnector()
    app = make_app(connector=connector)
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot, tui, "down", "right")
        assert connector.device.state.running and connector.device.state.heat == 1
        await pilot.press("ctrl+q")
    assert not connector.device.state.running and connector.device.state.heat == 0
    with HistoryStore(tmp_path / "history.sqlite3") as history:
        (record,) = history.sessions()
    assert record.state == "ended" and record.end_reason == "stopped"


async def test_after_a_lost_link_continue_is_offered_and_starts_a_new_warm_up_in_the_same_session(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path
) -> None:
    clock = tui.JumpClock()
    connector = tui.SimConnector(clock=clock)
    app = make_app(connector=connector)
    async with app.run_test(size=SIZE) as pilot:
        live = await start_session(pilot, tui)
        assert live.check_action("continue_session", ()) is False  # nothing to continue yet
        clock.jump(90)
        await tui.until(pilot, lambda: phase(live) is Phase.MASSAGE, "the massage phase")
        connector.device.faults.drop_links()
        await tui.until(pilot, lambda: live.session is not None and live.session.can_continue, "the link back")
        await pilot.pause()
        assert live.check_action("continue_session", ()) is True
        await pilot.press("k")
        await tui.until(pilot, lambda: phase(live) is Phase.WARM_UP, "a new warm-up")  # even after a short gap
        assert connector.device.state.running and connector.device.state.intensity == 1
        assert live.check_action("continue_session", ()) is False
        await pilot.press("space")
        await tui.on_screen(pilot, SummaryScreen)
    with HistoryStore(tmp_path / "history.sqlite3") as history:
        (record,) = history.sessions()
        kinds = [e.kind for e in history.events(record.id)]
    assert kinds.index("link_lost") < kinds.index("reconnected") < kinds.index("continue")
    assert record.massage_s >= 90  # one session: the time before the gap counts
