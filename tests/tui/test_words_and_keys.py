"""What the live screen says and offers: no rule ids, no repeated words, the keys that work now.

On looptime's virtual clock, like the session tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from medctl.history import HistoryStore
from medctl.session import Phase
from medctl.tui.app import MedctlApp
from medctl.tui.live import SAID_FOR_S, LiveScreen
from medctl.tui.plan import PlanScreen
from medctl.tui.safety import SafetyScreen

pytestmark = pytest.mark.looptime

SIZE = (80, 24)


def text_of(pilot: Pilot[Any], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).content)


def footer_keys(live: LiveScreen) -> set[str]:
    """The descriptions the footer shows now."""
    return {binding.description for (_, binding, enabled, _) in live.active_bindings.values() if enabled}


async def start(pilot: Pilot[Any], tui: Any) -> LiveScreen:
    await tui.connected(pilot)
    await pilot.press(*("n",) * 6)
    await tui.on_screen(pilot, PlanScreen)
    await pilot.press("enter")
    live: LiveScreen = await tui.on_screen(pilot, LiveScreen)
    await tui.until(pilot, lambda: live.last_update is not None, "the first update")
    return live


async def test_a_refusal_says_no_rule_id_and_goes_away(make_app: Callable[..., MedctlApp], tui: Any) -> None:
    app = make_app(connector=tui.SimConnector())
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, tui)
        await pilot.press("plus")
        await tui.until(pilot, lambda: text_of(pilot, "#message").startswith("Not now: "), "the refusal")
        assert not re.search(r"\bR\d+\b", text_of(pilot, "#message"))
        await pilot.pause(SAID_FOR_S + 1)  # still in the warm-up: only the timer clears it
        assert text_of(pilot, "#message") == ""
        await pilot.press("space")


async def test_while_paused_the_footer_offers_resume_and_the_meter_shows_the_massager_stopped(
    make_app: Callable[..., MedctlApp], tui: Any
) -> None:
    app = make_app(connector=tui.SimConnector())
    async with app.run_test(size=SIZE) as pilot:
        live = await start(pilot, tui)
        assert "Pause" in footer_keys(live) and "Resume" not in footer_keys(live)
        assert "(d: choose)" not in str(app.screen.query_one(".device-bar", Static).content)  # d does nothing here
        await pilot.press("p")
        await tui.until(pilot, lambda: live.last_update is not None and live.last_update.phase is Phase.PAUSED, "pause")
        await pilot.pause()
        assert "Resume" in footer_keys(live) and "Pause" not in footer_keys(live)
        assert text_of(pilot, "#intensity").rstrip().endswith("stopped")
        assert not text_of(pilot, "#meaning").startswith("paused")  # the badge says PAUSED already
        await pilot.press("p")
        await tui.until(
            pilot, lambda: live.last_update is not None and live.last_update.phase is not Phase.PAUSED, "resume"
        )
        await pilot.pause()
        assert "Pause" in footer_keys(live) and text_of(pilot, "#intensity").rstrip().endswith("1 of 5")
        await pilot.press("space")


async def test_the_palette_lists_medctl_actions_only(make_app: Callable[..., MedctlApp], tui: Any) -> None:
    from textual.command import CommandList

    app = make_app(connector=tui.SimConnector())
    async with app.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        await pilot.press("ctrl+p")
        await tui.until(pilot, lambda: bool(app.screen.query(CommandList)) and "Quit" in _entries(app), "the palette")
        names = {entry.split("\n")[0] for entry in _entries(app).split("\x00")}
        assert names == {"Choose massager", "History", "Techniques", "Help", "Quit"}


def _entries(app: MedctlApp) -> str:
    from textual.command import CommandList

    return "\x00".join(str(option.prompt) for option in app.screen.query_one(CommandList).options)


async def test_frequency_advice_comes_before_the_safety_questions(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path
) -> None:
    with HistoryStore(tmp_path / "history.sqlite3") as store:  # a real session earlier today
        store.begin_session(
            device="serial:///dev/ttyUSB0", device_model="M", planned_s=300.0, heat=False, target_intensity=None
        )
    app = make_app(connector=tui.SimConnector())
    async with app.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        await tui.until(
            pilot, lambda: "already started a session today" in text_of(pilot, "#safety-frequency"), "advice"
        )
        assert isinstance(app.screen, SafetyScreen) and text_of(pilot, "#safety-count").startswith("Question 1 of")


@pytest.mark.parametrize("simulated", [True, False], ids=["demo", "real"])
async def test_advice_after_bad_feedback_promises_the_rest_rule_only_where_it_holds(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path, simulated: bool
) -> None:
    """A demo on the simulator is left out of R9: its advice must not say the next 48 hours need a reason."""
    from medctl.session import EndReason, SessionPlan, SessionSummary
    from medctl.tui.summary import SummaryScreen

    db = tmp_path / "history.sqlite3"
    with HistoryStore(db) as history:
        session_id = history.begin_session(
            device="sim://", device_model="NeckEase 2", planned_s=300.0, heat=False, target_intensity=None,
            simulated=simulated,
        )  # fmt: skip
    record = SessionSummary(
        session_id=session_id, plan=SessionPlan(minutes=5), end_reason=EndReason.STOPPED, massage_s=90.0,
        max_intensity=2, too_much_count=0, overrides=(), notices=(), advice=None,
    )  # fmt: skip
    app = make_app(connector=tui.SimConnector(), db_path=db)
    async with app.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        await tui.until(pilot, lambda: app.history is not None, "the history")
        app.push_screen(SummaryScreen(record, app.history))
        summary = await tui.on_screen(pilot, SummaryScreen)
        await pilot.press("down", "right", "enter")  # soreness: worse
        await tui.until(pilot, lambda: summary.saved, "the feedback saved")
        advice = str(summary.query_one("#advice", Static).content)
    assert "overdoing it" in advice
    assert ("48 hours" in advice) is not simulated
    assert ("demo on the simulator" in advice) is simulated
