"""Helpers for the TUI tests: an app on temporary files, a simulator the test can reach, waits.

Nothing here creates a device in a fixture: the connector below creates the simulated massager
when the app connects, inside the test's own event loop, so under ``looptime`` the device, the
session and the app's workers all run on the virtual clock.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

import simulator
from medctl.client import DeviceClient
from medctl.clock import Clock, ScaledClock
from medctl.errors import TransportError
from medctl.transport.sim import SimTransport
from medctl.tui.app import MedctlApp
from medctl.tui.devices import DeviceChoice, Discovery
from simulator import DeviceConfig, SimulatedDevice

SIZE = (80, 24)


class FixedDiscovery(Discovery):
    """The connect screen's list without looking at this machine's ports or Bluetooth."""

    def __init__(self, ports: list[DeviceChoice] | None = None, ble: Any = None) -> None:
        self.ports = ports or []
        self.ble = ble

    def serial_ports(self) -> list[DeviceChoice]:
        return list(self.ports)

    def ble_scan(self) -> Any:
        return self.ble


class FrozenClock:
    """Session time that moves only when the test sets it.

    Sleeps pass on the loop's time, 25 times shorter than asked, so the session's control loop
    (and with it the heartbeat) turns quickly although its time stands still.
    """

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / 25)


class JumpClock:
    """Session time on the loop's clock, plus jumps: ``jump(270)`` is four and a half minutes later.

    Long stretches of a session then cost nothing, and the rest runs at the loop's own pace.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return asyncio.get_running_loop().time() + self.offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def jump(self, seconds: float) -> None:
        self.offset += seconds


class PluggableTransport(SimTransport):
    """The simulator's link, which cannot be re-opened while the test has 'unplugged' it."""

    def __init__(self, connector: SimConnector, device: SimulatedDevice, *, demo: bool) -> None:
        super().__init__(device=device, demo=demo)
        self._connector = connector

    async def open(self) -> None:
        if self._connector.unplugged:
            raise TransportError("the massager is out of range")
        await super().open()


class SimConnector:
    """Connects the app to a simulated massager made on the running loop; ``device`` reaches it."""

    def __init__(self, *, speed: float = 1.0, clock: Clock | None = None, config: DeviceConfig | None = None) -> None:
        """*speed* runs session and device time faster than the loop, as ``sim://?speed=`` does."""
        self.config = config or DeviceConfig()
        self.device: SimulatedDevice | None = None
        self.unplugged = False
        self._speed = speed
        self._clock = clock

    @asynccontextmanager
    async def __call__(self, url: str) -> AsyncIterator[DeviceClient]:
        async with SimulatedDevice(self.config, clock=simulator.ScaledClock(self._speed)) as device:
            self.device = device
            clock = self._clock or ScaledClock(self._speed)
            client = DeviceClient(
                PluggableTransport(self, device, demo=url.startswith("sim://")), address=url, clock=clock
            )
            await client.open()
            try:
                yield client
            finally:
                await client.close()


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., MedctlApp]:
    """``make_app(**options)``: a MedctlApp on a temporary history, config and export folder."""

    def make(**options: Any) -> MedctlApp:
        options.setdefault("db_path", tmp_path / "history.sqlite3")
        options.setdefault("config_path", tmp_path / "config.toml")
        options.setdefault("export_dir", tmp_path)
        options.setdefault("discovery", FixedDiscovery())
        return MedctlApp(**options)

    return make


@pytest.fixture
def utc_local_time() -> Iterator[None]:
    """Local time is UTC for the test, so times on screen do not depend on the machine."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


class Kit:
    """What the TUI tests share (conftest helpers are reached through the ``tui`` fixture)."""

    SimConnector = SimConnector
    FrozenClock = FrozenClock
    JumpClock = JumpClock
    FixedDiscovery = FixedDiscovery

    @staticmethod
    async def until(
        pilot: Pilot[Any], condition: Callable[[], object], what: str, *, step: float = 0.1, limit: float = 10
    ) -> None:
        """Sleep (on the loop's clock) until *condition* holds, then let the screen catch up.

        Fails after *limit* seconds of that clock: virtual under looptime, real otherwise.
        """
        for _ in range(round(limit / step)):
            if condition():
                break
            await asyncio.sleep(step)
        assert condition(), f"waited {limit} s for: {what}"
        await pilot.pause()

    async def on_screen(self, pilot: Pilot[Any], kind: type[Screen[Any]], *, limit: float = 10) -> Any:
        """Wait until the app shows a screen of *kind*; return it."""
        await self.until(pilot, lambda: isinstance(pilot.app.screen, kind), f"the {kind.__name__}", limit=limit)
        return pilot.app.screen

    async def connected(self, pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, MedctlApp)
        await self.until(pilot, lambda: app.link_state.phase == "connected", "the massager to connect")


@pytest.fixture
def tui() -> Kit:
    return Kit()
