"""Heat levels with the degrees the device aims at, read over the wire at connect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Static

from medctl.tui.app import MedctlApp
from medctl.tui.live import LiveScreen
from medctl.tui.plan import PlanScreen

pytestmark = pytest.mark.looptime

SIZE = (80, 24)
ALL_CLEAR = ("n",) * 6


async def test_the_heat_level_shows_the_degrees_the_device_aims_at(
    make_app: Callable[..., MedctlApp], tui: Any
) -> None:
    app = make_app(connector=tui.SimConnector())
    async with app.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        client = app.link.client
        assert client is not None and client.identity is not None
        caps = client.identity.capabilities
        assert caps.heat_targets_c == (38.0, 42.0)  # reported by the device over the wire
        await pilot.press(*ALL_CLEAR)
        await tui.on_screen(pilot, PlanScreen)
        await pilot.press("down", "right", "enter")  # heat on
        live: LiveScreen = await tui.on_screen(pilot, LiveScreen)
        await tui.until(pilot, lambda: live.last_update is not None and live.last_update.heat == 1, "heat 1")
        assert str(live.query_one("#heat", Static).content).endswith("1 of 2 (~38 °C)")
        await pilot.press("space")
