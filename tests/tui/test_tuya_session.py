"""A guided session through the TUI on the Tuya simulator: keyboard only, over bleak on a virtual BLE
link, on the virtual clock. The app connects with the Tuya driver through its connector."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import pytest

from medctl.devices.tuya.driver import open_tuya
from medctl.devices.tuya.massager import TuyaMassager
from medctl.session import EndReason
from medctl.transport.ble import BleBackend
from medctl.tui.app import MedctlApp
from medctl.tui.live import LiveScreen
from medctl.tui.plan import PlanScreen
from medctl.tui.summary import SummaryScreen
from medctl.tui.widgets import DeviceBar
from simulator.bleak_backend import BumbleClient, BumbleScanner
from simulator.tuya import TuyaIdentity, VirtualTuya, virtual_tuya

pytestmark = pytest.mark.looptime

SIZE = (80, 24)
ALL_CLEAR = ("n",) * 6
ID = TuyaIdentity()


def tuya_url(air: VirtualTuya) -> str:
    query = urlencode({"uuid": ID.uuid, "device_id": ID.device_id, "local_key": ID.local_key})
    return f"tuya://{air.address}?{query}"


def connector(air: VirtualTuya) -> Callable[[str], Any]:
    @asynccontextmanager
    async def connect(url: str) -> AsyncIterator[TuyaMassager]:
        backend = BleBackend(BumbleScanner, BumbleClient, {"radio": air.central})
        async with open_tuya(url, backend=backend, simulated=True) as massager:
            yield massager

    return connect


async def test_a_whole_session_on_the_tuya_simulator_through_the_tui(
    make_app: Callable[..., MedctlApp], tui: Any
) -> None:
    async with virtual_tuya() as air:
        app = make_app(device=tuya_url(air), connector=connector(air))
        async with app.run_test(size=SIZE) as pilot:
            await tui.connected(pilot)
            await pilot.press(*ALL_CLEAR)
            await tui.on_screen(pilot, PlanScreen)
            bar = str(app.screen.query_one(DeviceBar).content)
            assert "NO cut-off if this computer fails" in bar  # said plainly before the first session
            await pilot.press("down", "right", "enter")  # heat on; 5 minutes
            live: LiveScreen = await tui.on_screen(pilot, LiveScreen)
            await tui.until(pilot, lambda: live.last_update is not None, "the first update")
            await tui.until(pilot, lambda: air.device.power and air.device.heat_on, "the massager to run with heat")
            assert air.device.gear == 0  # the lightest gear first (R2)
            summary = await tui.on_screen(pilot, SummaryScreen, limit=400)
            assert summary.record.end_reason is EndReason.COMPLETED
            assert air.device.power is False and air.device.heat_on is False


async def test_link_loss_is_told_plainly_and_the_stop_key_ends_the_session(
    make_app: Callable[..., MedctlApp], tui: Any
) -> None:
    async with virtual_tuya() as air:
        app = make_app(device=tuya_url(air), connector=connector(air))
        async with app.run_test(size=SIZE) as pilot:
            await tui.connected(pilot)
            await pilot.press(*ALL_CLEAR)
            await tui.on_screen(pilot, PlanScreen)
            await pilot.press("enter")
            await tui.on_screen(pilot, LiveScreen)
            await tui.until(pilot, lambda: air.device.power, "the massager to run")
            air.peripheral.drop()
            await tui.until(pilot, lambda: app.link_state.phase == "lost", "the link to go")
            assert "NO watchdog and keeps running" in app.link_state.text()
            assert air.device.power is True  # nothing on the device stops it: the person is told to
            air.peripheral.restore()
            await tui.until(pilot, lambda: not air.device.power, "the reconnect to power it off", limit=30)
            await pilot.press("space")
            summary = await tui.on_screen(pilot, SummaryScreen, limit=30)
            assert summary.record.end_reason is EndReason.STOPPED
            assert air.device.power is False
