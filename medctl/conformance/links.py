"""From a device address to a :class:`~medctl.conformance.context.LinkSource`.

Serial, TCP and BLE addresses open medctl's own transports, one per link. A ``sim://``
address starts one simulated massager for the whole run (so a second link reaches the same
device) on the event loop's clock, with the address's options — ``sim://?deviate=no_dedup``
included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from medctl.address import DeviceAddress, parse_address
from medctl.conformance.context import LinkSource
from medctl.transport import open_transport
from medctl.transport.base import Transport


@asynccontextmanager
async def link_source(url: str) -> AsyncIterator[LinkSource]:
    """The links to the device at *url*, for as long as the context lasts."""
    address = parse_address(url)
    if address.scheme != "sim":
        yield LinkSource(lambda: open_transport(address), _describe(address), multi_link=address.scheme != "serial")
        return
    from medctl.transport.sim import SimTransport, sim_config, sim_speed, without_pairing_button
    from simulator import ScaledClock, SimulatedDevice

    config = sim_config(address)
    async with SimulatedDevice(config, clock=ScaledClock(sim_speed(address))) as device:
        without_pairing_button(address, device)

        def open_link() -> Transport:
            return SimTransport(address, device=device)

        yield LinkSource(open_link, f"the built-in simulator ({url})")


def _describe(address: DeviceAddress) -> str:
    return open_transport(address).description
