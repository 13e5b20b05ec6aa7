"""Bluetooth LE transport on bleak (SPEC.md §9.2): one frame per GATT write, one per notification.

``ble://AA:BB:CC:DD:EE:FF`` or ``ble://?name=PREFIX``. The massager is found with bleak's
scanner, filtered on the protocol's service UUID, and connected through
bleak-retry-connector's ``establish_connection``, whose typed errors become
:class:`~medctl.errors.TransportError` sentences a person can act on. Every (re)connect
subscribes to the status characteristic before the first request (§9.2); frames go out
whole, written with response, and never longer than one ATT write at the connection's MTU
(frames are at most 20 bytes, so they always fit the default MTU of 23: nothing is ever
fragmented). Notifications go through the frame decoder; bleak's disconnected callback ends
:meth:`BleTransport.recv` with :class:`~medctl.errors.ConnectionLost`, which is the device
client's link-loss path (R10). BlueZ fires that callback for deliberate disconnects too, so
each connection has its own inbox and a connection being closed is not mourned.

The platform's Bluetooth stack is used unless the address says ``?hci=TRANSPORT``: then bleak
runs on the simulator's bumble backend over that HCI transport, e.g. the virtual link that
``medctl simulate --ble`` serves. Backends can also be injected (:class:`BleBackend`). bleak
is imported when a ``ble://`` address is opened or a scan starts, never before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from firmware_protocol import Frame, FrameError
from firmware_protocol.constants import COMMAND_CHAR_UUID, SERVICE_UUID, STATUS_CHAR_UUID
from medctl.address import DeviceAddress
from medctl.devices.discovery import DISCOVERY_TIMEOUT_S
from medctl.devices.registry import Advertisement
from medctl.errors import ConnectionLost, TransportError

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.client import BaseBleakClient
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

_LOGGER = logging.getLogger(__name__)

#: How long to look for the massager before saying it is not there (``?timeout=`` overrides).
SCAN_TIMEOUT_S: Final = 10.0
#: Connection attempts bleak-retry-connector makes (each bounded by its 20 s connect timeout).
CONNECT_ATTEMPTS: Final = 3
#: A disconnect that does not complete in this long is abandoned.
DISCONNECT_TIMEOUT_S: Final = 5.0
#: ATT header bytes in a write: the value of one write is at most MTU − 3.
ATT_WRITE_OVERHEAD: Final = 3
#: Besides BleakError, what bleak and the system stacks raise on a failing link
#: (bleak-retry-connector's list, widened from BrokenPipeError to every OSError).
LINK_ERRORS: Final = (AttributeError, EOFError, OSError, TimeoutError)


@dataclass
class BleBackend:
    """Which bleak backends to use and the keyword arguments they take; ``None`` means the platform's."""

    scanner: type[BaseBleakScanner] | None = None
    client: type[BaseBleakClient] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    via: str = ""
    closer: Callable[[], Awaitable[None]] | None = None
    #: False once the backend can no longer work (its HCI transport went away): open a new one.
    alive: Callable[[], bool] = lambda: True

    def scanner_kwargs(self) -> dict[str, Any]:
        return {**self.options, **({"backend": self.scanner} if self.scanner else {})}

    def client_kwargs(self) -> dict[str, Any]:
        return {**self.options, **({"backend": self.client} if self.client else {})}

    async def aclose(self) -> None:
        closer, self.closer = self.closer, None
        if closer is not None:
            await closer()


async def open_backend(hci: str | None) -> BleBackend:
    """The platform's Bluetooth stack, or bleak over bumble on the HCI transport *hci*."""
    if not hci:
        return BleBackend()
    try:
        from simulator.ble import Radio, RadioError
        from simulator.bleak_backend import BumbleClient, BumbleScanner
    except ImportError as exc:
        missing = f"?hci= runs Bluetooth through bumble, which is not installed ({exc.name})"
        raise TransportError(f"{missing}: pip install 'medctl[ble-sim]'") from exc
    try:
        radio = await Radio.open(hci, name="medctl")
    except RadioError as exc:
        unreachable = hci.startswith("tcp-client:") and isinstance(exc.__cause__, OSError)
        raise TransportError(f"{exc} (is `medctl simulate --ble` running?)" if unreachable else str(exc)) from exc
    return BleBackend(
        BumbleScanner, BumbleClient, {"radio": radio}, via=hci, closer=radio.close, alive=lambda: radio.alive
    )




