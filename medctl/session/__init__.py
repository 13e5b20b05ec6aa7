"""Guided sessions: the article's usage protocol as rules R1–R11 and an engine that applies them.

The engine (:class:`Session`) is imported on first use: the rules, the plan and the session's
types are all a safety screen or a history needs, and the TUI's first screen should not wait
for the control loop's modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medctl.session.choice import DEFAULT_HISTORY, NO_HISTORY, HistoryChoice
from medctl.session.plan import QUESTIONS, SAFETY_TIPS, SafetyCheck, SafetyQuestion, SessionPlan
from medctl.session.rules import RuleViolation
from medctl.session.rules.safety import SafetyDecision
from medctl.session.state import EndReason, FrequencyOverrideRequired, Phase, SessionSummary, SessionUpdate

if TYPE_CHECKING:
    from medctl.session.engine import Session


def __getattr__(name: str) -> Any:
    if name == "Session":
        from medctl.session.engine import Session

        return Session
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_HISTORY",
    "NO_HISTORY",
    "QUESTIONS",
    "SAFETY_TIPS",
    "EndReason",
    "FrequencyOverrideRequired",
    "HistoryChoice",
    "Phase",
    "RuleViolation",
    "SafetyCheck",
    "SafetyDecision",
    "SafetyQuestion",
    "Session",
    "SessionPlan",
    "SessionSummary",
    "SessionUpdate",
]
