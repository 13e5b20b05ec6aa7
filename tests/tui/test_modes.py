"""Massage modes on the live screen: shown and switched (o) on a massager with modes, absent otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from textual.widgets import Static

from medctl.devices.tuya.driver import open_tuya
from medctl.devices.tuya.massager import TuyaMassager
from medctl.errors import Unsupported
from medctl.history import HistoryStore
from medctl.transport.ble import BleBackend
from medctl.tui.app import MedctlApp
from medctl.tui.live import LiveScreen
from medctl.tui.plan import PlanScreen
from simulator.bleak_backend import BumbleClient, BumbleScanner
from simulator.config import DEFAULT_MODES, DeviceConfig
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


async def start(pilot: Any, tui: Any) -> LiveScreen:
    await tui.connected(pilot)
    await pilot.press(*ALL_CLEAR)
    await tui.on_screen(pilot, PlanScreen)
    await pilot.press("enter")
    live: LiveScreen = await tui.on_screen(pilot, LiveScreen)
    await tui.until(pilot, lambda: live.last_update is not None, "the first update")
    return live


async def test_a_massager_with_modes_shows_and_switches_them(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path
) -> None:
    async with virtual_tuya() as air:
        app = make_app(device=tuya_url(air), connector=connector(air))
        async with app.run_test(size=SIZE) as pilot:
            live = await start(pilot, tui)
            modes = live._client.capabilities.modes
            assert len(modes) >= 2
            mode = live.query_one("#mode", Static)
            assert mode.display and str(mode.content).startswith("Mode      as the massager starts")
            await tui.until(pilot, lambda: air.device.power, "the massager to run")
            await pilot.press("o")  # during warm-up too: a pattern is not an intensity
            await tui.until(pilot, lambda: live.session is not None and live.session.mode == modes[0], "mode 1")
            await pilot.press("o")
            await tui.until(pilot, lambda: air.device.pattern == 1, "the device on the second pattern")
            await tui.until(pilot, lambda: str(mode.content).startswith(f"Mode      {modes[1]}"), "mode shown")
            assert live.session is not None and live.session.intensity == 1  # nothing else changed
            with pytest.raises(Unsupported, match="no massage mode 'swirl'"):
                await live.session.set_mode("swirl")
            await pilot.press("space")
    with HistoryStore(tmp_path / "history.sqlite3") as history:
        (record,) = history.sessions(include_simulated=True)
        switched = [e.detail for e in history.events(record.id) if e.kind == "mode"]
    assert switched == [modes[0], modes[1]]


async def test_our_simulator_offers_its_modes_and_the_device_follows(
    make_app: Callable[..., MedctlApp], tui: Any
) -> None:
    connector = tui.SimConnector()
    app = make_app(connector=connector)
    async with app.run_test(size=SIZE) as pilot:
        live = await start(pilot, tui)
        assert live._client.capabilities.modes == DEFAULT_MODES
        assert live.query_one("#mode").display
        await pilot.press("o", "o")
        await tui.until(pilot, lambda: connector.device is not None and connector.device.state.mode == 1, "mode 1")
        assert live.session is not None and live.session.mode == DEFAULT_MODES[1]
        await pilot.press("space")


async def test_a_massager_without_modes_shows_none(make_app: Callable[..., MedctlApp], tui: Any) -> None:
    app = make_app(connector=tui.SimConnector(config=DeviceConfig(modes=())))
    async with app.run_test(size=SIZE) as pilot:
        live = await start(pilot, tui)
        assert not live.query_one("#mode").display
        assert live.check_action("next_mode", ()) is False  # no key in the footer either
        await pilot.press("o")
        await pilot.pause()
        assert live.session is not None and live.session.mode is None
        with pytest.raises(Unsupported, match="it has none"):
            await live.session.set_mode("knead")
        await pilot.press("space")
