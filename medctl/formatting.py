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


#: How a session ended, as a sentence (keys: ``EndReason`` values, as the history stores them).
ENDED: dict[str, str] = {
    "completed": "Session complete — well done",
    "stopped": "You stopped the session",
    "too_much": "You said it was too much — the session ended",
    "pause_timeout": "Paused too long — the session ended",
    "fault": "The massager reported a fault — the session ended",
    "battery_empty": "The battery is empty — the session ended",
    "link_lost": "The link to the massager was lost — the session ended",
    "error": "An error ended the session",
    "device_misbehaved": "The massager did something nobody asked for — have it checked",
}
#: The same in a few words, for a table cell.
ENDED_SHORT: dict[str, str] = {
    "completed": "completed",
    "stopped": "stopped by you",
    "too_much": "too much",
    "pause_timeout": "paused too long",
    "fault": "massager fault",
    "battery_empty": "battery empty",
    "link_lost": "link lost",
    "error": "error",
    "device_misbehaved": "massager misbehaved",
    "running": "not finished",
    "interrupted": "interrupted",
}


def ended_text(reason: str, massage_s: float | None = None) -> str:
    """``You said it was too much — the session ended after 1:55 of massage.``"""
    sentence = ENDED.get(reason, f"The session ended ({reason.replace('_', ' ')})")
    if massage_s is None:
        return sentence + "."
    joint = " after" if sentence.endswith("ended") else ", after"
    return f"{sentence}{joint} {clock_text(massage_s)} of massage."


def ended_short(reason: str) -> str:
    """How a session ended in a few words (a history row)."""
    return ENDED_SHORT.get(reason, reason.replace("_", " "))


def not_now(reason: object) -> str:
    """A refused action, in the same words on the CLI and the TUI (the rule id stays in the logs)."""
    return f"Not now: {reason}"


def not_taken(reason: object) -> str:
    """An action the massager did not take (the link, a NACK)."""
    return f"The massager did not take it: {reason}"
