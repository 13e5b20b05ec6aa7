"""The exceptions medctl raises, one root, each with a sentence a person can act on.

MedctlError
├── AddressError          the device URL cannot be understood
├── TransportError        the link could not be opened or was lost
│   └── ConnectionLost
├── DeviceTimeout         the device stopped answering
├── ProtocolMismatch      the device speaks another protocol version
├── Unsupported           the device lacks the capability asked for (also a ValueError)
├── CommandRefused        the device answered NACK
│   ├── OutOfRange        a level outside the device's range (also a ValueError)
│   ├── DeviceBusy        another controller owns the device
│   └── AuthenticationRefused  the device refused this controller's authentication
├── CommandCancelled      a pending command was overtaken by STOP
├── DeviceFault           the device reports a fault that ends the action
├── PairingError          pairing did not complete; nothing was stored
└── KeyStoreError         the key file is unsafe, damaged, or in use
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # errors are imported by everything; the wire protocol's codes only when a NACK arrives
    from firmware_protocol import ErrorCode


class MedctlError(Exception):
    """Root of medctl's errors; ``str(error)`` is one line meant for the user."""


class AddressError(MedctlError, ValueError):
    """A device address (URL) that cannot be used: unknown scheme, malformed, or an option out of range."""


class TransportError(MedctlError):
    """The link to the massager could not be opened or used (port, socket, Bluetooth adapter)."""


class ConnectionLost(TransportError):
    """The link to the massager went away; the device stops by its own watchdog where it has one."""


class ControllerFailure(ConnectionLost):
    """A background task of the controller failed unexpectedly (a bug): the device was told to
    stop and the session must end; reconnecting would only hide the bug."""


class WrongDevice(TransportError):
    """The address now answers with another massager (another serial number): refused, not used."""


class DeviceTimeout(MedctlError):
    """The massager did not answer a request within its retries."""


class ProtocolMismatch(MedctlError):
    """The massager speaks a protocol version this medctl does not (update one of them)."""


class CommandCancelled(MedctlError):
    """A command overtaken by STOP (or by the session's end) and never sent: nothing happened."""


class GuidedOnly(MedctlError):
    """A command that runs the motor or heater: only a guided session (or ``raw()``, for bench work) sends it."""


class SessionRunning(MedctlError):
    """A guided session drives this connection: raw control and a second session are refused."""


class Unsupported(MedctlError, ValueError):
    """The device does not have this capability (modes, heat…): nothing was sent."""


class CommandRefused(MedctlError):
    """The device refused a request; ``code`` and ``detail`` come from the NACK."""

    def __init__(self, message: str, *, request: int, code: ErrorCode, detail: int = 0) -> None:
        super().__init__(message)
        self.request = request
        self.code = code
        self.detail = detail


class OutOfRange(CommandRefused, ValueError):
    """A level outside what the massager accepts; refused before it is sent, or by the device."""


class DeviceBusy(CommandRefused):
    """The massager refused a command as busy (NACK BUSY); trying again later may work."""


class AuthenticationRefused(CommandRefused):
    """The device refused a request for its authentication (NACK AUTH_REQUIRED, AUTH_FAILED, REPLAYED)."""


class PairingError(MedctlError):
    """Pairing did not complete: wrong code, the pairing window closed, or the device locked out."""


class KeyStoreError(MedctlError):
    """The pairing key file cannot be read or written safely (permissions, type, size)."""


class DeviceFault(MedctlError):
    """The massager reports a fault that rules a session out now (a stall, an empty battery); ``faults`` says which."""

    def __init__(self, message: str, *, faults: int) -> None:
        # a medctl.devices.FaultFlag (an int flag; typed int so errors import no device types)
        super().__init__(message)
        self.faults = faults
