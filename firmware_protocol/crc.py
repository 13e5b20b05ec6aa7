"""CRC-16/CCITT-FALSE, the frame check (SPEC.md §4).

poly 0x1021, init 0xFFFF, no reflection, no final xor; check("123456789") = 0x29B1.
The standard library's ``binascii.crc_hqx`` computes exactly this in C.
"""

from __future__ import annotations

import binascii
from typing import Final

CRC_INIT: Final = 0xFFFF


def crc16(data: bytes) -> int:
    """Return the CRC-16/CCITT-FALSE of *data*."""
    return binascii.crc_hqx(data, CRC_INIT)
