"""medctl: drive a heated neck massager over BLE or serial, and guide a safe session.

The way in is a guided session; what :func:`connect` returns runs the motor and the
heater only through one (the rules R1–R11, a STOP that latches, a record in the history)::

    async with medctl.connect("sim://") as massager:
        async with massager.session(SessionPlan(minutes=5), safety=check) as session:
            async for update in session.updates(): ...

For firmware and bench work only, ``massager.raw()`` opens raw level control with no
session rules (shut while a session runs). ``history=medctl.NO_HISTORY`` keeps no record and
so skips R9; the default is the history in the user data directory (``$MEDCTL_DB``).
"""

from medctl.connection import connect
from medctl.devices.medctl_protocol.client import DeviceClient, RawMassager
from medctl.errors import (
    AddressError,
    AuthenticationRefused,
    CommandCancelled,
    CommandRefused,
    ConnectionLost,
    DeviceBusy,
    DeviceFault,
    DeviceTimeout,
    GuidedOnly,
    KeyStoreError,
    MedctlError,
    OutOfRange,
    PairingError,
    ProtocolMismatch,
    SessionRunning,
    TransportError,
)
from medctl.keys import KeyStore, PairedKey
from medctl.models import Capabilities, DeviceIdentity, DeviceStatus
from medctl.pairing import pair
from medctl.session import DEFAULT_HISTORY, NO_HISTORY, SafetyCheck, SessionPlan

#: The one place the version is defined; pyproject.toml reads it ([tool.setuptools.dynamic]).
__version__ = "0.2.0.dev0"

__all__ = [
    "DEFAULT_HISTORY",
    "NO_HISTORY",
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
    "GuidedOnly",
    "KeyStore",
    "KeyStoreError",
    "MedctlError",
    "OutOfRange",
    "PairedKey",
    "PairingError",
    "ProtocolMismatch",
    "RawMassager",
    "SafetyCheck",
    "SessionPlan",
    "SessionRunning",
    "TransportError",
    "__version__",
    "connect",
    "pair",
]
