"""``medctl.connect(url)``: the one entry point to a massager.

The URL's scheme picks the driver (:mod:`medctl.devices.registry`). The context manager
always stops the device and lets it go on the way out, whether the block ends normally,
raises, or is cancelled (Ctrl-C). A massager this computer has paired with (``medctl pair``)
is recognised by its serial number and every request to it is signed with the stored key
(SPEC.md §11).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from medctl.address import parse_address
from medctl.devices.device import Device
from medctl.devices.registry import for_scheme
from medctl.keys import KeyStore

DEFAULT_DEVICE = "sim://"


@asynccontextmanager
async def connect(
    url: str = DEFAULT_DEVICE,
    *,
    controller_id: int | None = None,
    request_timeout: float | None = None,
    retries: int | None = None,
    keys: KeyStore | None = None,
    **driver_options: Any,
) -> AsyncIterator[Device]:
    """Connect to the massager at *url* (``sim://``, ``serial:///dev/ttyUSB0``, ``tcp://host:port``,
    ``ble://…``, or any scheme a registered driver opens).

    What it yields runs the motor and heater only through ``massager.session(...)``;
    ``massager.raw()`` is the separate door for firmware and bench work.

    *keys* is where pairing keys are looked up (default: ``$MEDCTL_KEYS``, else the user
    configuration directory). The built-in simulator (``sim://``) lives in this process,
    is never paired and never uses keys. With a stored key, *controller_id* is the one
    agreed in pairing. Options left out take the driver's defaults; *driver_options* go to
    the driver as they are.
    """
    address = parse_address(url)
    given = {"controller_id": controller_id, "request_timeout": request_timeout, "retries": retries, "keys": keys}
    options = {name: value for name, value in given.items() if value is not None} | driver_options
    device = await for_scheme(address.scheme).open(address, **options)
    try:
        yield device
    finally:
        await device.close()
