"""A Tuya BLE neck massager as a :class:`~medctl.massager.Massager`, so the guided session drives it.

``tuya://AA:BB:CC:DD:EE:FF?uuid=...&device_id=...&local_key=...[&product=FILE.toml]``.
What the device lacks, the capabilities say and this driver does not pretend:

- no link watchdog (``watchdog_s = 0``): a controller that vanishes leaves it running until
  its own timer, so every exit path of a session sends STOP (power off) explicitly;
- no heartbeat: link loss is bleak's disconnect callback, nothing else (``keepalive`` is a no-op);
- heat on/off only (one heat level), no pad temperature (reported as NaN), no faults;
- gears map to intensity levels per the product file (see product.py); the pattern is the mode,
  set to the product's default at every start so a session starts in a known state.

The reference firmware ignores gear, heat and pattern while the power is off, so ``start``
switches the power on first, then sets gear, pattern and the wanted heat, one data point per
write; until the gear write lands the device runs at the gear it had before.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from firmware_protocol import Fault, FaultEvent
from medctl.devices.tuya.client import TuyaClient
from medctl.devices.tuya.credentials import default_credentials_path, load_credentials
from medctl.devices.tuya.link import Credentials
from medctl.devices.tuya.product import DEFAULT_PRODUCT, Product, ProductError, load_product
from medctl.devices.tuya.protocol import PROTOCOL_VERSION, DataPoint, DpValue, TuyaProtocolError
from medctl.errors import AddressError, CommandCancelled, ConnectionLost, SessionRunning
from medctl.models import Capabilities, DeviceIdentity, DeviceStatus
from medctl.session.choice import DEFAULT_HISTORY
from medctl.transport.ble import BleBackend

if TYPE_CHECKING:
    from medctl.history import HistoryStore
    from medctl.session import HistoryChoice, SafetyCheck, Session, SessionPlan

SCHEME = "tuya"


class TuyaMassager:
    """The Massager interface over one :class:`TuyaClient`."""

    def __init__(self, client: TuyaClient, product: Product, *, simulated: bool = False) -> None:
        self._client = client
        self.product = product
        self._simulated = simulated
        self._status_listeners: list[Callable[[DeviceStatus], None]] = []
        self._fault_listeners: list[Callable[[FaultEvent], None]] = []
        self._exclusive = False
        self._ended = False
        self._heat = 0
        self._status: DeviceStatus | None = None
        client.on_report(self._on_report)
        if client.values:
            self._on_report(dict(client.values))

    @property
    def description(self) -> str:
        return f"{self.product.name} {self._client.address}"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            intensity_levels=self.product.intensity_levels,
            heat_levels=self.product.heat_levels,
            battery=False,
            watchdog_s=0.0,
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
        )

    @property
    def connected(self) -> bool:
        return self._client.connected

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
            history=history,
            override_frequency=override_frequency,
            clock=None,
            device_name=f"tuya://{self._client.address}",
            **options,
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
    def status(self) -> DeviceStatus | None:
        return self._status

    @property
    def rejected_notifications(self) -> int:
        """Notifications dropped as invalid for this connection (garbage, wrong key, replays)."""
        return self._client.rejected

    @contextlib.contextmanager
    def _exclusive_cm(self) -> Iterator[None]:
        if self._exclusive:
            raise SessionRunning(f"a session already drives {self.description}")
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
        self._heat = level  # also sent again at start: the device ignores heat while off
        await self._send(point)

    async def set_mode(self, name: str) -> None:
        self._check_not_ended()
        await self._send(self.product.mode(name))

    async def clear_faults(self, faults: Fault = Fault.NONE) -> None:
        """Nothing to clear: this device reports no faults."""

    def on_status(self, listener: Callable[[DeviceStatus], None]) -> Callable[[], None]:
        self._status_listeners.append(listener)
        return lambda: self._status_listeners.remove(listener)

    def on_fault(self, listener: Callable[[FaultEvent], None]) -> Callable[[], None]:
        self._fault_listeners.append(listener)
        return lambda: self._fault_listeners.remove(listener)

    async def keepalive(self) -> None:
        """No heartbeat: the device has no watchdog to feed."""

    def keepalive_driven_by_caller(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    async def wait_lost(self) -> ConnectionLost:
        return ConnectionLost(await asyncio.shield(self._client.lost))

    async def reconnect(self) -> DeviceStatus:
        await self._client.close()
        await self._client.open()
        self._on_report(dict(self._client.values))
        assert self._status is not None
        return self._status

    async def close(self) -> None:
        await self._client.close()

    async def _send(self, point: DataPoint) -> None:
        """Every write but STOP: refused at the last moment, under the write lock, once the session ended."""
        await self._client.write(point, guard=self._check_not_ended)

    def _check_not_ended(self) -> None:
        if self._ended:
            raise CommandCancelled(f"the session on {self.description} is over: only STOP is accepted")

    def _on_report(self, values: dict[int, DpValue]) -> None:
        p = self.product
        power, gear, heat = values.get(p.power_dp), values.get(p.intensity_dp), values.get(p.heat_dp)
        running = isinstance(power, bool) and p.powered(power)
        status = DeviceStatus(
            running=running,
            intensity=p.level_of_gear(gear) if isinstance(gear, int) and not isinstance(gear, bool) else 1,
            heat=p.heat_level_of(heat) if running and isinstance(heat, int) and not isinstance(heat, bool) else 0,
            pad_temp_c=math.nan,
            owned=True,
            received_at=asyncio.get_running_loop().time(),
        )
        self._status = status
        for listener in list(self._status_listeners):
            listener(status)


_MAC = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")


def parse_tuya_url(url: str) -> tuple[str, dict[str, str]]:
    """(MAC address, options) of a ``tuya://`` address; AddressError with a sentence otherwise."""
    parts = urlsplit(url)
    location = parts.netloc.upper()
    if parts.scheme.lower() != SCHEME or not _MAC.match(location):
        raise AddressError(f"{url!r} is not tuya://AA:BB:CC:DD:EE:FF?uuid=...&device_id=...&local_key=...")
    return location, dict(parse_qsl(parts.query))


