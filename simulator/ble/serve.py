"""Put a running :class:`~simulator.device.SimulatedDevice` on the air, in one call.

``async with ble_peripheral(device) as peripheral:`` builds a new :class:`VirtualLink`, puts
the device on it as a GATT peripheral, and serves the link over HCI-over-TCP so hosts in
other processes can join (``peripheral.join_with`` is the bumble transport name they use).
``ble_peripheral(device, "usb:0")`` puts it on a real controller instead, where phones and
other computers see it. ``medctl simulate --ble`` is this, plus printing how to connect.

``async with virtual_ble(device) as air:`` is the in-process variant for tests and benchmarks:
the device on a new virtual link with a second radio (``air.central``) for a controller, and
no sockets, so it also runs on a virtual loop clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from simulator.ble.link import HciServer, VirtualLink
from simulator.ble.peripheral import BleEndpoint
from simulator.ble.radio import Radio

if TYPE_CHECKING:
    from simulator.device import SimulatedDevice

#: The simulator's fixed random static address, so demo commands stay the same between runs.
SIMULATOR_ADDRESS: Final = "F0:0D:C0:FF:EE:01"


@dataclass(frozen=True)
class BlePeripheral:
    """A simulated device on the air: its GATT endpoint, and how other hosts reach its radio."""

    endpoint: BleEndpoint
    #: The bumble HCI transport another process joins the virtual link with; "" on a real radio.
    join_with: str
    hci_server: HciServer | None

    @property
    def address(self) -> str:
        return self.endpoint.address


@asynccontextmanager
async def ble_peripheral(
    device: SimulatedDevice,
    hci: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    address: str = SIMULATOR_ADDRESS,
) -> AsyncIterator[BlePeripheral]:
    """*device* as a BLE peripheral: on a new virtual link served at *host*:*port*, or on HCI transport *hci*."""
    async with AsyncExitStack() as stack:
        server: HciServer | None = None
        if hci is None:
            link = VirtualLink()
            stack.push_async_callback(link.close)
            radio = await Radio.on_link(link, name="simulator", address=address)
            server = await link.serve_hci(host, port)
        else:
            radio = await Radio.open(hci, name="simulator", address=address)
        stack.push_async_callback(radio.close)
        endpoint = await device.serve_ble(radio)
        stack.push_async_callback(endpoint.wait_closed)
        stack.callback(endpoint.close)
        yield BlePeripheral(endpoint, server.transport_name if server else "", server)


@dataclass(frozen=True)
class VirtualBle:
    """A simulated device on a virtual link of its own, and a radio on the same link for a controller."""

    link: VirtualLink
    endpoint: BleEndpoint
    central: Radio

    @property
    def address(self) -> str:
        return self.endpoint.address


@asynccontextmanager
async def virtual_ble(device: SimulatedDevice, *, address: str = SIMULATOR_ADDRESS) -> AsyncIterator[VirtualBle]:
    """*device* as a peripheral on a new in-process virtual link, with a central radio beside it."""
    link = VirtualLink()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(link.close)
        radio = await Radio.on_link(link, name="simulator", address=address)
        stack.push_async_callback(radio.close)
        central = await Radio.on_link(link, name="central")
        stack.push_async_callback(central.close)
        endpoint = await device.serve_ble(radio)
        stack.push_async_callback(endpoint.wait_closed)
        stack.callback(endpoint.close)
        yield VirtualBle(link, endpoint, central)
