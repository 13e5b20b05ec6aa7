"""The bell at the moments that matter (increases unlock, the step-down, the end), switched off and remembered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from medctl.session import EndReason
from medctl.tui.app import MedctlApp
from medctl.tui.config import TuiConfig, load_config, save_config
from medctl.tui.live import LiveScreen
from medctl.tui.plan import PlanScreen
from medctl.tui.summary import SummaryScreen

pytestmark = pytest.mark.looptime

SIZE = (80, 24)
ALL_CLEAR = ("n",) * 6


async def start(pilot: Pilot[Any], tui: Any, *keys: str) -> LiveScreen:
    await tui.connected(pilot)
    await pilot.press(*ALL_CLEAR)
    await tui.on_screen(pilot, PlanScreen)
    await pilot.press(*keys, "enter")
    live: LiveScreen = await tui.on_screen(pilot, LiveScreen)
    await tui.until(pilot, lambda: live.last_update is not None, "the first update")
    return live


def count_bells(app: MedctlApp, monkeypatch: pytest.MonkeyPatch) -> list[None]:
    rung: list[None] = []
    monkeypatch.setattr(app, "bell", lambda: rung.append(None))
    return rung


async def test_the_bell_rings_when_increases_unlock_at_the_step_down_and_at_the_end(
    make_app: Callable[..., MedctlApp], tui: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(device="sim://?speed=20")
    rung = count_bells(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, tui)
        summary = await tui.on_screen(pilot, SummaryScreen, limit=30)
        assert summary.record.end_reason is EndReason.COMPLETED
    assert len(rung) == 3


async def test_the_bell_switched_off_stays_silent_and_is_remembered(
    make_app: Callable[..., MedctlApp], tui: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    save_config(tmp_path / "config.toml", TuiConfig(device="sim://?speed=20"))
    app = make_app()
    rung = count_bells(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        live = await start(pilot, tui)
        await pilot.press("b")
        await pilot.pause()
        assert not live.bell and str(live.query_one("#message", Static).content) == "Bell off."
        await tui.on_screen(pilot, SummaryScreen, limit=30)
    assert rung == []
    assert load_config(tmp_path / "config.toml").config == TuiConfig(device="sim://?speed=20", bell=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        live = await start(pilot, tui)
        assert not live.bell  # remembered: a new session starts silent
        await pilot.press("space")
