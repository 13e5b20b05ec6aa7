"""Guided sessions: the article's usage protocol as rules R1–R11 and an engine that applies them."""

from medctl.session.engine import (
    EndReason,
    FrequencyOverrideRequired,
    Phase,
    Session,
    SessionSummary,
    SessionUpdate,
)
from medctl.session.plan import QUESTIONS, SAFETY_TIPS, SafetyCheck, SafetyDecision, SafetyQuestion, SessionPlan
from medctl.session.rules import RuleViolation

__all__ = [
    "QUESTIONS",
    "SAFETY_TIPS",
    "EndReason",
    "FrequencyOverrideRequired",
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
