"""What a person asks for (SessionPlan) and what they told us about their neck (SafetyCheck).

Both are validated when made: a plan outside 5–10 minutes is refused (R1), and
a safety check is an explicit object with every question answered (R8); there
is no default that lets a session start silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Final

from medctl.session.rules import (
    DEFAULT_INCREASE_SPACING_S,
    DEFAULT_PAUSE_LIMIT_S,
    RuleViolation,
    check_length,
)
from medctl.session.rules.safety import SafetyDecision, safety_decision

#: R5: how long a pause may last before the session ends, in seconds (lowest, highest).
PAUSE_LIMIT_RANGE_S: Final = (1.0, 600.0)
#: R4: the spacing between two increases, in seconds (lowest, highest).
INCREASE_SPACING_RANGE_S: Final = (1.0, 300.0)
#: The protocol carries a level in one byte.
MAX_TARGET_INTENSITY: Final = 255


def _number(name: str, value: object, bounds: tuple[float, float] | None = None) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{name} must be from {bounds[0]:g} to {bounds[1]:g}, not {value:g}")


@dataclass(frozen=True)
class SessionPlan:
    """A guided session: 5 to 10 minutes, optional heat, an optional intensity to climb to."""

    minutes: float = 5.0
    heat: bool = False
    target_intensity: int | None = None
    pause_limit_s: float = DEFAULT_PAUSE_LIMIT_S
    increase_spacing_s: float = DEFAULT_INCREASE_SPACING_S

    def __post_init__(self) -> None:
        """Every number finite and in range, or refused in one line (NaN compares false with all)."""
        if not isinstance(self.minutes, int | float) or isinstance(self.minutes, bool):
            raise ValueError(f"minutes must be a number, not {self.minutes!r}")
        check_length(self.minutes * 60)  # R1; NaN and infinity fail it too
        if not isinstance(self.heat, bool):
            raise ValueError(f"heat must be true or false, not {self.heat!r}")
        if self.target_intensity is not None:
            if not isinstance(self.target_intensity, int) or isinstance(self.target_intensity, bool):
                raise ValueError(f"target_intensity must be a whole number, not {self.target_intensity!r}")
            if not 1 <= self.target_intensity <= MAX_TARGET_INTENSITY:
                raise RuleViolation("R2", f"a target intensity is a level of 1 to {MAX_TARGET_INTENSITY}")
        _number("pause_limit_s", self.pause_limit_s, PAUSE_LIMIT_RANGE_S)
        _number("increase_spacing_s", self.increase_spacing_s, INCREASE_SPACING_RANGE_S)

    @property
    def duration_s(self) -> float:
        return self.minutes * 60


@dataclass(frozen=True)
class SafetyQuestion:
    """One question of the safety check (R8): the :class:`SafetyCheck` field it answers and its text."""

    field: str
    text: str
    #: True: a "yes" ends in advice to see a doctor, not in a session.
    red_flag: bool = False
    #: Asked only when the answer to this other question was "yes"; otherwise the answer is "no".
    only_if: str | None = None

    def applies(self, answers: dict[str, Any]) -> bool:
        """Is this question asked, given the answers so far?"""
        return self.only_if is None or answers.get(self.only_if) is True


#: The article's safety tips and the red flags of DESIGN R8, in the order they are asked.
QUESTIONS: Final = (
    SafetyQuestion(
        "swelling_bruising_or_injury", "Is there swelling, bruising or a recent injury where the massager sits?"
    ),
    SafetyQuestion(
        "underlying_condition", "Do you have an underlying health condition (neck, spine, heart, skin, pregnancy…)?"
    ),
    SafetyQuestion(
        "provider_agreed",
        "If so: has a healthcare provider agreed that you can use a neck massager?",
        only_if="underlying_condition",
    ),
    SafetyQuestion(
        "recent_trauma", "Have you had recent trauma to the neck, such as a fall or whiplash?", red_flag=True
    ),
    SafetyQuestion("arm_symptoms", "Do you have numbness, tingling or weakness in an arm or hand?", red_flag=True),
    SafetyQuestion("severe_headache", "Have you had a sudden, severe headache?", red_flag=True),
    SafetyQuestion("fever", "Do you have a fever?", red_flag=True),
)

@dataclass(frozen=True)
class SafetyCheck:
    """Answers to the safety questions. Every field is required: no silent defaults."""

    swelling_bruising_or_injury: bool
    underlying_condition: bool
    provider_agreed: bool
    recent_trauma: bool
    arm_symptoms: bool
    severe_headache: bool
    fever: bool

    def __post_init__(self) -> None:
        for f in fields(self):
            if not isinstance(getattr(self, f.name), bool):
                raise TypeError(f"safety answer {f.name!r} must be true or false")

    @classmethod
    def from_answers(cls, answers: dict[str, Any]) -> SafetyCheck:
        """From a mapping such as a ``--safety-file`` JSON document; every answer is required."""
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in answers]
        unknown = sorted(set(answers) - set(names))
        if missing:
            raise ValueError(f"safety answers missing: {', '.join(missing)}")
        if unknown:
            raise ValueError(f"unknown safety answers: {', '.join(unknown)}")
        bad = [n for n in names if not isinstance(answers[n], bool)]
        if bad:
            raise ValueError(f"safety answers must be true or false: {', '.join(bad)}")
        return cls(**{n: answers[n] for n in names})

    def decision(self) -> SafetyDecision:
        """R8 (see :func:`medctl.session.rules.safety.safety_decision`)."""
        return safety_decision(self)

    def require(self) -> None:
        """Raise RuleViolation R8 unless the answers allow a session."""
        decision = self.decision()
        if not decision.allowed:
            raise RuleViolation("R8", decision.message)


SAFETY_TIPS: Final = (
    "Avoid pressure over swelling, bruising or recent injuries.",
    "Check with a healthcare provider first if you have an underlying health condition.",
    "Keep deep pressure away from the front of the neck (throat and arteries).",
    "Start light and increase gradually.",
    "If it hurts or isn't bringing relief, lighten up or stop for now.",
)
