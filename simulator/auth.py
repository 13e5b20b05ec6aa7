"""The device's side of the authenticated channel (SPEC.md §11, §12): pairing, keys, connection keys.

:class:`DeviceAuth` is what the firmware remembers about its controllers: the pairing code
printed on the device, one pairing key per paired controller, the pairing window and how
many pairing attempts failed since power-on. A real device keeps the keys in flash; the
simulator keeps them for the lifetime of the :class:`DeviceAuth`, which the firmware owns
(hand the same object to a new firmware to simulate a power cycle: keys stay, the window
and the count of failed attempts do not).

Version 3 binds every authenticated frame to one connection: SESSION_BEGIN gives the link
a :class:`Channel` (a key derived from the pairing key and both nonces, and the link's own
counter), and :meth:`DeviceAuth.check` verifies frames with it. Pairing is SPAKE2, open
only in a window (a button on a real device), one attempt a second; the only expensive
work (two SPAKE2 operations) is done for an attempt that passed those gates. STOP is never
refused.
"""

from __future__ import annotations

import math
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final

from firmware_protocol import (
    AUTH_FRAME_VERSION,
    SESSION_PROTOCOL_VERSION,
    AuthFailure,
    ErrorCode,
    Frame,
    Hello,
    Message,
    MsgType,
    PairConfirm,
    PakeBegin,
    PakePart,
    ProtocolError,
    Replay,
    SessionBegin,
    SessionBeginResult,
    Stop,
)
from firmware_protocol.auth import format_code, new_pairing_code, same, verify_frame
from firmware_protocol.messages import NONCE_LEN
from firmware_protocol.pake import PAKE_PARTS, PairingProof, PakeFailed, PakeSide, part_len, parts
from firmware_protocol.session import device_proof, session_key

#: Requests a paired device still takes in a plain frame, from anyone (SPEC.md §11.5, §12.1).
OPEN_REQUESTS: Final = frozenset(
    {
        MsgType.GET_INFO,
        MsgType.GET_STATUS,
        MsgType.STOP,
        MsgType.PAIR_BEGIN,
        MsgType.PAIR_CONFIRM,
        MsgType.SESSION_BEGIN,
        MsgType.PAKE_BEGIN,
        MsgType.PAKE_PART,
    }
)
#: The protocol version with connection keys: a paired device refuses plain HELLOs below it.
AUTH_PROTOCOL_VERSION: Final = SESSION_PROTOCOL_VERSION
#: Keys the simulator keeps; pairing one more forgets the one used least recently.
MAX_PAIRED: Final = 8
#: Failed (or abandoned) pairing attempts after which pairing is refused until power-off.
MAX_PAIRING_FAILURES: Final = 5
#: How long pairing stays open after the button press (SPEC.md §12.4).
PAIRING_WINDOW_S: Final = 60.0
#: At most one pairing attempt begins per this many seconds.
PAIRING_INTERVAL_S: Final = 1.0


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
    pairing_refused: int = 0


@dataclass
class Channel:
    """One link's connection keys (SPEC.md §12.2): whose they are, the key, the last counter accepted."""

    controller_id: int
    key: bytes
    last_counter: int = 0


@dataclass
class PendingPake:
    """A pairing attempt on one link: the device's SPAKE2 side and the controller's parts so far."""

    controller_id: int
    side: PakeSide
    received: list[bytes] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.received) == PAKE_PARTS


