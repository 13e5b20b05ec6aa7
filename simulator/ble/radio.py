"""A bumble host stack on one Bluetooth controller: what BLE endpoints and the bleak backend talk through.

A :class:`Radio` is a powered-on :class:`bumble.device.Device` on either

- a controller of a :class:`~simulator.ble.link.VirtualLink` in this process
  (:meth:`Radio.on_link`), or
- any bumble HCI transport (:meth:`Radio.open`): ``tcp-client:127.0.0.1:PORT`` to join a
  virtual link served by another process, ``usb:0`` for a USB Bluetooth dongle (so phones
  and other real controllers see it), ``serial:...``, ``hci-socket:0`` and the others bumble
  knows.

Several users may scan at once; :meth:`Radio.scanning` counts them. ``lost`` completes when
the controller goes away (the HCI transport closed), which users treat as every connection
on it ending.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

from bumble import core, hci
from bumble.device import Device
from bumble.host import Host
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink, Transport, TransportInitError, TransportSpecError

from simulator.ble.link import VirtualLink
from simulator.errors import SimulatorError

#: A controller that does not finish its reset and setup in this long is not answering.
POWER_ON_TIMEOUT_S: Final = 10.0


class RadioError(SimulatorError):
    """The HCI transport could not be opened, or the controller behind it did not come up."""


class Radio:
    """One powered-on bumble host. Build with :meth:`on_link` or :meth:`open`; ``close`` when done."""

    def __init__(self, device: Device, description: str, close: Callable[[], Awaitable[None]]) -> None:
        self.device = device
        self.description = description
        self._close = close
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._scans = 0
        self._closed = False

    @property
    def address(self) -> str:
        """This radio's own (random static) address, as ``AA:BB:CC:DD:EE:FF``."""
        return self.device.random_address.to_string(False)

    @property
    def alive(self) -> bool:
        return not self._closed and not self.lost.done()

    @classmethod
    async def on_link(cls, link: VirtualLink, *, name: str = "host", address: str | None = None) -> Radio:
        """A host on a new controller of *link*, in this process."""
        controller = link.add_controller(name)
        host = Host(controller, AsyncPipeSink(controller))

        async def leave() -> None:
            controller.leave_link()

        radio = cls(Device(name=name, address=_static_address(address), host=host), f"virtual link ({name})", leave)
        await radio._power_on()
        return radio

    @classmethod
    async def open(cls, transport_name: str, *, name: str = "host", address: str | None = None) -> Radio:
        """A host on the controller behind the bumble HCI transport *transport_name*."""
        transport = await _open_hci(transport_name)
        device = Device.with_hci(name, _static_address(address), transport.source, transport.sink)
        radio = cls(device, f"HCI transport {transport_name}", transport.close)
        transport.source.terminated.add_done_callback(lambda _: radio._mark_lost())
        await radio._power_on()
        return radio

    def check_alive(self) -> None:
        if self._closed:
            raise RadioError(f"{self.description} is closed")
        if self.lost.done():
            raise RadioError(f"{self.description} went away (was its other end stopped?)")

    @contextlib.asynccontextmanager
    async def scanning(self, *, active: bool = True) -> AsyncIterator[None]:
        """Scan while inside; the device's ``advertisement`` events carry what is heard.

        Overlapping users share one scan, in the mode the first of them asked for.
        """
        self.check_alive()
        if self._scans == 0:
            await self.device.start_scanning(active=active, filter_duplicates=False)
        self._scans += 1
        try:
            yield
        finally:
            self._scans -= 1
            if self._scans == 0 and self.alive:
                with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error, TimeoutError):
                    await self.device.stop_scanning()

    async def close(self) -> None:
        """Switch the radio off: its connections end and its transport closes. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._close()
        self._mark_lost()

    async def _power_on(self) -> None:
        try:
            async with asyncio.timeout(POWER_ON_TIMEOUT_S):
                await self.device.power_on()
        except (TimeoutError, core.BaseBumbleError, hci.HCI_Error) as exc:
            await self.close()
            raise RadioError(f"the controller on {self.description} did not come up: {exc or 'no answer'}") from exc

    def _mark_lost(self) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


async def _open_hci(transport_name: str) -> Transport:
    try:
        return await open_transport(transport_name)
    except TransportSpecError as exc:
        raise RadioError(f"{transport_name!r} is not an HCI transport bumble knows ({exc})") from exc
    except (OSError, TransportInitError, ImportError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise RadioError(f"cannot open HCI transport {transport_name}: {reason}") from exc


def _static_address(address: str | None) -> hci.Address:
    if address is None:
        return hci.Address.generate_static_address()
    return hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)
