"""The checks, one module per part of SPEC.md, imported (and so registered) in :data:`RUN_ORDER`.

Frames first (nothing else can work if they are wrong), then each message, sequencing,
ownership and timing, pairing, and last the bad-input checks followed by a final look at
whether the device still answers.
"""

from __future__ import annotations

import importlib
from typing import Final

RUN_ORDER: Final = (
    "framing",
    "stream",
    "messages",
    "ranges",
    "sequencing",
    "ownership",
    "timing",
    "auth",
    "robustness",
)


def load() -> None:
    """Import every check module in run order (registering a module's checks happens once, on import)."""
    for name in RUN_ORDER:
        importlib.import_module(f"{__name__}.{name}")
