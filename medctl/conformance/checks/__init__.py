"""The checks, one module per part of SPEC.md, imported (and so registered) in :data:`RUN_ORDER`.

Frames first (nothing else can work if they are wrong), then each message, sequencing,
ownership and timing, the bad-input checks followed by a look at whether the device still
answers, the time limits (which leave the device refusing START for a while), and last
pairing, after which a device that was never paired is paired.
"""

from __future__ import annotations

import importlib
from typing import Final

RUN_ORDER: Final = (
    "framing",
    "stream",
    "messages",
    "ranges",
    "modes",
    "sequencing",
    "ownership",
    "timing",
    "robustness",
    "limits",
    "auth",
)


def load() -> None:
    """Import every check module in run order (registering a module's checks happens once, on import)."""
    for name in RUN_ORDER:
        importlib.import_module(f"{__name__}.{name}")
