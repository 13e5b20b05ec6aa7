"""Text from outside (a device, an address someone typed, a file) made safe to show on a terminal.

Control characters (a newline, an escape sequence, a bell) and other unprintable characters
would let that text rewrite or fake what the terminal shows: each becomes a visible escape.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """*text* with every unprintable character written as ``\\xNN``/``\\uNNNN``, on one line."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)
