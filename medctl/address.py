"""Device addresses are URLs; this module parses and validates them.

sim://?speed=60&intensity_levels=3     the built-in simulator, in-process
serial:///dev/ttyUSB0?baud=115200      a serial port (pyserial URLs such as rfc2217:// too)
tcp://127.0.0.1:7000                   a device or simulator on a TCP port
ble://AA:BB:CC:DD:EE:FF                a Bluetooth LE massager by address (a UUID on macOS)
ble://?name=NeckEase                   the first Bluetooth LE massager whose name starts so
ble://?name=NeckEase&hci=tcp-client:127.0.0.1:9000   the same over a bumble HCI transport
                                       (e.g. the simulator's virtual link) instead of the system's
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from medctl.errors import AddressError

SCHEMES = ("sim", "serial", "tcp", "ble")
#: Options a ``ble://`` address may carry: a name prefix, a bumble HCI transport, the scan time in seconds.
BLE_OPTIONS = ("name", "hci", "timeout")
_MAC = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
_UUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


@dataclass(frozen=True)
class DeviceAddress:
    scheme: str
    location: str
    options: dict[str, str] = field(default_factory=dict)
    url: str = ""

    def option_float(self, name: str, default: float) -> float:
        raw = self.options.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise AddressError(f"{self.url}: option {name}={raw!r} is not a number") from None
        if not math.isfinite(value):
            raise AddressError(f"{self.url}: option {name}={raw!r} is not a finite number")
        return value

    def option_int(self, name: str, default: int) -> int:
        raw = self.options.get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise AddressError(f"{self.url}: option {name}={raw!r} is not a whole number") from None


def parse_address(url: str) -> DeviceAddress:
    """Parse a device URL; a bare path such as ``/dev/ttyUSB0`` means a serial port."""
    if url.startswith("/"):
        url = "serial://" + url
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unbalanced "[" ("Invalid IPv6 URL")
        raise AddressError(f"{url!r} is not a device address: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        from medctl.devices.registry import schemes

        if scheme not in schemes():
            known = ", ".join(f"{s}://" for s in schemes())
            raise AddressError(f"unknown device address {url!r}: use one of {known}")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    if scheme == "serial":
        location = parts.netloc + parts.path
        if not location:
            raise AddressError(f"{url}: name the serial port, e.g. serial:///dev/ttyUSB0")
    elif scheme == "tcp":
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise AddressError(f"{url}: give a host and port, e.g. tcp://127.0.0.1:7000")
        location = f"{parts.hostname}:{port}"
    elif scheme == "ble":
        location = _ble_location(parts.netloc, options, url)
    elif scheme == "sim":
        location = ""
    else:  # another driver's scheme: that driver checks the rest when it opens
        location = parts.netloc + parts.path
    return DeviceAddress(scheme=scheme, location=location, options=options, url=url)


def _ble_location(netloc: str, options: dict[str, str], url: str) -> str:
    """The device address of a ``ble://`` URL (upper case), or "" when it names a device by ``?name=``."""
    unknown = set(options) - set(BLE_OPTIONS)
    if unknown:
        known = ", ".join(BLE_OPTIONS)
        raise AddressError(f"{url}: unknown option(s) {', '.join(sorted(unknown))}; ble:// takes {known}")
    location = netloc.upper()
    if location and not (_MAC.match(location) or _UUID.match(location)):
        raise AddressError(f"{url}: {netloc!r} is not a Bluetooth address such as AA:BB:CC:DD:EE:FF")
    if not location and not options.get("name"):
        raise AddressError(f"{url}: name the massager: ble://AA:BB:CC:DD:EE:FF or ble://?name=NeckEase")
    if location and "name" in options:
        raise AddressError(f"{url}: give an address or ?name=, not both")
    return location
