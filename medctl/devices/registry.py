"""Which driver speaks to a device: chosen by URL scheme, and for a Bluetooth scan by advertisement.

Drivers are listed by import path (:data:`DRIVERS`) and imported only when asked for, so a
maker's dependencies load only when its devices are used. Adding a maker means adding its
package under :mod:`medctl.devices` and one line to :data:`DRIVERS` (docs/adding-a-driver.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from medctl.errors import AddressError

if TYPE_CHECKING:
    from medctl.address import DeviceAddress
    from medctl.devices.device import Device

#: Every driver medctl knows, as ``module:attribute`` (one line per maker).
DRIVERS: tuple[str, ...] = (
    "medctl.devices.medctl_protocol.driver:DRIVER",
    "medctl.devices.tuya.driver:DRIVER",
)


@dataclass(frozen=True)
class Advertisement:
    """What a Bluetooth LE device said about itself in one scan, in bleak's terms but no bleak types."""

    address: str
    name: str
    rssi: int
    service_uuids: tuple[str, ...] = ()
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)
    service_data: Mapping[str, bytes] = field(default_factory=dict)


class Driver(Protocol):
    """One maker's (or one protocol's) way to a device."""

    #: Short registry name, shown by ``medctl scan`` and stored in DeviceIdentity.driver.
    name: str
    #: URL schemes this driver opens (``tcp``, ``ble``…); each scheme belongs to one driver.
    schemes: frozenset[str]

    def matches_advertisement(self, adv: Advertisement) -> bool:
        """Whether a device heard in a Bluetooth scan is one of this driver's massagers."""
        ...

    def url_for(self, adv: Advertisement, *, hci: str | None = None) -> str:
        """The address ``medctl.connect`` takes for a matched advertisement."""
        ...

    async def open(self, address: DeviceAddress, **options: Any) -> Device:
        """A connected, identified device (the caller closes it)."""
        ...


_loaded: dict[str, Driver] = {}
_extra: list[Driver] = []


def register(driver: Driver) -> None:
    """Add a driver at run time (a plug-in or a test); a scheme already taken is refused."""
    taken = {scheme for d in drivers() for scheme in d.schemes}
    clash = driver.schemes & taken
    if clash:
        raise ValueError(f"driver {driver.name!r}: scheme(s) {', '.join(sorted(clash))} already have a driver")
    _extra.append(driver)


def unregister(driver: Driver) -> None:
    _extra.remove(driver)


def drivers() -> list[Driver]:
    """Every known driver, built-in ones first, in :data:`DRIVERS` order."""
    for path in DRIVERS:
        if path not in _loaded:
            module, _, attribute = path.partition(":")
            _loaded[path] = getattr(importlib.import_module(module), attribute)
    return [_loaded[path] for path in DRIVERS] + list(_extra)


def schemes() -> tuple[str, ...]:
    return tuple(scheme for d in drivers() for scheme in sorted(d.schemes))


def for_scheme(scheme: str) -> Driver:
    """The driver that opens addresses of *scheme* (``sim``, ``tuya``…); an AddressError names the known ones."""
    for driver in drivers():
        if scheme in driver.schemes:
            return driver
    known = ", ".join(f"{s}://" for s in schemes())
    raise AddressError(f"no driver for {scheme}:// addresses: use one of {known}")


def for_advertisement(adv: Advertisement) -> Driver | None:
    """The first driver that recognises *adv*, or None (not a massager medctl knows)."""
    return next((d for d in drivers() if d.matches_advertisement(adv)), None)
