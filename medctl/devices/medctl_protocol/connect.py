"""Open a :class:`DeviceClient` for an address: transport, clock and key store chosen here."""

from __future__ import annotations

from medctl.address import DeviceAddress
from medctl.clock import LoopClock, ScaledClock
from medctl.devices.medctl_protocol.client import REQUEST_RETRIES, REQUEST_TIMEOUT_S, DeviceClient
from medctl.keys import KeyStore
from medctl.transport import open_transport
from medctl.transport.sim import sim_speed


async def open_client(
    address: DeviceAddress,
    *,
    controller_id: int | None = None,
    request_timeout: float = REQUEST_TIMEOUT_S,
    retries: int = REQUEST_RETRIES,
    keys: KeyStore | None = None,
) -> DeviceClient:
    """A connected, identified client (closed by the caller); the simulator is never paired."""
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
    return client
