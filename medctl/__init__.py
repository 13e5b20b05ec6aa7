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

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Each public name and the module it comes from, imported on first use: ``import medctl`` (and
#: the TUI's first screen) does not wait for the transports, the pairing crypto or the key store.
_LAZY: dict[str, str] = {
    "connect": "medctl.connection",
    "DeviceClient": "medctl.devices.medctl_protocol.client",
    "RawMassager": "medctl.devices.medctl_protocol.client",
    "AddressError": "medctl.errors",
    "AuthenticationRefused": "medctl.errors",
    "CommandCancelled": "medctl.errors",
    "CommandRefused": "medctl.errors",
    "ConnectionLost": "medctl.errors",
    "DeviceBusy": "medctl.errors",
    "DeviceFault": "medctl.errors",
    "DeviceTimeout": "medctl.errors",
    "GuidedOnly": "medctl.errors",
    "KeyStoreError": "medctl.errors",
    "MedctlError": "medctl.errors",
    "OutOfRange": "medctl.errors",
    "PairingError": "medctl.errors",
    "ProtocolMismatch": "medctl.errors",
    "SessionRunning": "medctl.errors",
    "TransportError": "medctl.errors",
    "KeyStore": "medctl.keys",
    "PairedKey": "medctl.keys",
    "Capabilities": "medctl.models",
    "DeviceIdentity": "medctl.models",
    "DeviceStatus": "medctl.models",
    "pair": "medctl.pairing",
    "DEFAULT_HISTORY": "medctl.session",
    "NO_HISTORY": "medctl.session",
    "SafetyCheck": "medctl.session",
    "SessionPlan": "medctl.session",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'medctl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
