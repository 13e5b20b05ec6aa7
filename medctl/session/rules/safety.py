"""Rule R8 (safety check) as a pure function of a person's answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from medctl.session.plan import SafetyCheck

SEE_A_DOCTOR: Final = (
    "Please do not use the massager now: these signs can come from more than a tight muscle. "
    "See a doctor before massaging your neck."
)


@dataclass(frozen=True)
class SafetyDecision:
    """R8's verdict on a safety check: whether a session may start, and the sentence to show either way."""

    allowed: bool
    message: str


def safety_decision(check: SafetyCheck) -> SafetyDecision:
    """R8: red flags → see a doctor; swelling/injury → no session; a condition → provider first."""
    if check.recent_trauma or check.arm_symptoms or check.severe_headache or check.fever:
        return SafetyDecision(False, SEE_A_DOCTOR)
    if check.swelling_bruising_or_injury:
        return SafetyDecision(
            False,
            "Avoid pressure over swelling, bruising or a recent injury: massage there can worsen pain "
            "or inflammation. Let it heal first.",
        )
    if check.underlying_condition and not check.provider_agreed:
        return SafetyDecision(
            False,
            "With an underlying health condition, check with a healthcare provider first; "
            "come back once they have agreed.",
        )
    return SafetyDecision(True, "Safety check passed. Stop at once if anything hurts.")
