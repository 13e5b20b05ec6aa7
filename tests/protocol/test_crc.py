"""CRC-16/CCITT-FALSE (SPEC.md §4)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from firmware_protocol import crc16


def reference_crc16(data: bytes) -> int:
    """Bit-by-bit CRC-16/CCITT-FALSE, straight from the definition in SPEC.md §4."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def test_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1


def test_empty_input_is_the_initial_value() -> None:
    assert crc16(b"") == 0xFFFF


def test_worked_example_hello() -> None:
    # SPEC.md §3.3: header + payload of the HELLO example.
    assert crc16(bytes.fromhex("01010006 0101 12345678")) == 0x9FA7


def test_reference_agrees_on_the_check_value() -> None:
    assert reference_crc16(b"123456789") == 0x29B1


@given(st.binary(max_size=64))
def test_matches_bitwise_reference(data: bytes) -> None:
    assert crc16(data) == reference_crc16(data)


@given(st.binary(min_size=1, max_size=18), st.integers(0, 7), st.data())
def test_detects_every_single_bit_error(data: bytes, bit: int, draw: st.DataObject) -> None:
    index = draw.draw(st.integers(0, len(data) - 1))
    corrupted = bytearray(data)
    corrupted[index] ^= 1 << bit
    assert crc16(bytes(corrupted)) != crc16(data)