def credentials_from(location: str, options: dict[str, str]) -> Credentials:
    """The pairing values on the URL, else those stored for *location* in the private Tuya key file."""
    given = [k for k in ("uuid", "device_id", "local_key") if options.get(k)]
    if not given:
        stored = load_credentials(location)
        if stored is not None:
            return stored
    missing = [k for k in ("uuid", "device_id", "local_key") if not options.get(k)]
    if missing:
        raise AddressError(
            f"a tuya:// address needs {', '.join(missing)} on the URL, or all three stored for {location} in "
            f"{default_credentials_path()} (docs/tuya.md says how to get them)"
        )
    try:
        return Credentials(options["uuid"], options["local_key"], options["device_id"])
    except TuyaProtocolError as exc:
        raise AddressError(f"tuya:// address: {exc}") from exc


@asynccontextmanager
async def open_tuya(
    url: str, *, backend: BleBackend | None = None, simulated: bool = False
) -> AsyncIterator[TuyaMassager]:
    """Connect and pair with the massager at *url*; power it off and disconnect on the way out."""
    location, options = parse_tuya_url(url)
    try:
        product = load_product(options.get("product", DEFAULT_PRODUCT))
    except ProductError as exc:
        raise AddressError(str(exc)) from exc
    client = TuyaClient(location, credentials_from(location, options), backend=backend)
    await client.open()
    massager = TuyaMassager(client, product, simulated=simulated)
    try:
        yield massager
    finally:
        with contextlib.suppress(ConnectionLost):
            await massager.stop()  # no watchdog: leaving it running is not an option
        await massager.close()
