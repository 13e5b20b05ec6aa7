"""Choosing the massager: the list, a typed address, the remembered default, Bluetooth when there is one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, OptionList, Static

from medctl.errors import TransportError
from medctl.tui.app import MedctlApp
from medctl.tui.config import load_config
from medctl.tui.connect import SCAN_ID, ConnectScreen
from medctl.tui.devices import DeviceChoice, Discovery, ble_choice
from medctl.tui.safety import SafetyScreen

pytestmark = pytest.mark.looptime

SIZE = (80, 24)


def text_of(pilot: Pilot[Any], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).content)


def entries(app: MedctlApp) -> list[str | None]:
    options = app.screen.query_one(OptionList)
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


async def test_a_typed_address_connects_and_is_remembered(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path
) -> None:
    connector = tui.SimConnector()
    app = make_app(connector=connector)
    async with app.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        assert "SIMULATED" in text_of(pilot, ".device-bar")
        await pilot.press("d")
        await tui.on_screen(pilot, ConnectScreen)
        await pilot.press("tab", *"tcp://nowhere", "enter")
        await pilot.pause()
        assert "give a host and port" in text_of(pilot, "#connect-message")
        await pilot.press("home", "ctrl+k", *"tcp://127.0.0.1:7000", "enter")
        await tui.on_screen(pilot, SafetyScreen)  # connected: the connect screen closes by itself
        assert app.link.url == "tcp://127.0.0.1:7000"
        assert "Massager: tcp://127.0.0.1:7000" in text_of(pilot, ".device-bar")
    assert load_config(tmp_path / "config.toml").config.device == "tcp://127.0.0.1:7000"
    again = make_app(connector=tui.SimConnector())
    async with again.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        assert again.link.url == "tcp://127.0.0.1:7000"


async def test_the_list_offers_the_simulators_and_ports_and_enter_picks_one(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path
) -> None:
    port = DeviceChoice("serial:///dev/ttyUSB7", "/dev/ttyUSB7", "CP2102 USB to UART")
    app = make_app(connector=tui.SimConnector(), discovery=tui.FixedDiscovery([port]))
    async with app.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        await pilot.press("d")
        await tui.on_screen(pilot, ConnectScreen)
        assert entries(app) == ["sim://", "sim://?speed=60", "serial:///dev/ttyUSB7"]  # no Bluetooth transport
        assert not app.screen.query_one("#remember", Checkbox).value  # a simulator: not remembered by default
        await pilot.press("down", "down")
        assert app.screen.query_one("#remember", Checkbox).value  # a real port: remembered by default
        await pilot.press("up", "enter")  # trying the demo
        await tui.on_screen(pilot, SafetyScreen)
        assert app.link.url == "sim://?speed=60"
    assert load_config(tmp_path / "config.toml").config.device is None  # the demo did not become the default


async def test_a_massager_that_cannot_be_reached_opens_the_connect_screen(
    make_app: Callable[..., MedctlApp], tui: Any
) -> None:
    @asynccontextmanager
    async def unreachable(url: str) -> AsyncIterator[Any]:
        raise TransportError(f"cannot open serial port {url}: no such port")
        yield

    app = make_app(connector=unreachable, device="serial:///dev/ttyNOPE")
    async with app.run_test(size=SIZE) as pilot:
        await tui.on_screen(pilot, ConnectScreen)
        await tui.until(pilot, lambda: app.link_state.phase == "failed", "the failure")
        assert "Could not connect to serial:///dev/ttyNOPE" in text_of(pilot, ".device-bar")
        # the reason, whole, on the connect screen (one line of device bar would cut it)
        await tui.until(pilot, lambda: "no such port" in text_of(pilot, "#connect-message"), "the reason")


async def test_a_corrupt_settings_file_is_a_notice_and_the_simulator_is_used(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path
) -> None:
    (tmp_path / "config.toml").write_text('device = "serial:///dev/ttyUSB0\n')
    app = make_app(connector=tui.SimConnector())
    async with app.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        notices = [n.message for n in app._notifications]
        assert any("is not valid TOML" in n and "ignored" in n for n in notices)
        assert app.link.url == "sim://"


class BluetoothDiscovery(Discovery):
    def __init__(self, scan: Any) -> None:
        self.scan = scan

    def serial_ports(self) -> list[DeviceChoice]:
        return []

    def ble_scan(self) -> Any:
        return self.scan


async def test_the_bluetooth_scan_says_when_there_is_no_adapter_and_lists_what_it_finds(
    make_app: Callable[..., MedctlApp], tui: Any
) -> None:
    adapters: list[str] = []  # none plugged in at first

    async def scan() -> list[DeviceChoice]:
        if not adapters:
            raise OSError("No Bluetooth adapters found.")
        return [ble_choice(SimpleNamespace(address="C0:FF:EE:00:00:01", name="NeckEase 2", rssi=-60))]

    app = make_app(connector=tui.SimConnector(), discovery=BluetoothDiscovery(scan))
    async with app.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        await pilot.press("d")
        await tui.on_screen(pilot, ConnectScreen)
        assert entries(app)[-1] == SCAN_ID
        await pilot.press("f6")
        await tui.until(pilot, lambda: "failed" in text_of(pilot, "#connect-message"), "the scan's failure")
        message = text_of(pilot, "#connect-message")
        assert "No Bluetooth adapters found." in message and "simulator still work" in message
        adapters.append("hci0")
        await pilot.press("end", "enter")  # the scan entry, last in the list
        await tui.until(pilot, lambda: "ble://C0:FF:EE:00:00:01" in entries(app), "the scan's result")
        assert "found 1" in text_of(pilot, "#connect-message")


def test_scan_results_of_any_shape_become_entries() -> None:
    assert ble_choice("AA:BB") == DeviceChoice("ble://AA:BB", "AA:BB", "Bluetooth")
    assert ble_choice(SimpleNamespace(url="ble://X", name=None, address="X")).label == "X"
    named = ble_choice(SimpleNamespace(address="X", name="NeckEase", rssi=-70))
    assert named == DeviceChoice("ble://X", "NeckEase", "Bluetooth, signal -70 dBm")


def test_the_scan_is_offered_only_when_the_ble_transport_has_one() -> None:
    try:
        import medctl.transport.ble as ble
    except ImportError:
        assert Discovery().ble_scan() is None
    else:
        assert (Discovery().ble_scan() is None) == (not callable(getattr(ble, "scan", None)))
