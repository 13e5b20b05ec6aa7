"""What a conformance check is, and what it reports.

A :class:`Check` names the SPEC.md section it enforces, so a failure points a firmware
author at the paragraph to read. A check function returns normally to pass (optionally with
a note), raises :class:`Failed` to fail and :class:`Skipped` when it cannot run here (a
serial port has one link, a device without a heater has no heat levels, ...).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medctl.conformance.context import Context


class Outcome(enum.StrEnum):
    PASSED = "pass"
    FAILED = "fail"
    SKIPPED = "skip"


class Failed(Exception):
    """The device broke the rule the check enforces; the message says how."""


class Skipped(Exception):
    """The check cannot run against this device or link; the message says why."""


CheckFunction = Callable[["Context"], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Check:
    """One conformance check: an id, the SPEC section it enforces, and what it verifies."""

    id: str
    section: str
    title: str
    run: CheckFunction
    #: Takes long (seconds to minutes of waiting): only with ``--slow``.
    slow: bool = False
    #: Leaves a lasting mark on the device (a pairing lockout until power-off): only with ``--destructive``.
    destructive: bool = False


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    section: str
    title: str
    outcome: Outcome
    reason: str = ""
    seconds: float = 0.0

    def line(self) -> str:
        """One line for the terminal: outcome, id, section, and why."""
        text = f"{self.outcome.value.upper():4} {self.id:<38} {self.section:<8} {self.title}"
        return f"{text} — {self.reason}" if self.reason else text

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "section": self.section,
            "title": self.title,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
        }
