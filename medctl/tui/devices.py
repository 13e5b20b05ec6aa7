"""Where the TUI finds massagers, and how it holds on to the one in use.

:class:`Discovery` lists what can be connected: the built-in simulator (at real time and at a
demo speed), the serial ports pyserial finds, and the massagers a Bluetooth scan finds that any driver
recognises (:mod:`medctl.devices.discovery`). :class:`DeviceLink` owns the
connection to the chosen one: :func:`medctl.connect` entered on an exit stack, so closing the
link (or replacing it) always stops the massager and says goodbye.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from medctl.address import parse_address
from medctl.errors import AddressError, MedctlError

SIMULATOR: Final = "sim://"
#: The demo simulator runs session time this much faster: a 5-minute session in 5 s.
DEMO_SPEED: Final = 60
DEMO_SIMULATOR: Final = f"sim://?speed={DEMO_SPEED}"

if TYPE_CHECKING:  # the device types are needed once connecting, after the first screen is drawn
    from medctl.devices.device import Device

#: Opens a connection to a device URL; :func:`medctl.connect` unless a test injects another.
Connector: TypeAlias = "Callable[[str], AbstractAsyncContextManager[Device]]"
#: Scans for Bluetooth massagers; raises whatever the Bluetooth stack raises (no adapter, …).
BleScan = Callable[[], Awaitable[list["DeviceChoice"]]]


@dataclass(frozen=True)
class DeviceChoice:
    """One entry of the connect screen's list."""

    url: str
    label: str
    detail: str = ""


def is_simulated(url: str | None) -> bool:
    """Is *url* the built-in simulator (so no real massager is involved)?"""
    if url is None:
        return False
    try:
        return parse_address(url).scheme == "sim"
    except AddressError:
        return False


def describe(url: str) -> str:
    """A short name for a device URL, as a person would say it."""
    if not is_simulated(url):
        return url
    speed = parse_address(url).options.get("speed")
    if speed in (None, "1", "1.0"):
        return "built-in simulator"
    return f"built-in simulator ×{speed}"


class Discovery:
    """The devices the connect screen offers; tests inject fixed lists."""

    def simulators(self) -> list[DeviceChoice]:
        return [
            DeviceChoice(SIMULATOR, "Built-in simulator", "simulated: no massager needed"),
            DeviceChoice(DEMO_SIMULATOR, f"Built-in simulator ×{DEMO_SPEED}", "demo: a 5-minute session in 5 s"),
        ]

    def serial_ports(self) -> list[DeviceChoice]:
        """The serial ports pyserial finds (USB adapters, Bluetooth SPP, built-in UARTs)."""
        from serial.tools import list_ports

        ports = sorted(list_ports.comports(), key=lambda port: port.device)
        return [
            DeviceChoice(
                f"serial://{port.device}", port.device, "" if port.description in ("n/a", "") else port.description
            )
            for port in ports
        ]

    def ble_scan(self) -> BleScan | None:
        """The Bluetooth scan: every massager a driver recognises (:mod:`medctl.devices.discovery`)."""
        from medctl.devices.discovery import DISCOVERY_TIMEOUT_S, scan_ble

        async def run() -> list[DeviceChoice]:
            return [ble_choice(found) for found in await scan_ble(DISCOVERY_TIMEOUT_S)]

        return run


def ble_choice(found: Any) -> DeviceChoice:
    """A connect-screen entry for one scan result: a URL string, or an object with url/address/name."""
    if isinstance(found, str):
        url = found if "://" in found else f"ble://{found}"
        return DeviceChoice(url, url.removeprefix("ble://"), "Bluetooth")
    address = getattr(found, "address", None)
    url = getattr(found, "url", None) or f"ble://{address}"
    name = getattr(found, "name", None) or address or url
    rssi = getattr(found, "rssi", None)
    driver = getattr(found, "driver", None)
    detail = "Bluetooth" + (f", signal {rssi} dBm" if rssi is not None else "") + (f", {driver}" if driver else "")
    return DeviceChoice(str(url), str(name), detail)


