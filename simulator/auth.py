"""The device's side of the authenticated channel (SPEC.md §11): pairing, keys and counters.

:class:`DeviceAuth` is what the firmware remembers about its controllers: the pairing code
printed on the device, one key and the last accepted counter per paired controller, and
how many pairings failed since power-on. A real device keeps the keys and counters in
flash; the simulator keeps them for the lifetime of the :class:`DeviceAuth`, which the
firmware owns (hand the same object to a new firmware to simulate a reboot).

:meth:`DeviceAuth.check` is the firmware's authentication step (SPEC.md §11.6): called for
every decoded request after de-duplication and before execution, it says whether the
request is authenticated, or raises :class:`AuthRefused` with the NACK to send. STOP is
never refused.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from firmware_protocol import (
    AUTH_FRAME_VERSION,
    AuthFailure,
    ErrorCode,
    Frame,
    Hello,
    Message,
    MsgType,
    PairBegin,
    PairConfirm,
    ProtocolError,
    Replay,
    Stop,
)
from firmware_protocol.auth import (
    PairingTranscript,
    controller_confirmation,
    derive_key,
    device_confirmation,
    format_code,
    new_pairing_code,
    same,
    verify_frame,
)
from firmware_protocol.messages import NONCE_LEN

#: Requests a paired device still takes in a plain frame, from anyone (SPEC.md §11.5).
OPEN_REQUESTS: Final = frozenset(
    {MsgType.GET_INFO, MsgType.GET_STATUS, MsgType.STOP, MsgType.PAIR_BEGIN, MsgType.PAIR_CONFIRM}
)
#: The first protocol version with authentication: a paired device refuses HELLOs below it.
AUTH_PROTOCOL_VERSION: Final = 2
#: Keys the simulator keeps; pairing one more forgets the one used least recently.
MAX_PAIRED: Final = 8
#: Failed pairing confirmations after which pairing is refused until the device restarts.
MAX_PAIRING_FAILURES: Final = 5


class AuthRefused(Exception):
    """The NACK a request gets from the authentication step or from pairing."""

    def __init__(self, code: ErrorCode, detail: int = 0) -> None:
        super().__init__(code.name)
        self.code = code
        self.detail = detail


@dataclass
class AuthCounters:
    """How many frames authentication refused, by reason; and how many pairings succeeded."""

    auth_required: int = 0
    auth_failed: int = 0
    replayed: int = 0
    pairings: int = 0


@dataclass
class PairedController:
    """One paired controller: the key both sides derived, and its last accepted counter."""

    key: bytes
    last_counter: int = 0


@dataclass(frozen=True, slots=True)
class PendingPairing:
    """A PAIR_BEGIN answered on a link, waiting for its PAIR_CONFIRM."""

    transcript: PairingTranscript
    key: bytes


class DeviceAuth:
    """The device's pairing memory and its authentication check."""

    def __init__(
        self, code: str | None = None, *, capacity: int = MAX_PAIRED, max_failures: int = MAX_PAIRING_FAILURES
    ) -> None:
        self.code = format_code(code) if code is not None else new_pairing_code()
        self._capacity = capacity
        self._max_failures = max_failures
        self._paired: OrderedDict[int, PairedController] = OrderedDict()
        self.failures = 0
        self.counters = AuthCounters()

    @property
    def paired(self) -> bool:
        """True once any controller is paired: from then on plain control requests are refused."""
        return bool(self._paired)

    @property
    def controllers(self) -> tuple[int, ...]:
        """The paired controller ids, least recently used first."""
        return tuple(self._paired)

    def last_counter(self, controller_id: int) -> int | None:
        entry = self._paired.get(controller_id)
        return None if entry is None else entry.last_counter

    def forget_all(self) -> None:
        """A factory reset: no paired controllers, no failed attempts."""
        self._paired.clear()
        self.failures = 0

    # --- the authentication step -------------------------------------------------------------

    def check(self, frame: Frame, message: Message, session: int | None) -> bool:
        """Whether *message* (decoded from *frame*, on a link whose session is *session*) is authenticated.

        Raises :class:`AuthRefused` when it may not run; a STOP is never refused, only
        reported as not authenticated. An accepted counter is consumed here.
        """
        try:
            if frame.version == AUTH_FRAME_VERSION:
                self._verify(frame, message, session)
                return True
            self._allow_plain(message)
        except AuthRefused:
            if isinstance(message, Stop):
                return False
            raise
        return False

    def _verify(self, frame: Frame, message: Message, session: int | None) -> None:
        controller_id = message.controller_id if isinstance(message, Hello) else session
        if controller_id is None:
            raise self._refuse(ErrorCode.HELLO_REQUIRED)
        entry = self._paired.get(controller_id)
        if entry is None:
            raise self._refuse(ErrorCode.AUTH_FAILED, AuthFailure.UNKNOWN_CONTROLLER)
        try:
            counter = verify_frame(frame, entry.key).counter
        except ProtocolError:
            raise self._refuse(ErrorCode.AUTH_FAILED, AuthFailure.BAD_TAG) from None
        if counter <= entry.last_counter:
            raise self._refuse(ErrorCode.REPLAYED, Replay.REPEATED if counter == entry.last_counter else Replay.OLDER)
        entry.last_counter = counter
        self._paired.move_to_end(controller_id)

    def _allow_plain(self, message: Message) -> None:
        if not self.paired or message.TYPE in OPEN_REQUESTS:
            return
        if isinstance(message, Hello) and message.max_version < AUTH_PROTOCOL_VERSION:
            raise self._refuse(ErrorCode.UNSUPPORTED_VERSION, AUTH_PROTOCOL_VERSION)
        raise self._refuse(ErrorCode.AUTH_REQUIRED)

    # --- pairing -------------------------------------------------------------------------------

    def begin(self, serial: str, request: PairBegin) -> PendingPairing:
        """Answer PAIR_BEGIN: pick the device nonce and derive the key (not stored yet)."""
        if self.failures >= self._max_failures:
            raise self._refuse(ErrorCode.AUTH_FAILED, AuthFailure.PAIRING_LOCKED)
        nonce = secrets.token_bytes(NONCE_LEN)
        transcript = PairingTranscript(serial, request.controller_id, request.nonce, nonce)
        return PendingPairing(transcript, derive_key(self.code, transcript))

    def confirm(self, pending: PendingPairing | None, request: PairConfirm) -> bytes:
        """Answer PAIR_CONFIRM: store the key if the controller proved it derived it; return the device's proof."""
        if pending is None:
            raise self._refuse(ErrorCode.AUTH_FAILED, AuthFailure.NO_PAIRING)
        if not same(controller_confirmation(pending.key, pending.transcript), request.confirmation):
            self.failures += 1
            raise self._refuse(ErrorCode.AUTH_FAILED, AuthFailure.BAD_TAG)
        self._store(pending.transcript.controller_id, pending.key)
        return device_confirmation(pending.key, pending.transcript)

    def _store(self, controller_id: int, key: bytes) -> None:
        self._paired.pop(controller_id, None)
        while len(self._paired) >= self._capacity:
            self._paired.popitem(last=False)
        self._paired[controller_id] = PairedController(key)
        self.failures = 0
        self.counters.pairings += 1

    def _refuse(self, code: ErrorCode, detail: int = 0) -> AuthRefused:
        counters = self.counters
        if code is ErrorCode.REPLAYED:
            counters.replayed += 1
        elif code is ErrorCode.AUTH_REQUIRED or code is ErrorCode.UNSUPPORTED_VERSION:
            counters.auth_required += 1
        else:
            counters.auth_failed += 1
        return AuthRefused(code, detail)
