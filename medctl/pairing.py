"""Pairing (SPEC.md §11.4): bind this controller to a massager with the code printed on it.

    record = await medctl.pair("serial:///dev/ttyUSB0", "7KQM-3XHP")

The controller reads the device's serial number, sends PAIR_BEGIN with a fresh controller
id and nonce, derives the key from the code, the serial number, both ids and both nonces,
and proves it with PAIR_CONFIRM. The device stores the key only after that proof, and the
controller stores it only after the device's own proof in the answer, so neither side keeps
a key the other did not derive. Afterwards :func:`medctl.connect` finds the key by the
device's serial number and signs every request with it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from firmware_protocol import (
    AuthFailure,
    ErrorCode,
    GetInfo,
    InfoField,
    InfoResult,
    PairBegin,
    PairBeginResult,
    PairConfirm,
    PairConfirmResult,
    ProtocolError,
)
from firmware_protocol.auth import (
    PairingTranscript,
    controller_confirmation,
    derive_key,
    device_confirmation,
    normalize_code,
    same,
)
from firmware_protocol.messages import NONCE_LEN
from medctl.address import parse_address
from medctl.client import REQUEST_RETRIES, REQUEST_TIMEOUT_S, DeviceClient
from medctl.errors import CommandRefused, PairingError
from medctl.keys import KeyStore, PairedKey
from medctl.transport import open_transport


async def pair(
    url: str,
    code: str,
    *,
    keys: KeyStore | None = None,
    request_timeout: float = REQUEST_TIMEOUT_S,
    retries: int = REQUEST_RETRIES,
) -> PairedKey:
    """Pair with the massager at *url* using the *code* printed on it; store and return the key.

    Raises :class:`~medctl.errors.PairingError` (wrong code, a device that cannot pair),
    :class:`~medctl.errors.KeyStoreError` or a transport error; nothing is stored then.
    """
    address = parse_address(url)
    if address.scheme == "sim":
        raise PairingError(
            "the built-in simulator (sim://) is never paired; pair with `medctl simulate` over serial or TCP"
        )
    try:
        normalized = normalize_code(code)
    except ValueError as exc:
        raise PairingError(str(exc)) from None
    client = DeviceClient(
        open_transport(address),
        heartbeat_interval=None,
        request_timeout=request_timeout,
        retries=retries,
        address=address.url,
    )
    await client.open_link()
    try:
        return await pair_client(client, normalized, keys if keys is not None else KeyStore())
    finally:
        await client.close(stop=False)


async def pair_client(client: DeviceClient, code: str, keys: KeyStore) -> PairedKey:
    """Run the pairing exchange on an open link (no HELLO needed) and store the key in *keys*."""
    serial = await _info(client, InfoField.SERIAL)
    model = await _info(client, InfoField.MODEL)
    with keys.device_lock(serial):
        transcript = await _begin(client, serial)
        key = derive_key(code, transcript)
        await _confirm(client, key, transcript)
        record = PairedKey(
            serial=serial,
            controller_id=transcript.controller_id,
            key=key,
            model=model,
            paired_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        keys.put(record)
    return record


async def _info(client: DeviceClient, field: InfoField) -> str:
    ack = await client.request(GetInfo(field))
    try:
        return InfoResult.from_bytes(ack.data).text
    except ProtocolError as exc:
        raise PairingError(f"{client.description} answered GET_INFO with something unreadable: {exc}") from exc


async def _begin(client: DeviceClient, serial: str) -> PairingTranscript:
    controller_id = secrets.randbelow(0xFFFF_FFFF) + 1  # non-zero, a fresh identity per pairing
    nonce = secrets.token_bytes(NONCE_LEN)
    try:
        ack = await client.request(PairBegin(controller_id, nonce))
        device_nonce = PairBeginResult.from_bytes(ack.data).nonce
    except CommandRefused as exc:
        raise PairingError(_begin_refused(exc)) from exc
    except ProtocolError as exc:
        raise PairingError(f"{client.description} answered PAIR_BEGIN with something unreadable: {exc}") from exc
    return PairingTranscript(serial, controller_id, nonce, device_nonce)


async def _confirm(client: DeviceClient, key: bytes, transcript: PairingTranscript) -> None:
    try:
        ack = await client.request(PairConfirm(controller_confirmation(key, transcript)))
        proof = PairConfirmResult.from_bytes(ack.data).confirmation
    except CommandRefused as exc:
        if exc.code is ErrorCode.AUTH_FAILED and exc.detail == AuthFailure.BAD_TAG:
            raise PairingError(
                "the massager refused the pairing code: check the code printed on it and try again"
            ) from exc
        raise PairingError(f"pairing failed: {exc}") from exc
    except ProtocolError as exc:
        raise PairingError(f"{client.description} answered PAIR_CONFIRM with something unreadable: {exc}") from exc
    if not same(proof, device_confirmation(key, transcript)):
        raise PairingError(
            "the massager did not prove that it knows the pairing code: it may not be the massager you meant;"
            " nothing was stored"
        )


def _begin_refused(exc: CommandRefused) -> str:
    if exc.code is ErrorCode.UNKNOWN_TYPE:
        return "this massager cannot pair (its firmware speaks protocol version 1): update its firmware"
    if exc.code is ErrorCode.AUTH_FAILED and exc.detail == AuthFailure.PAIRING_LOCKED:
        return "too many wrong pairing codes: switch the massager off and on, then pair again"
    return f"pairing failed: {exc}"
