"""Device addresses are URLs; this module parses and validates them.

sim://?speed=60&intensity_levels=3     the built-in simulator, in-process
serial:///dev/ttyUSB0?baud=115200      a serial port (pyserial URLs such as rfc2217:// too)
tcp://127.0.0.1:7000                   a device or simulator on a TCP port
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from medctl.errors import AddressError

SCHEMES = ("sim", "serial", "tcp")


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
            return float(raw)
        except ValueError:
            raise AddressError(f"{self.url}: option {name}={raw!r} is not a number") from None

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
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in SCHEMES)
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
    else:
        location = ""
    return DeviceAddress(scheme=scheme, location=location, options=options, url=url)
