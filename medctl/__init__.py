"""medctl: drive a heated neck massager over BLE or serial, and guide a safe session.

async with medctl.connect("sim://") as massager:
    await massager.start(1)
    async for status in massager.updates(): ...
"""

from medctl.client import DeviceClient
from medctl.connection import connect
from medctl.errors import (
    AddressError,
    CommandCancelled,
    CommandRefused,
    ConnectionLost,
    DeviceBusy,
    DeviceFault,
    DeviceTimeout,
    MedctlError,
    OutOfRange,
    ProtocolMismatch,
    TransportError,
)
from medctl.models import Capabilities, DeviceIdentity, DeviceStatus

__version__ = "0.1.0"

__all__ = [
    "AddressError",
    "Capabilities",
    "CommandCancelled",
    "CommandRefused",
    "ConnectionLost",
    "DeviceBusy",
    "DeviceClient",
    "DeviceFault",
    "DeviceIdentity",
    "DeviceStatus",
    "DeviceTimeout",
    "MedctlError",
    "OutOfRange",
    "ProtocolMismatch",
    "TransportError",
    "__version__",
    "connect",
]