@dataclass(frozen=True)
class FoundMassager:
    """A massager heard advertising the protocol's service; ``url`` connects to it."""

    name: str
    address: str
    rssi: int
    url: str
    device: BLEDevice = field(repr=False, compare=False)


async def scan(timeout: float = DISCOVERY_TIMEOUT_S, backend: BleBackend | None = None) -> list[FoundMassager]:
    """Every massager advertising the protocol's service within *timeout* seconds, strongest first.

    Uses the platform's Bluetooth stack unless *backend* says otherwise. Raises
    :class:`~medctl.errors.TransportError` with a sentence (most often: no Bluetooth adapter).
    """
    from bleak import BleakScanner
    from bleak.exc import BleakError

    backend = backend or BleBackend()
    try:
        async with BleakScanner(service_uuids=[SERVICE_UUID], **backend.scanner_kwargs()) as scanner:
            await asyncio.sleep(timeout)
    except (*LINK_ERRORS, BleakError) as exc:
        raise bluetooth_error(exc, "the Bluetooth scan") from exc
    suffix = f"?hci={backend.via}" if backend.via else ""
    found = [
        FoundMassager(ad.local_name or device.name or "", address, ad.rssi, f"ble://{address}{suffix}", device)
        for address, (device, ad) in scanner.discovered_devices_and_advertisement_data.items()
    ]
    return sorted(found, key=lambda f: -f.rssi)


async def advertisements(
    timeout: float = DISCOVERY_TIMEOUT_S, backend: BleBackend | None = None
) -> list[Advertisement]:
    """Every Bluetooth LE device heard within *timeout* seconds, as medctl's :class:`Advertisement`
    (no service filter: which of them are massagers is for the drivers to say)."""
    from bleak import BleakScanner
    from bleak.exc import BleakError

    backend = backend or BleBackend()
    try:
        async with BleakScanner(**backend.scanner_kwargs()) as scanner:
            await asyncio.sleep(timeout)
    except (*LINK_ERRORS, BleakError) as exc:
        raise bluetooth_error(exc, "the Bluetooth scan") from exc
    return [
        Advertisement(
            address=address,
            name=ad.local_name or device.name or "",
            rssi=ad.rssi,
            service_uuids=tuple(ad.service_uuids),
            manufacturer_data=dict(ad.manufacturer_data),
            service_data=dict(ad.service_data),
        )
        for address, (device, ad) in scanner.discovered_devices_and_advertisement_data.items()
    ]


