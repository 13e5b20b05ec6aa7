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

from firmware_protocol import AuthFailure, ErrorCode, MsgType


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


_REASONS: dict[ErrorCode, str] = {
    ErrorCode.UNKNOWN_TYPE: "the device does not know this command (firmware too old?)",
    ErrorCode.BAD_LENGTH: "the device rejected a malformed command",
    ErrorCode.OUT_OF_RANGE: "value out of range",
    ErrorCode.UNSUPPORTED_VERSION: "the device does not speak this protocol version",
    ErrorCode.NOT_OWNER: "the massager is not taking commands from this controller (another controller owns it,"
    " or its watchdog released this one); reconnect",
    ErrorCode.HELLO_REQUIRED: "the device forgot this controller (was it restarted?); reconnect",
    ErrorCode.FAULT_ACTIVE: "the device reports a fault; check the massager and clear the fault first",
    ErrorCode.BUSY: "the device is busy and refused the command; try again",
    ErrorCode.BAD_VALUE: "the device rejected a value it does not define",
    ErrorCode.AUTH_REQUIRED: "this massager is paired and takes commands only from its paired controllers;"
    " pair with it first ({pair}, with the code printed on the massager)",
    ErrorCode.REPLAYED: "the massager had already seen this controller's message counter (was the key file"
    " copied to another computer?); pair again ({pair})",
}
_AUTH_FAILURES: dict[int, str] = {
    AuthFailure.UNKNOWN_CONTROLLER: "the massager does not know this controller's key (was it reset?);"
    " pair again ({pair})",
    AuthFailure.BAD_TAG: "the massager did not accept this controller's key; pair again ({pair})",
    AuthFailure.NO_PAIRING: "the massager has no pairing in progress on this link; start pairing again",
    AuthFailure.PAIRING_LOCKED: "too many wrong pairing codes: switch the massager off and on, then pair again",
}
_AUTH_CODES = frozenset({ErrorCode.AUTH_REQUIRED, ErrorCode.AUTH_FAILED, ErrorCode.REPLAYED})


def refusal(request: int, code: ErrorCode, detail: int, *, what: str = "", device: str = "") -> CommandRefused:
    """Turn a NACK into the matching exception with a readable message (*device*: its URL, for advice)."""
    try:
        name = MsgType(request).name.lower().replace("_", " ")
    except ValueError:
        name = f"request 0x{request:02X}"
    if code is ErrorCode.OUT_OF_RANGE:
        low = 0 if request == MsgType.SET_HEAT else 1
        subject = what or name
        return OutOfRange(
            f"{subject}: out of range; this massager accepts {low} to {detail}",
            request=request,
            code=code,
            detail=detail,
        )
    reason = _REASONS.get(code, code.name)
    if code is ErrorCode.NOT_OWNER and request == MsgType.HELLO:
        reason = "another controller is using the massager; stop it there or wait for it to let go"
    if code is ErrorCode.AUTH_FAILED:
        reason = _AUTH_FAILURES.get(detail, "the massager refused this controller's authentication")
    reason = reason.replace("{pair}", f"medctl pair --device {device or 'URL'}")
    message = f"{name} refused: {reason}"
    kind: type[CommandRefused] = CommandRefused
    if code is ErrorCode.NOT_OWNER:
        kind = DeviceBusy
    elif code in _AUTH_CODES:
        kind = AuthenticationRefused
    return kind(message, request=request, code=code, detail=detail)
