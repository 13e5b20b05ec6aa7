"""A Tuya BLE neck massager behind medctl's :class:`~medctl.devices.base.Massager` and
:class:`~medctl.devices.device.Device` interfaces, so the guided session and the TUI drive it.

What the device lacks, the capabilities declare, and this driver does not pretend otherwise:

- no link watchdog (``watchdog_s=None``): a controller that vanishes leaves it running until
  its own timer, so the engine stops it explicitly on every exit path, and :meth:`close` does too;
- no heartbeat: link loss is bleak's disconnect callback, nothing else (``keepalive`` returns None);
- heat on/off only (one heat level), no pad temperature (``reports_pad_temp=False``), no faults;
- gears map to intensity levels per the product file (product.py); the pattern is the mode,
  set to the product's default at every start, so a session starts in a known state.

The reference firmware ignores gear, heat and pattern while the power is off, so ``start``
switches the power on first, then sets gear, pattern and the wanted heat, one data point per
write; until the gear write lands the device runs at the gear it was left at. Every write but
STOP checks the session's end latch under the write lock, so nothing queued before a STOP goes
out after it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Final

from medctl.coalesce import LatestWinsQueue
from medctl.devices.base import (
    ALL_FAULTS,
    Capabilities,
    DeviceIdentity,
    DeviceStatus,
    FaultFlag,
    FaultListener,
    StatusListener,
)
from medctl.devices.tuya.client import TuyaClient
from medctl.devices.tuya.product import Product
from medctl.devices.tuya.protocol import PROTOCOL_VERSION, DataPoint, DpValue
from medctl.errors import CommandCancelled, ConnectionLost, SessionRunning
from medctl.session.choice import DEFAULT_HISTORY

if TYPE_CHECKING:
    from medctl.history import HistoryStore
    from medctl.session import HistoryChoice, SafetyCheck, Session, SessionPlan

DRIVER_NAME: Final = "tuya"
#: Statuses a slow ``updates()`` reader may fall behind by before the oldest are dropped.
SUBSCRIBER_QUEUE: Final = 16


class TuyaMassager:
    """One connected Tuya massager: the session's handle and the script's device in one."""

    def __init__(
        self,
        client: TuyaClient,
        product: Product,
        *,
        simulated: bool = False,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._on_close = on_close
        self.product = product
        self._simulated = simulated
        self._status_listeners: list[StatusListener] = []
        self._fault_listeners: list[FaultListener] = []
        self._exclusive = False
        self._ended = False
        self._heat = 0
        self._status: DeviceStatus | None = None
        client.on_report(self._on_report)
        if client.values:
            self._on_report(dict(client.values))

    # --- what it is -----------------------------------------------------------------------

    @property
    def description(self) -> str:
        return f"{self.product.name} {self._client.address}"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            intensity_levels=self.product.intensity_levels,
            heat_levels=self.product.heat_levels,
            battery=False,
            watchdog_s=None,
            modes=self.product.modes,
            reports_pad_temp=False,
        )

    @property
    def identity(self) -> DeviceIdentity:
        return DeviceIdentity(
            model=self.product.name,
            firmware=self._client.firmware,
            serial_number=self._client.credentials.device_id,
            protocol_version=PROTOCOL_VERSION,
            capabilities=self.capabilities,
            address=self._client.address,
            maker="Tuya",
            driver=DRIVER_NAME,
        )

    @property
    def limitations(self) -> tuple[str, ...]:
        """What a person should know before the first session, in plain words."""
        return (
            "This massager has no safety cut-off of its own when the connection is lost: if this computer "
            "crashes or goes out of range, it keeps running until its own timer. Keep its power button within reach.",
            "Heat is on or off only, and the pad temperature is not reported.",
        )

    @property
    def simulated(self) -> bool:
        return self._simulated

    @property
    def connected(self) -> bool:
        return self._client.connected

    @property
    def status(self) -> DeviceStatus | None:
        return self._status

    @property
    def rejected_notifications(self) -> int:
        """Notifications dropped as invalid for this connection (garbage, wrong key, replays)."""
        return self._client.rejected

    # --- the session's handle -------------------------------------------------------------

    def session(
        self,
        plan: SessionPlan,
        *,
        safety: SafetyCheck,
        history: HistoryStore | HistoryChoice = DEFAULT_HISTORY,
        override_frequency: str | None = None,
        reconnect_backoff_s: tuple[float, ...] | None = None,
    ) -> Session:
        """A guided session on this massager: ``async with massager.session(plan, safety=check) as s:``."""
        from medctl.session import Session

        options = {} if reconnect_backoff_s is None else {"reconnect_backoff_s": reconnect_backoff_s}
        return Session(
            self,
            plan,
            safety=safety,
            clock=None,
            history=history,
            override_frequency=override_frequency,
            device_name=f"tuya://{self._client.address}",
            **options,
        )

    @contextlib.contextmanager
    def _exclusive_cm(self) -> Iterator[None]:
        if self._exclusive:
            raise SessionRunning(f"a session already drives {self.description}: one at a time")
        self._exclusive, self._ended = True, False
        try:
            yield
        finally:
            self._exclusive = False

    def exclusive(self) -> AbstractContextManager[None]:
        return self._exclusive_cm()

    def end(self) -> None:
        self._ended = True

    async def start(self, level: int = 1) -> None:
        self._check_not_ended()
        gear = self.product.intensity(level)
        for point in (self.product.power(True), gear, self.product.mode(self.product.default_mode)):
            await self._send(point)
        await self._send(self.product.heat(self._heat))

    async def stop(self) -> None:
        """Power off: never refused, whatever was sent before."""
        await self._client.write(self.product.power(False))

    async def set_intensity(self, level: int) -> None:
        self._check_not_ended()
        await self._send(self.product.intensity(level))

    async def set_heat(self, level: int) -> None:
        self._check_not_ended()
        point = self.product.heat(level)
        self._heat = level  # sent again at start: the device ignores heat while off
        await self._send(point)

    async def set_mode(self, mode: str) -> None:
        self._check_not_ended()
        await self._send(self.product.mode(mode))

    async def clear_faults(self, faults: FaultFlag = ALL_FAULTS) -> None:
        """Nothing to clear: this device reports no faults."""

    def on_status(self, listener: StatusListener) -> Callable[[], None]:
        self._status_listeners.append(listener)
        return lambda: self._status_listeners.remove(listener)

    def on_fault(self, listener: FaultListener) -> Callable[[], None]:
        self._fault_listeners.append(listener)
        return lambda: self._fault_listeners.remove(listener)

    async def keepalive(self) -> None:
        """No heartbeat: the device has no watchdog to feed."""

    async def wait_lost(self) -> ConnectionLost:
        return ConnectionLost(await asyncio.shield(self._client.lost))

    async def reconnect(self) -> DeviceStatus:
        await self._client.close()
        await self._client.open()
        self._on_report(dict(self._client.values))
        assert self._status is not None
        return self._status

    # --- the script's device --------------------------------------------------------------

    def raw(self) -> TuyaRaw:
        """Levels with no session rules, for bench work; shut while a session runs."""
        return TuyaRaw(self)

    async def updates(self) -> AsyncIterator[DeviceStatus]:
        """Every status, latest-wins if the reader falls behind; ends with ConnectionLost when the link goes."""
        queue: LatestWinsQueue[DeviceStatus] = LatestWinsQueue(SUBSCRIBER_QUEUE)
        unsubscribe = self.on_status(queue.push)
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                lost = asyncio.ensure_future(asyncio.shield(self._client.lost))
                either: set[asyncio.Future[Any]] = {getter, lost}
                try:
                    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    lost.cancel()
                    getter.cancel()
                if getter.done() and not getter.cancelled():
                    yield getter.result()
                else:
                    raise ConnectionLost(self._client.lost.result())
        finally:
            unsubscribe()

    async def close(self, *, stop: bool = True) -> None:
        """Power it off (no watchdog would) unless told not to, then disconnect."""
        try:
            if stop and self._client.connected:
                with contextlib.suppress(ConnectionLost):
                    await self.stop()
        finally:
            await self._client.close()
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                await on_close()

    # --- internals ------------------------------------------------------------------------

    async def _send(self, point: DataPoint) -> None:
        """Every session write but STOP: refused at the last moment, under the write lock, once the session ended."""
        await self._client.write(point, guard=self._check_not_ended)

    def _check_not_ended(self) -> None:
        if self._ended:
            raise CommandCancelled(f"the session on {self.description} is over: only STOP is accepted")

    def _check_raw_allowed(self) -> None:
        if self._exclusive:
            raise SessionRunning("a guided session is running on this connection: raw control is shut until it ends")

    def _on_report(self, values: dict[int, DpValue]) -> None:
        p = self.product
        power = values.get(p.power_dp)
        gear, heat, mode = (_integer(values.get(dp)) for dp in (p.intensity_dp, p.heat_dp, p.mode_dp))
        running = isinstance(power, bool) and p.powered(power)
        status = DeviceStatus(
            running=running,
            intensity=1 if gear is None else p.level_of_gear(gear),
            heat=p.heat_level_of(heat) if running and heat is not None else 0,
            pad_temp_c=0.0,
            owned=True,
            mode=None if mode is None else p.mode_name(mode),
            received_at=asyncio.get_running_loop().time(),
        )
        self._status = status
        for listener in list(self._status_listeners):
            listener(status)


def _integer(value: DpValue | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class TuyaRaw:
    """Raw level control with no session rules (bench work); every call but ``stop`` is refused
    while a session runs."""

    def __init__(self, massager: TuyaMassager) -> None:
        self._m = massager

    async def start(self, level: int = 1) -> None:
        product = self._m.product
        for point in (product.power(True), product.intensity(level)):
            await self._m._client.write(point, guard=self._m._check_raw_allowed)

    async def set_intensity(self, level: int) -> None:
        await self._m._client.write(self._m.product.intensity(level), guard=self._m._check_raw_allowed)

    async def set_heat(self, level: int) -> None:
        await self._m._client.write(self._m.product.heat(level), guard=self._m._check_raw_allowed)

    async def stop(self) -> None:
        await self._m.stop()
