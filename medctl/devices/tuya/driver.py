"""The registry entry for Tuya BLE massagers: ``tuya://`` addresses, and Tuya's advertisement in a scan.

``tuya://AA:BB:CC:DD:EE:FF?uuid=...&device_id=...&local_key=...`` — or just
``tuya://AA:BB:CC:DD:EE:FF`` with the three values in the private Tuya key file
(credentials.py). ``&product=FILE.toml`` picks another product definition (product.py);
``&hci=TRANSPORT`` runs Bluetooth over a bumble HCI transport, as ``ble://`` does; ``&timeout=``
is how long to look for it, in seconds. docs/tuya.md says how a person gets the three values.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from medctl.address import DeviceAddress
from medctl.devices.registry import Advertisement
from medctl.devices.tuya.client import TuyaClient
from medctl.devices.tuya.credentials import default_credentials_path, load_credentials
from medctl.devices.tuya.discovery import recognises
from medctl.devices.tuya.link import Credentials
from medctl.devices.tuya.massager import DRIVER_NAME, TuyaMassager
from medctl.devices.tuya.product import DEFAULT_PRODUCT, ProductError, load_product
from medctl.devices.tuya.protocol import TuyaProtocolError
from medctl.errors import AddressError, ConnectionLost
from medctl.transport.ble import BleBackend, open_backend

SCHEME: Final = "tuya"
OPTIONS: Final = ("uuid", "device_id", "local_key", "product", "hci", "timeout")
_MAC = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")


def parse_tuya_url(url: str) -> tuple[str, dict[str, str]]:
    """(Bluetooth address, options) of a ``tuya://`` address; AddressError with a sentence otherwise."""
    parts = urlsplit(url)
    location = parts.netloc.upper()
    if parts.scheme.lower() != SCHEME or not _MAC.match(location):
        raise AddressError(f"{url!r} is not tuya://AA:BB:CC:DD:EE:FF[?uuid=...&device_id=...&local_key=...]")
    options = dict(parse_qsl(parts.query))
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise AddressError(f"tuya:// takes {', '.join(OPTIONS)}; not {', '.join(sorted(unknown))}")
    return location, options


def credentials_from(location: str, options: dict[str, str]) -> Credentials:
    """The pairing values on the URL, else those stored for *location* in the private Tuya key file."""
    if not any(options.get(k) for k in ("uuid", "device_id", "local_key")):
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


async def open_massager(url: str, *, backend: BleBackend | None = None, simulated: bool = False) -> TuyaMassager:
    """Connect and pair with the massager at *url* (the caller closes it, which powers it off)."""
    location, options = parse_tuya_url(url)
    try:
        product = load_product(options.get("product", DEFAULT_PRODUCT))
    except ProductError as exc:
        raise AddressError(str(exc)) from exc
    credentials = credentials_from(location, options)
    try:
        timeout = float(options.get("timeout", "0"))
    except ValueError:
        raise AddressError(f"tuya:// option timeout={options['timeout']!r} is not a number of seconds") from None
    owned = backend is None
    backend = backend or await open_backend(options.get("hci"))
    client = TuyaClient(location, credentials, backend=backend, scan_timeout=timeout)
    try:
        await client.open()
    except BaseException:
        if owned:
            await backend.aclose()
        raise
    return TuyaMassager(client, product, simulated=simulated, on_close=backend.aclose if owned else None)


@asynccontextmanager
async def open_tuya(
    url: str, *, backend: BleBackend | None = None, simulated: bool = False
) -> AsyncIterator[TuyaMassager]:
    """``async with open_tuya(url) as massager:`` — powered off and disconnected on the way out."""
    massager = await open_massager(url, backend=backend, simulated=simulated)
    try:
        yield massager
    finally:
        with contextlib.suppress(ConnectionLost):
            await massager.close()


class TuyaDriver:
    name = DRIVER_NAME
    schemes = frozenset({SCHEME})

    def matches_advertisement(self, adv: Advertisement) -> bool:
        return recognises(adv.service_uuids, adv.service_data, adv.manufacturer_data)

    def url_for(self, adv: Advertisement, *, hci: str | None = None) -> str:
        return f"tuya://{adv.address}" + (f"?hci={hci}" if hci else "")

    async def open(self, address: DeviceAddress, **options: Any) -> TuyaMassager:
        backend, simulated = options.pop("backend", None), bool(options.pop("simulated", False))
        if options:
            raise TypeError(f"the tuya driver takes backend= and simulated=, not {', '.join(sorted(options))}")
        return await open_massager(address.url, backend=backend, simulated=simulated)


DRIVER = TuyaDriver()