class DeviceAuth:
    """The device's pairing memory, its pairing window and its authentication check."""

    def __init__(
        self, code: str | None = None, *, capacity: int = MAX_PAIRED, max_failures: int = MAX_PAIRING_FAILURES
    ) -> None:
        self.code = format_code(code) if code is not None else new_pairing_code()
        self._capacity = capacity
        self._max_failures = max_failures
        self._paired: OrderedDict[int, bytes] = OrderedDict()
        self.counters = AuthCounters()
        self.failures = 0
        self._window_until = -math.inf
        self._last_attempt = -math.inf
        #: A device without a pairing button (the built-in simulator given a known code, for tests
        #: and conformance runs): pairing is open at any time; the pacing and the lockout still hold.
        self.window_always_open = False

    def power_on(self) -> None:
        """Switched off and on (SPEC.md §12.4): keys stay; the lockout, the window and the pacing do not."""
        self.failures = 0
        self._window_until = -math.inf
        self._last_attempt = -math.inf

    @property
    def paired(self) -> bool:
        """True once any controller is paired: from then on plain control requests are refused."""
        return bool(self._paired)

    @property
    def controllers(self) -> tuple[int, ...]:
        """The paired controller ids, least recently used first."""
        return tuple(self._paired)

    @property
    def locked(self) -> bool:
        return self.failures >= self._max_failures

    def forget_all(self) -> None:
        """A factory reset: no paired controllers, no failed attempts."""
        self._paired.clear()
        self.power_on()

    # --- connection keys (SPEC.md §12.2) -------------------------------------------------------

    def begin_session(self, request: SessionBegin) -> tuple[Channel, bytes]:
        """Answer SESSION_BEGIN: the link's new channel and the ACK data (device nonce and proof)."""
        pairing_key = self._paired.get(request.controller_id)
        if pairing_key is None:
            raise self._refuse(ErrorCode.AUTH_FAILED, AuthFailure.UNKNOWN_CONTROLLER)
        nonce = secrets.token_bytes(NONCE_LEN)
        key = session_key(pairing_key, request.controller_id, request.nonce, nonce)
        proof = device_proof(key, request.controller_id, request.nonce, nonce)
        return Channel(request.controller_id, key), SessionBeginResult(nonce, proof).to_bytes()

    # --- the authentication step (SPEC.md §12.3) -------------------------------------------------

    def check(self, frame: Frame, message: Message, channel: Channel | None, session: int | None) -> bool:
        """Whether *message* (from *frame*, on a link with *channel* and HELLO *session*) is authenticated.

        Raises :class:`AuthRefused` when it may not run; a STOP is never refused, only
        reported as not authenticated. An accepted counter is consumed here.
        """
        try:
            if frame.version == AUTH_FRAME_VERSION:
                self._verify(frame, message, channel, session)
                return True
            self._allow_plain(message)
        except AuthRefused:
            if isinstance(message, Stop):
                return False
            raise
        return False

    def _verify(self, frame: Frame, message: Message, channel: Channel | None, session: int | None) -> None:
        if channel is None:
            raise self._refuse(ErrorCode.AUTH_FAILED, AuthFailure.NO_SESSION)
        if isinstance(message, Hello):
            if message.controller_id != channel.controller_id:
                raise self._refuse(ErrorCode.AUTH_FAILED, AuthFailure.UNKNOWN_CONTROLLER)
        elif session is None:
            raise self._refuse(ErrorCode.HELLO_REQUIRED)
        elif session != channel.controller_id:
            raise self._refuse(ErrorCode.AUTH_FAILED, AuthFailure.UNKNOWN_CONTROLLER)
        try:
            counter = verify_frame(frame, channel.key).counter
        except ProtocolError:
            raise self._refuse(ErrorCode.AUTH_FAILED, AuthFailure.BAD_TAG) from None
        if counter <= channel.last_counter:
            raise self._refuse(ErrorCode.REPLAYED, Replay.REPEATED if counter == channel.last_counter else Replay.OLDER)
        channel.last_counter = counter
        if channel.controller_id in self._paired:
            self._paired.move_to_end(channel.controller_id)

    def _allow_plain(self, message: Message) -> None:
        if not self.paired or message.TYPE in OPEN_REQUESTS:
            return
        if isinstance(message, Hello) and message.max_version < AUTH_PROTOCOL_VERSION:
            raise self._refuse(ErrorCode.UNSUPPORTED_VERSION, AUTH_PROTOCOL_VERSION)
        raise self._refuse(ErrorCode.AUTH_REQUIRED)

    # --- pairing (SPEC.md §12.4) -----------------------------------------------------------------

    def open_window(self, now: float) -> None:
        """The pairing button was pressed: pairing is open for :data:`PAIRING_WINDOW_S`."""
        self._window_until = now + PAIRING_WINDOW_S

    def close_window(self) -> None:
        self._window_until = -math.inf

    def window_open(self, now: float) -> bool:
        return self.window_always_open or now < self._window_until

    def begin_pake(self, serial: str, request: PakeBegin, now: float) -> PendingPake:
        """Answer PAKE_BEGIN: the gates first (cheap), then this attempt's SPAKE2 message (the expensive part)."""
        if self.locked:
            raise self._refuse_pairing(AuthFailure.PAIRING_LOCKED)
        if not self.window_open(now):
            raise self._refuse_pairing(AuthFailure.PAIRING_CLOSED)
        if now - self._last_attempt < PAIRING_INTERVAL_S:
            raise self._refuse_pairing(AuthFailure.PAIRING_TOO_SOON)
        self._last_attempt = now
        self.failures += 1  # an attempt counts as failed until its PAIR_CONFIRM succeeds
        return PendingPake(request.controller_id, PakeSide(True, self.code, serial, request.controller_id))

    def pake_part(self, pending: PendingPake | None, request: PakePart) -> bytes:
        """Take the next part of the controller's message; answer the same part of the device's."""
        if pending is None or request.index != len(pending.received) or len(request.chunk) != part_len(request.index):
            raise self._refuse_pairing(AuthFailure.NO_PAIRING)
        pending.received.append(request.chunk)
        return parts(pending.side.message)[request.index]

    def confirm(self, pending: PendingPake | None, request: PairConfirm) -> bytes:
        """Answer PAIR_CONFIRM: store the key if the controller proved it derived it; return the device's proof."""
        if pending is None or not pending.complete:
            raise self._refuse_pairing(AuthFailure.NO_PAIRING)
        try:
            proof: PairingProof = pending.side.finish(b"".join(pending.received))
        except PakeFailed:
            raise self._refuse_pairing(AuthFailure.BAD_TAG) from None
        if not same(proof.controller, request.confirmation):
            raise self._refuse_pairing(AuthFailure.BAD_TAG)
        self._store(pending.controller_id, proof.key)
        self.failures -= 1
        self.close_window()  # one pairing per button press
        return proof.device

    def _store(self, controller_id: int, key: bytes) -> None:
        self._paired.pop(controller_id, None)
        while len(self._paired) >= self._capacity:
            self._paired.popitem(last=False)
        self._paired[controller_id] = key
        self.counters.pairings += 1

    def _refuse_pairing(self, detail: AuthFailure) -> AuthRefused:
        self.counters.pairing_refused += 1
        return AuthRefused(ErrorCode.AUTH_FAILED, detail)

    def _refuse(self, code: ErrorCode, detail: int = 0) -> AuthRefused:
        counters = self.counters
        if code is ErrorCode.REPLAYED:
            counters.replayed += 1
        elif code is ErrorCode.AUTH_REQUIRED or code is ErrorCode.UNSUPPORTED_VERSION:
            counters.auth_required += 1
        else:
            counters.auth_failed += 1
        return AuthRefused(code, detail)
