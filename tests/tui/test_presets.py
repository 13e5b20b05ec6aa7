"""The plan screen's saved plans: s saves "my usual", u fills it in, a repeats the last session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from medctl.presets import load_preset
from medctl.session import SessionPlan
from medctl.tui.app import MedctlApp
from medctl.tui.live import LiveScreen
from medctl.tui.plan import PlanScreen
from medctl.tui.summary import SummaryScreen
from medctl.tui.widgets import Stepper

pytestmark = pytest.mark.looptime

SIZE = (80, 24)
ALL_CLEAR = ("n",) * 6


def fields(plan: PlanScreen) -> tuple[object, ...]:
    return tuple(plan.query_one(f"#{name}", Stepper).value for name in ("minutes", "heat", "target"))


def message(plan: PlanScreen) -> str:
    return str(plan.query_one("#plan-message", Static).content)


async def test_save_my_usual_fill_it_in_and_repeat_the_last(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path
) -> None:
    presets = tmp_path / "presets.toml"
    app = make_app(connector=tui.SimConnector())
    async with app.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        await pilot.press(*ALL_CLEAR)
        plan: PlanScreen = await tui.on_screen(pilot, PlanScreen)
        await pilot.press("u")
        assert message(plan).startswith('no "my usual" plan saved yet')
        await pilot.press("right", "right", "right", "down", "right", "down", "right", "s")  # 8 min, heat, target 2
        assert load_preset(presets, "usual") == SessionPlan(minutes=8, heat=True, target_intensity=2)
        assert message(plan).startswith('Saved as "my usual"')
        await pilot.press("up", "up", "left", "left", "left")  # back to 5 minutes: 5, heat on, 2
        await pilot.press("enter")  # a session with it: the last plan
        await tui.on_screen(pilot, LiveScreen)
        await pilot.press("space")
        await tui.on_screen(pilot, SummaryScreen)
        await pilot.press("escape")
        await tui.on_screen(pilot, PlanScreen)
        assert load_preset(presets, "last") == SessionPlan(minutes=5, heat=True, target_intensity=2)
        await pilot.press("u")
        assert fields(plan) == (8.0, True, 2) and message(plan) == '"My usual": 8 minutes, heat on, target 2.'
        await pilot.press("a")
        assert fields(plan) == (5.0, True, 2) and message(plan).startswith('"Repeat last": 5 minutes')
