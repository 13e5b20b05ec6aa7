"""``medctl.connect(url)``: the one entry point to a massager.

The context manager always stops the device and says goodbye on the way out,
whether the block ends normally, raises, or is cancelled (Ctrl-C). A massager this
computer has paired with (``medctl pair``) is recognised by its serial number and
every request to it is signed with the stored key (SPEC.md §11).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from medctl.address import parse_address
from medctl.client import REQUEST_RETRIES, REQUEST_TIMEOUT_S, DeviceClient
from medctl.clock import LoopClock, ScaledClock
from medctl.keys import KeyStore
from medctl.transport import open_transport
from medctl.transport.sim import sim_speed

DEFAULT_DEVICE = "sim://"


@asynccontextmanager
async def connect(
    url: str = DEFAULT_DEVICE,
    *,
    controller_id: int | None = None,
    request_timeout: float = REQUEST_TIMEOUT_S,
    retries: int = REQUEST_RETRIES,
    keys: KeyStore | None = None,
) -> AsyncIterator[DeviceClient]:
    """Connect to the massager at *url* (``sim://``, ``serial:///dev/ttyUSB0``, ``tcp://host:port``).

    What it yields runs the motor and heater only through ``massager.session(...)``;
    ``massager.raw()`` is the separate door for firmware and bench work.

    *keys* is where pairing keys are looked up (default: ``$MEDCTL_KEYS``, else the user
    configuration directory). The built-in simulator (``sim://``) lives in this process,
    is never paired and never uses keys. With a stored key, *controller_id* is the one
    agreed in pairing.
    """
    address = parse_address(url)
    speed = sim_speed(address) if address.scheme == "sim" else 1.0
    client = DeviceClient(
        open_transport(address),
        controller_id=controller_id,
        request_timeout=request_timeout,
        retries=retries,
        address=address.url,
        clock=ScaledClock(speed) if speed != 1.0 else LoopClock(),
        keys=None if address.scheme == "sim" else (keys if keys is not None else KeyStore()),
    )
    await client.open()
    try:
        yield client
    finally:
        await client.close()
