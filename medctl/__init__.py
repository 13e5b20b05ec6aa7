"""medctl: drive a heated neck massager over BLE or serial, and guide a safe session.

async with medctl.connect("sim://") as massager:
    await massager.start(1)
    async for status in massager.updates(): ...
"""

from medctl.client import DeviceClient
from medctl.connection import connect
from medctl.errors import (
    AddressError,
    AuthenticationRefused,
    CommandCancelled,
    CommandRefused,
    ConnectionLost,
    DeviceBusy,
    DeviceFault,
    DeviceTimeout,
    KeyStoreError,
    MedctlError,
    OutOfRange,
    PairingError,
    ProtocolMismatch,
    TransportError,
)
from medctl.keys import KeyStore, PairedKey
from medctl.models import Capabilities, DeviceIdentity, DeviceStatus
from medctl.pairing import pair

__version__ = "0.1.0"

__all__ = [
    "AddressError",
    "AuthenticationRefused",
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
    "KeyStore",
    "KeyStoreError",
    "MedctlError",
    "OutOfRange",
    "PairedKey",
    "PairingError",
    "ProtocolMismatch",
    "TransportError",
    "__version__",
    "connect",
    "pair",
]
