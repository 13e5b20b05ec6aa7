"""Finding massagers: one Bluetooth scan, each device heard offered to every driver in turn.

``medctl scan`` and the TUI's connect screen list what this finds, saying which driver
recognised each one; adding a driver adds its devices here with no change to either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from medctl.devices.registry import for_advertisement

#: How long ``medctl scan`` and the connect screen listen by default.
DISCOVERY_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True)
class FoundMassager:
    """A massager heard in a scan; ``url`` connects to it through ``driver``."""

    name: str
    address: str
    rssi: int
    url: str
    driver: str


async def scan_ble(timeout: float = DISCOVERY_TIMEOUT_S, hci: str | None = None) -> list[FoundMassager]:
    """Every massager any driver recognises within *timeout* seconds, strongest first.

    Uses the platform's Bluetooth stack unless *hci* names a bumble HCI transport. Raises
    :class:`~medctl.errors.TransportError` with a sentence (most often: no Bluetooth adapter).
    """
    from medctl.transport.ble import advertisements, open_backend

    backend = await open_backend(hci)
    try:
        heard = await advertisements(timeout, backend)
    finally:
        await backend.aclose()
    found = []
    for adv in heard:
        driver = for_advertisement(adv)
        if driver is not None:
            url = driver.url_for(adv, hci=backend.via or None)
            found.append(FoundMassager(adv.name, adv.address, adv.rssi, url, driver.name))
    return sorted(found, key=lambda f: -f.rssi)