def ble_failure_text(exc: BaseException) -> str:
    """What to tell a person whose Bluetooth scan failed (most often: there is no adapter)."""
    reason = str(exc).rstrip(".") or type(exc).__name__
    hint = "" if isinstance(exc, MedctlError) else " Is there a Bluetooth adapter, switched on?"
    return f"Bluetooth scan failed: {reason}.{hint} Serial ports, typed addresses and the simulator still work."


LinkPhase = Literal["none", "connecting", "connected", "lost", "failed"]


@dataclass(frozen=True)
class LinkState:
    """What the device bar shows about the link to the massager."""

    url: str | None = None
    phase: LinkPhase = "none"
    detail: str = ""
    #: Whether the massager stops by its own watchdog when the link goes (False: it keeps running).
    watchdog: bool = True

    @property
    def simulated(self) -> bool:
        return is_simulated(self.url)

    def text(self, *, choosable: bool = True) -> str:
        """One line for the device bar; *choosable*: ``d`` opens the choice on this screen."""
        if self.url is None:
            return "No massager chosen — d: choose one" if choosable else "No massager chosen"
        name = describe(self.url)
        if self.phase == "connecting":
            return f"Connecting to {name}…"
        if self.phase == "failed":  # the reason, often long, is told whole where there is room for it
            return f"Could not connect to {name} (why: below)" if choosable else f"Could not connect to {name}"
        if self.phase == "lost":
            # the detail repeats the address and would push the sentence off an 80-column line
            if not self.watchdog:
                return f"Link to {name} lost: it has NO watchdog and keeps running — switch it off!"
            return f"Link to {name} lost: the massager stops by itself."
        unguarded = "" if self.watchdog else " · NO cut-off if this computer fails: keep its power button at hand"
        if self.simulated:
            choose = " (d: choose)" if choosable else ""
            return f"Massager: {name} — SIMULATED, no real massager{choose}" + unguarded
        return f"Massager: {name}" + (f" · {self.detail}" if self.detail else "") + unguarded


def identity_text(client: Device) -> str:
    identity = client.identity
    return "" if identity is None else f"{identity.model}, firmware {identity.firmware}"


class DeviceLink:
    """The connection to the massager in use. ``open`` replaces it; ``close`` stops the massager."""

    def __init__(self, connector: Connector | None = None) -> None:
        self._connector = connector  # None: medctl.connect, imported on the first connection (after the first paint)
        self._stack: AsyncExitStack | None = None
        self.client: Device | None = None
        self.url: str | None = None

    async def open(self, url: str) -> Device:
        """Close the current massager (stopping it), then connect to *url*. Raises MedctlError."""
        await self.close()
        self.url = url
        stack = AsyncExitStack()
        try:
            client = await stack.enter_async_context(self._connect(url))
        except BaseException:
            await stack.aclose()
            raise
        self._stack, self.client = stack, client
        return client

    def _connect(self, url: str) -> AbstractAsyncContextManager[Device]:
        if self._connector is None:
            from medctl.connection import connect

            self._connector = connect
        return self._connector(url)

    async def reconnect(self) -> None:
        """Re-open a lost link (R10: nothing resumes by itself)."""
        if self.client is None:
            raise MedctlError("no massager is connected; choose one first")
        await self.client.reconnect()

    async def close(self) -> None:
        """Stop the massager and close the link. Idempotent."""
        stack, self._stack, self.client = self._stack, None, None
        if stack is not None:
            with suppress(MedctlError, OSError):
                await stack.aclose()


def unique(choices: Iterable[DeviceChoice]) -> list[DeviceChoice]:
    """*choices* without repeated URLs, first one kept."""
    seen: set[str] = set()
    result = []
    for choice in choices:
        if choice.url not in seen:
            seen.add(choice.url)
            result.append(choice)
    return result