class _Connection:
    """One BLE connection: its frames in arrival order, ended by ``None`` when the link goes."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.client: BleakClient | None = None
        self.max_write = 0
        self.inbox: asyncio.Queue[Frame | None] = asyncio.Queue()
        self.lost_reason = f"{description} is closed"
        self.closing = False
        self.dropped_frames = 0

    def on_notification(self, _characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            self.inbox.put_nowait(Frame.loads(bytes(data)))
        except FrameError as exc:
            self.dropped_frames += 1
            _LOGGER.debug("%s: dropped an invalid notification: %s", self.description, exc)

    def on_disconnected(self, _client: BleakClient) -> None:
        if not self.closing:  # our own disconnects are announced too, on BlueZ
            self.end(f"{self.description} dropped the connection (out of range or switched off?)")

    def end(self, reason: str) -> None:
        self.lost_reason = reason
        self.inbox.put_nowait(None)


class BleTransport:
    """Frames over a GATT connection to one massager. ``open`` again reconnects; ``close`` is final."""

    def __init__(self, address: DeviceAddress, *, backend: BleBackend | None = None) -> None:
        self.address = address
        self._injected = backend
        self._backend: BleBackend | None = backend
        self._device: BLEDevice | None = None
        self._link: _Connection | None = None
        self._closed = False
        self._invalid_before = 0

    @property
    def invalid_frames(self) -> int:
        """Notifications that were not valid frames (SPEC §4.2), dropped and counted, over all connections."""
        return self._invalid_before + (self._link.dropped_frames if self._link else 0)

    @property
    def description(self) -> str:
        location, options = self.address.location, self.address.options
        where = f"Bluetooth massager {location}" if location else f"Bluetooth massager named {options['name']}…"
        hci = self.address.options.get("hci")
        return f"{where} (via {hci})" if hci else where

    @property
    def mtu(self) -> int:
        """The current connection's ATT MTU (0 when not connected)."""
        return self._link.max_write + ATT_WRITE_OVERHEAD if self._link else 0

    async def open(self) -> None:
        """Find the massager (the first time), connect, and subscribe to its frames."""
        if self._closed:
            raise ConnectionLost(f"{self.description} is closed")
        await self._drop()
        backend = await self._backend_ready()
        from bleak.exc import BleakError

        try:
            self._device = self._device or await self._find(backend)
            self._link = await self._connect(self._device, backend)
        except (*LINK_ERRORS, BleakError) as exc:
            if _not_found(exc):
                self._device = None  # look for it afresh next time: it may have moved or changed address
            raise bluetooth_error(exc, self.description) from exc

    async def send(self, frame: bytes) -> None:
        link = self._link
        if link is None or link.client is None:
            raise ConnectionLost(f"{self.description} is not connected")
        if len(frame) > link.max_write:
            raise TransportError(f"a {len(frame)}-byte frame does not fit one write at ATT MTU {self.mtu}")
        from bleak.exc import BleakError

        try:
            await link.client.write_gatt_char(COMMAND_CHAR_UUID, frame, response=True)
        except (*LINK_ERRORS, BleakError) as exc:
            raise ConnectionLost(f"{self.description}: write failed: {exc or type(exc).__name__}") from exc

    async def recv(self) -> Frame:
        link = self._link
        if link is None:
            raise ConnectionLost(f"{self.description} is not connected")
        frame = await link.inbox.get()
        if frame is None:
            link.inbox.put_nowait(None)  # every later reader learns it too
            raise ConnectionLost(link.lost_reason)
        return frame

    async def close(self) -> None:
        self._closed = True
        await self._drop()
        if self._backend is not None and self._backend is not self._injected:
            await self._backend.aclose()
        self._backend = None

    # --- steps -----------------------------------------------------------------------------

    async def _backend_ready(self) -> BleBackend:
        """Our backend, opened anew if its HCI transport went away (e.g. the simulator restarted)."""
        if self._backend is not None and self._backend is not self._injected and not self._backend.alive():
            await self._backend.aclose()
            self._backend = self._device = None  # the device was found through the old radio
        if self._backend is None:
            self._backend = await open_backend(self.address.options.get("hci"))
        return self._backend

    async def _find(self, backend: BleBackend) -> BLEDevice:
        from bleak import BleakScanner

        timeout = self.address.option_float("timeout", SCAN_TIMEOUT_S)
        async with BleakScanner(service_uuids=[SERVICE_UUID], **backend.scanner_kwargs()) as scanner:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    async for device, advertisement in scanner.advertisement_data():
                        if self._wanted(device, advertisement):
                            return device
        raise TransportError(
            f"{self.description} was not found advertising within {timeout:g} s: is it switched on, in range, "
            "and not connected to another phone? (`medctl scan` lists what is in range)"
        )

    def _wanted(self, device: BLEDevice, advertisement: AdvertisementData) -> bool:
        if self.address.location:
            return device.address.upper() == self.address.location
        name = advertisement.local_name or device.name or ""
        return name.casefold().startswith(self.address.options["name"].casefold())

    async def _connect(self, device: BLEDevice, backend: BleBackend) -> _Connection:
        from bleak import BleakClient
        from bleak_retry_connector import establish_connection

        link = _Connection(self.description)
        client = await establish_connection(
            BleakClient,
            device,
            self.description,
            disconnected_callback=link.on_disconnected,
            max_attempts=CONNECT_ATTEMPTS,
            services=[SERVICE_UUID],
            **backend.client_kwargs(),
        )
        link.client = client
        try:
            await self._subscribe(link, client)
        except BaseException:
            await _disconnect(link)
            raise
        return link

    async def _subscribe(self, link: _Connection, client: BleakClient) -> None:
        if client.services.get_characteristic(COMMAND_CHAR_UUID) is None:
            raise TransportError(f"{self.description} does not offer the medctl service: is it a compatible massager?")
        link.max_write = client.mtu_size - ATT_WRITE_OVERHEAD
        await client.start_notify(STATUS_CHAR_UUID, link.on_notification)

    async def _drop(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            self._invalid_before += link.dropped_frames
            await _disconnect(link)
            link.end(f"{self.description} is closed")


async def _disconnect(link: _Connection) -> None:
    link.closing = True
    if link.client is None:
        return
    from bleak.exc import BleakError

    with contextlib.suppress(*LINK_ERRORS, BleakError):
        async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
            await link.client.disconnect()


def _not_found(exc: BaseException) -> bool:
    from bleak_retry_connector import BleakNotFoundError

    return isinstance(exc, BleakNotFoundError)


def bluetooth_error(exc: BaseException, target: str) -> TransportError:
    """A sentence for what went wrong while reaching *target* over Bluetooth."""
    if isinstance(exc, TransportError):
        return exc
    unavailable = _unavailable(exc)
    if unavailable is not None:
        return TransportError(f"no Bluetooth adapter is available: {unavailable}")
    return TransportError(_connect_failure(exc, target))


def _unavailable(exc: BaseException) -> str | None:
    """Why there is no usable Bluetooth adapter, if that is what *exc* says."""
    from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakDBusError

    reasons = {
        BleakBluetoothNotAvailableReason.NO_BLUETOOTH: "this computer has no Bluetooth radio",
        BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: "the Bluetooth adapter cannot act as a BLE central",
        BleakBluetoothNotAvailableReason.POWERED_OFF: "Bluetooth is switched off; switch it on and try again",
        BleakBluetoothNotAvailableReason.DENIED_BY_USER: "permission to use Bluetooth was refused (see the settings)",
        BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM: "the system does not allow this program to use Bluetooth",
    }
    if isinstance(exc, BleakBluetoothNotAvailableError):
        return reasons.get(exc.reason, str(exc.args[0]))
    if isinstance(exc, BleakDBusError) and "ServiceUnknown" in exc.dbus_error:
        return "the system's Bluetooth service (bluetoothd) is not running"
    if isinstance(exc, OSError):
        service = "BlueZ over D-Bus" if sys.platform.startswith("linux") else "the system's Bluetooth service"
        return f"{service} cannot be reached ({exc.strerror or exc})"
    return None


def _connect_failure(exc: BaseException, target: str) -> str:
    from bleak_retry_connector import (
        BleakAbortedError,
        BleakConnectionError,
        BleakNotFoundError,
        BleakOutOfConnectionSlotsError,
    )

    if isinstance(exc, BleakNotFoundError):
        return f"{target} did not answer: is it switched on, in range, and not connected to another phone?"
    if isinstance(exc, BleakOutOfConnectionSlotsError):
        return f"cannot connect to {target}: the Bluetooth adapter has no free connection; disconnect another device"
    if isinstance(exc, BleakAbortedError):
        return f"cannot connect to {target}: the connection was aborted (interference?); move closer and try again"
    if isinstance(exc, BleakConnectionError):
        return f"cannot connect to {target} after {CONNECT_ATTEMPTS} attempts: {exc.__cause__ or exc}"
    if isinstance(exc, TimeoutError):
        return f"{target} did not answer in time: is it switched on and in range?"
    return f"Bluetooth error with {target}: {exc or type(exc).__name__}"
