"""``medctl.connect(url)``: the one entry point to a massager.

The context manager always stops the device and says goodbye on the way out,
whether the block ends normally, raises, or is cancelled (Ctrl-C).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from medctl.address import parse_address
from medctl.client import REQUEST_RETRIES, REQUEST_TIMEOUT_S, DeviceClient
from medctl.clock import LoopClock, ScaledClock
from medctl.transport import open_transport

DEFAULT_DEVICE = "sim://"


@asynccontextmanager
async def connect(
    url: str = DEFAULT_DEVICE,
    *,
    controller_id: int | None = None,
    request_timeout: float = REQUEST_TIMEOUT_S,
    retries: int = REQUEST_RETRIES,
) -> AsyncIterator[DeviceClient]:
    """Connect to the massager at *url* (``sim://``, ``serial:///dev/ttyUSB0``, ``tcp://host:port``)."""
    address = parse_address(url)
    speed = address.option_float("speed", 1.0) if address.scheme == "sim" else 1.0
    client = DeviceClient(
        open_transport(address),
        controller_id=controller_id,
        request_timeout=request_timeout,
        retries=retries,
        address=address.url,
        clock=ScaledClock(speed) if speed != 1.0 else LoopClock(),
    )
    await client.open()
    try:
        yield client
    finally:
        await client.close()
