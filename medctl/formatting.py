"""Text for people, shared by the CLI and the TUI so both say the same thing the same way."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medctl.history import Feedback


def clock_text(seconds: float) -> str:
    """``m:ss``, rounded up to the whole second: a countdown shows 0:00 only when nothing is left,
    and the same seconds read the same on every line of a screen."""
    if not math.isfinite(seconds):
        return "-:--"
    whole = max(0, math.ceil(seconds - 1e-9))
    return f"{whole // 60}:{whole % 60:02d}"


def heat_target_text(level: int, targets_c: Sequence[float] | None) -> str:
    """`` (~42 °C)``: the pad temperature heat *level* aims at, when the device says; else empty."""
    if level <= 0 or targets_c is None or level > len(targets_c):
        return ""
    return f" (~{targets_c[level - 1]:.0f} °C)"


def feedback_text(feedback: Feedback | None) -> str:
    """Feedback in a few words for a table cell: ``relief 7, better, sharp pain``."""
    if feedback is None:
        return "-"
    return f"relief {feedback.relief}, {feedback.soreness}" + (", sharp pain" if feedback.sharp_pain else "")
