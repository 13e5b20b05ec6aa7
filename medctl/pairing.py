"""Pairing (SPEC.md §12.4): bind this controller to a massager with the code printed on it.

    record = await medctl.pair("serial:///dev/ttyUSB0", "7KQM-3XHP")

Press the massager's pairing button first: it takes pairing only for a minute after. The
controller reads the device's serial number and runs SPAKE2 with it, the code as the
password (PAKE_BEGIN, then each side's message in three PAKE_PART frames), so a recording
of the exchange gives nothing to test guesses of the code against. Both derive the pairing
key; PAIR_CONFIRM carries each side's proof. The device stores the key only after the
controller's proof, and the controller stores it only after the device's, so neither side
keeps a key the other did not derive. Afterwards :func:`medctl.connect` finds the key by
the device's serial number and, at every connection, derives that connection's keys.
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
    PairConfirm,
    PairConfirmResult,
    PakeBegin,
    PakePart,
    ProtocolError,
)
from firmware_protocol.auth import normalize_code, same
from firmware_protocol.pake import PairingProof, PakeFailed, PakeSide, part_len, parts
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
        controller_id = secrets.randbelow(0xFFFF_FFFF) + 1  # non-zero, a fresh identity per pairing
        side = PakeSide(False, code, serial, controller_id)
        await _begin(client, controller_id)
        proof = await _exchange(client, side)
        await _confirm(client, proof)
        record = PairedKey(
            serial=serial,
            controller_id=controller_id,
            key=proof.key,
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


async def _begin(client: DeviceClient, controller_id: int) -> None:
    try:
        await client.request(PakeBegin(controller_id))
    except CommandRefused as exc:
        raise PairingError(_begin_refused(exc)) from exc


async def _exchange(client: DeviceClient, side: PakeSide) -> PairingProof:
    """Send this side's SPAKE2 message in parts; each ACK carries the same part of the device's."""
    received = []
    for index, chunk in enumerate(parts(side.message)):
        try:
            ack = await client.request(PakePart(index, chunk))
        except CommandRefused as exc:
            raise PairingError(f"pairing failed: {exc}") from exc
        if len(ack.data) != part_len(index):
            raise PairingError(f"{client.description} answered PAKE_PART {index} with {len(ack.data)} bytes")
        received.append(ack.data)
    try:
        return side.finish(b"".join(received))
    except PakeFailed as exc:
        raise PairingError(f"{client.description} sent a pairing message that is not valid: {exc}") from exc


async def _confirm(client: DeviceClient, proof: PairingProof) -> None:
    try:
        ack = await client.request(PairConfirm(proof.controller))
        device = PairConfirmResult.from_bytes(ack.data).confirmation
    except CommandRefused as exc:
        if exc.code is ErrorCode.AUTH_FAILED and exc.detail == AuthFailure.BAD_TAG:
            raise PairingError(
                "the massager refused the pairing code: check the code printed on it and try again"
            ) from exc
        raise PairingError(f"pairing failed: {exc}") from exc
    except ProtocolError as exc:
        raise PairingError(f"{client.description} answered PAIR_CONFIRM with something unreadable: {exc}") from exc
    if not same(device, proof.device):
        raise PairingError(
            "the massager did not prove that it knows the pairing code: it may not be the massager you meant;"
            " nothing was stored"
        )


def _begin_refused(exc: CommandRefused) -> str:
    if exc.code is ErrorCode.UNKNOWN_TYPE:
        return (
            "this massager cannot pair by SPAKE2 (its firmware speaks protocol version 1 or 2): update its firmware;"
            " medctl no longer pairs by version 2, whose recorded pairing lets the code be guessed offline"
        )
    if exc.code is ErrorCode.AUTH_FAILED and exc.detail == AuthFailure.PAIRING_LOCKED:
        return "too many failed pairings: switch the massager off and on, then pair again"
    if exc.code is ErrorCode.AUTH_FAILED and exc.detail == AuthFailure.PAIRING_CLOSED:
        return "the massager is not taking pairings: press its pairing button, then pair within a minute"
    if exc.code is ErrorCode.AUTH_FAILED and exc.detail == AuthFailure.PAIRING_TOO_SOON:
        return "the massager takes one pairing attempt a second: try again"
    return f"pairing failed: {exc}"
