"""Text a device (or anyone in radio range) chose, made safe to show and to export.

A massager's model, firmware and serial number, and a BLE advertiser's name, are written
by whoever built the device, or by a neighbour's fake one. Printed raw, control characters
in them would drive the terminal (move the cursor, rewrite the screen, set the window
title); written raw into a CSV, a leading ``=`` becomes a spreadsheet formula.
"""

from __future__ import annotations

import unicodedata
from typing import Final

#: What stands in for a character that must not reach a terminal.
REPLACEMENT: Final = "\N{REPLACEMENT CHARACTER}"
#: A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str) -> str:
    """*text* with every control, format (bidirectional overrides included) or unassigned character replaced."""
    return "".join(char if _shown(char) else REPLACEMENT for char in text)


def csv_cell(text: str) -> str:
    """:func:`printable`, and a leading formula character neutralised with a quote."""
    safe = printable(text)
    return "'" + safe if safe.startswith(_FORMULA_STARTS) else safe


def _shown(char: str) -> bool:
    return char == " " or unicodedata.category(char)[0] not in ("C", "Z") or unicodedata.category(char) == "Zs"
