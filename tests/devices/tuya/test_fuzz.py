"""Random bytes never crash the Tuya decoders, on either side: they are refused with the module's own
error (one line) or, as partial fragments, kept waiting — and the state after a refusal still works."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from medctl.devices.tuya.link import Credentials, TuyaLink
from medctl.devices.tuya.protocol import (
    Reassembler,
    TuyaProtocolError,
    decode_datapoints,
    decrypt_packet,
    fragment,
    login_key,
)
from simulator.tuya import wire

CREDS = Credentials("tuya290051fdb1de", "Xy7#pQ2!aB9$kL4m", "bf0123456789abcdefghij")
KEYS = {4: login_key(CREDS.local_key), 5: bytes(range(16))}
chunks = st.lists(st.binary(max_size=40), max_size=8)


@settings(max_examples=300, deadline=None)
@given(chunks)
def test_the_controller_side_refuses_random_notifications_with_its_own_error(pieces: list[bytes]) -> None:
    link = TuyaLink(CREDS)
    for piece in pieces:
        try:
            link.receive(piece)
        except TuyaProtocolError as exc:
            assert "\n" not in str(exc)
    whole = fragment(bytes(49))
    reassembler = Reassembler()
    for piece in pieces:
        with contextlib.suppress(TuyaProtocolError):
            reassembler.feed(piece)
    assert [reassembler.feed(p) for p in whole][-1] == bytes(49)  # a fresh packet 0 always starts over


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_packets_and_data_points_refuse_random_bytes(data: bytes) -> None:
    for decode in (lambda: decrypt_packet(data, KEYS), lambda: decode_datapoints(data)):
        try:
            decode()
        except TuyaProtocolError as exc:
            assert "\n" not in str(exc)


@settings(max_examples=300, deadline=None)
@given(chunks)
def test_the_device_side_drops_random_writes_with_its_own_error(pieces: list[bytes]) -> None:
    unpacker = wire.Unpacker()
    for piece in pieces:
        try:
            blob = unpacker.push(piece)
            if blob is not None:
                wire.open_packet(blob, KEYS)
        except wire.WireError:
            pass
    for piece in pieces:
        with contextlib.suppress(wire.WireError):
            wire.dp_records(piece)
