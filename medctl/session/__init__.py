"""Guided sessions: the article's usage protocol as rules R1–R11 and an engine that applies them."""

from medctl.session.choice import DEFAULT_HISTORY, NO_HISTORY, HistoryChoice
from medctl.session.engine import (
    EndReason,
    FrequencyOverrideRequired,
    Phase,
    Session,
    SessionSummary,
    SessionUpdate,
)
from medctl.session.plan import QUESTIONS, SAFETY_TIPS, SafetyCheck, SafetyQuestion, SessionPlan
from medctl.session.rules import RuleViolation
from medctl.session.rules.safety import SafetyDecision

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
