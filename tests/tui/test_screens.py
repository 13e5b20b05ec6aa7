"""Every screen opens and closes with the keyboard; the palette lists the main actions; techniques run.

On looptime's virtual clock, like the session tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from medctl.tui.app import MedctlApp
from medctl.tui.connect import ConnectScreen
from medctl.tui.help import HelpScreen
from medctl.tui.history import HistoryScreen
from medctl.tui.live import LiveScreen
from medctl.tui.plan import PlanScreen
from medctl.tui.safety import SafetyScreen
from medctl.tui.techniques import TECHNIQUES, TechniquesScreen

pytestmark = pytest.mark.looptime

SIZE = (80, 24)


def text_of(pilot: Pilot[Any], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).content)


async def test_each_screen_opens_and_closes_and_the_palette_lists_the_main_actions(
    make_app: Callable[..., MedctlApp], tui: Any
) -> None:
    app = make_app(connector=tui.SimConnector())
    async with app.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        assert isinstance(app.screen, SafetyScreen)
        await pilot.press("ctrl+p", *"history")  # the command palette lists the main actions
        await tui.until(pilot, lambda: "History" in _palette_entries(app), "the palette's match")
        await pilot.press("enter")
        await tui.on_screen(pilot, HistoryScreen)
        await pilot.press("escape")
        for key, kind in (("d", ConnectScreen), ("l", HistoryScreen), ("m", TechniquesScreen), ("?", HelpScreen)):
            await pilot.press("question_mark" if key == "?" else key)
            await tui.on_screen(pilot, kind)
            await pilot.press("escape")
            await tui.on_screen(pilot, SafetyScreen)
        await pilot.press(*("n",) * 6)
        await tui.on_screen(pilot, PlanScreen)
        await pilot.press("escape")  # back to a fresh safety check
        await tui.on_screen(pilot, SafetyScreen)
        assert text_of(pilot, "#safety-count").startswith("Question 1 of")
        await pilot.press(*("n",) * 6, "enter")
        await tui.on_screen(pilot, LiveScreen)
        await pilot.press("l", "d", "m")  # nothing opens over a running session
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)
        await pilot.press("space")


def _palette_entries(app: MedctlApp) -> str:
    from textual.command import CommandList

    return " ".join(str(option.prompt) for option in app.screen.query_one(CommandList).options)


async def test_techniques_are_guided_and_timed(make_app: Callable[..., MedctlApp], tui: Any) -> None:
    app = make_app(connector=tui.SimConnector())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        guide: TechniquesScreen = await tui.on_screen(pilot, TechniquesScreen)
        assert text_of(pilot, "#technique-name").startswith("Gentle neck massage")
        await pilot.press("enter")  # step 1, untimed
        assert guide.step == 0 and guide.left is None
        await pilot.press("enter")  # step 2: 30 seconds of broad squeezing
        assert guide.step == 1 and guide.left is not None and 25 < guide.left <= 30
        await pilot.pause(10)
        await pilot.press("p")  # hold the clock
        left = guide.left
        await pilot.pause(20)
        assert guide.step == 1 and guide.left == left and "paused" in text_of(pilot, "#step-status")
        await pilot.press("p")
        await tui.until(pilot, lambda: guide.step == 2, "the next step by itself", limit=25)
        assert guide.left == pytest.approx(30, abs=1)
        await pilot.press("right")  # the trigger-point release
        assert text_of(pilot, "#technique-name").startswith("Trigger-point release")
        assert "couple of days" in text_of(pilot, "#stop-when")
        await pilot.press("enter", "enter", "enter", "enter")
        hold = TECHNIQUES[1].steps[3]
        assert guide.step == 3 and hold.seconds == 20 and "10–20 s" in hold.text
        await tui.until(pilot, lambda: guide.step == 4, "the end of the hold", limit=21)
        assert text_of(pilot, "#step-status").startswith("Done.")
        await pilot.press("escape")
        await tui.on_screen(pilot, SafetyScreen)
