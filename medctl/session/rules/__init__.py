"""The session rules R1–R11 (DESIGN §5), each a named, separately tested pure function.

Rules are pure functions of the session's state and time (or of a person's answers, or of
what the history holds): they return nothing when an action is allowed and raise
:class:`RuleViolation` with the rule id and a sentence a person can act on when it is not.
The engine calls them; the TUI, the CLI and scripts all go through the engine, so everyone
gets the same guard rails. :mod:`.levels`: R1–R7 and R10; :mod:`.safety`: R8;
:mod:`.frequency`: R9. R11 (faults) is the engine's response to the device's own reports.
"""

from medctl.session.rules.frequency import frequency_warnings
from medctl.session.rules.levels import (
    DEFAULT_INCREASE_SPACING_S,
    DEFAULT_PAUSE_LIMIT_S,
    MAX_SESSION_S,
    MIN_SESSION_S,
    RESUME_WARM_UP_GAP_S,
    STEP_DOWN_S,
    TOO_MUCH_ADVICE,
    TOO_MUCH_LIMIT,
    WARM_UP_S,
    RuleState,
    RuleViolation,
    check_decrease,
    check_gradual,
    check_heat,
    check_increase,
    check_length,
    check_not_ending,
    check_start_level,
    check_warm_up,
    pause_expired,
    too_much_ends_session,
)
from medctl.session.rules.safety import safety_decision

__all__ = [
    "DEFAULT_INCREASE_SPACING_S",
    "DEFAULT_PAUSE_LIMIT_S",
    "MAX_SESSION_S",
    "MIN_SESSION_S",
    "RESUME_WARM_UP_GAP_S",
    "STEP_DOWN_S",
    "TOO_MUCH_ADVICE",
    "TOO_MUCH_LIMIT",
    "WARM_UP_S",
    "RuleState",
    "RuleViolation",
    "check_decrease",
    "check_gradual",
    "check_heat",
    "check_increase",
    "check_length",
    "check_not_ending",
    "check_start_level",
    "check_warm_up",
    "frequency_warnings",
    "pause_expired",
    "safety_decision",
    "too_much_ends_session",
]
