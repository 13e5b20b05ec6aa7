"""A NACK of our protocol in words: the matching :mod:`medctl.errors` exception, with a sentence a
person can act on (SPEC.md §8)."""

from __future__ import annotations

from firmware_protocol import AuthFailure, ErrorCode, MsgType
from medctl.errors import AuthenticationRefused, CommandRefused, DeviceBusy, OutOfRange

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
        low = 0 if request in (MsgType.SET_HEAT, MsgType.SET_MODE) else 1
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
