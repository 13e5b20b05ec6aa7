"""The session rules about length, levels and pauses (R1–R7, R10; DESIGN §5).

Rules are pure functions of the session's state and time: they return nothing
when an action is allowed and raise :class:`RuleViolation` with the rule id and
a sentence a person can act on when it is not. The engine calls them; the
TUI, the CLI and scripts all go through the engine, so everyone gets the same
guard rails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from medctl.errors import MedctlError

#: R1: a planned session lasts 5 to 10 minutes of massage time.
MIN_SESSION_S: Final = 5 * 60.0
MAX_SESSION_S: Final = 10 * 60.0
#: R3: no increase during the first minute of massage.
WARM_UP_S: Final = 60.0
#: R4: default minimum spacing between two increases after warm-up.
DEFAULT_INCREASE_SPACING_S: Final = 20.0
#: R5: the last stretch of a session steps intensity down one level at a time.
STEP_DOWN_S: Final = 30.0
#: R5: a session paused longer than this ends by itself.
DEFAULT_PAUSE_LIMIT_S: Final = 120.0
#: R7: the third "too much" (or one at the lightest setting) ends the session.
TOO_MUCH_LIMIT: Final = 3
#: R10: after a gap longer than this, resuming starts a new warm-up.
RESUME_WARM_UP_GAP_S: Final = 60.0

TOO_MUCH_ADVICE: Final = (
    "If massage hurts or isn't bringing relief, it's a sign to lighten up on that spot, "
    "or to avoid massage for now. Give your neck a couple of days to settle down."
)


class RuleViolation(MedctlError):
    """An action the session rules refuse. ``rule`` is the id (``"R3"``)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class RuleState:
    """What the rules need to know about a running session."""

    massage_s: float
    warm_up_end_s: float
    intensity: int
    heat: int
    max_intensity: int
    max_heat: int
    last_increase_s: float | None
    increase_spacing_s: float
    planned_s: float
    stepping_down: bool = False
    heat_blocked: str | None = None


def _seconds(value: float) -> int:
    return max(1, math.ceil(value - 1e-9))


def check_length(planned_s: float) -> None:
    """R1: only plans of 5 to 10 minutes."""
    if not MIN_SESSION_S <= planned_s <= MAX_SESSION_S:
        raise RuleViolation(
            "R1",
            f"a session lasts 5 to 10 minutes; {planned_s / 60:g} minutes is not allowed",
        )


def check_start_level(intensity: int, heat: int) -> None:
    """R2: the motor starts at the lightest setting; heat, if wanted, at level 1."""
    if intensity != 1:
        raise RuleViolation("R2", "start at the lightest setting: intensity 1")
    if heat not in (0, 1):
        raise RuleViolation("R2", "heat starts at level 1")


def check_warm_up(state: RuleState, what: str) -> None:
    """R3: no increase in the first minute of massage (or of a new warm-up after a long gap)."""
    left = state.warm_up_end_s - state.massage_s
    if left > 0:
        raise RuleViolation("R3", f"warm-up: {_seconds(left)} s left before you can increase {what}")


def check_gradual(state: RuleState, current: int, target: int, what: str) -> None:
    """R4: one level at a time, with a minimum spacing between increases."""
    if target > current + 1:
        raise RuleViolation("R4", f"increase {what} one level at a time (next: {current + 1})")
    if state.last_increase_s is not None:
        wait = state.last_increase_s + state.increase_spacing_s - state.massage_s
        if wait > 0:
            raise RuleViolation("R4", f"gradual: wait {_seconds(wait)} s before the next increase")


def check_not_ending(state: RuleState) -> None:
    """R5: no increase once the session is stepping down or its time is up."""
    if state.stepping_down or state.massage_s >= state.planned_s - STEP_DOWN_S:
        raise RuleViolation("R5", "the session is winding down: no more increases")


def check_increase(state: RuleState) -> int:
    """R3 + R4 + R5 and the device's range for an intensity increase; returns the new level."""
    target = state.intensity + 1
    if target > state.max_intensity:
        raise RuleViolation("R4", f"already at the highest intensity ({state.max_intensity})")
    check_warm_up(state, "intensity")
    check_not_ending(state)
    check_gradual(state, state.intensity, target, "intensity")
    return target


def check_decrease(state: RuleState) -> int:
    """Decreases are always allowed, down to the lightest setting."""
    if state.intensity <= 1:
        raise RuleViolation("R7", "already at the lightest setting; stop if it is still too much")
    return state.intensity - 1


def check_heat(state: RuleState, target: int) -> None:
    """R2/R3/R4/R11 for heat: optional, starts at 1; switching it on mid-session is an increase."""
    if not 0 <= target <= state.max_heat:
        raise RuleViolation("R2", f"heat levels are 0 to {state.max_heat}")
    if target <= state.heat:
        return  # lowering or switching off is always allowed
    if state.heat_blocked:
        raise RuleViolation("R11", state.heat_blocked)
    if state.heat == 0 and target != 1:
        raise RuleViolation("R2", "heat starts at level 1")
    check_warm_up(state, "heat")
    check_not_ending(state)
    check_gradual(state, state.heat, target, "heat")


def too_much_ends_session(count: int, intensity_before: int) -> bool:
    """R7: the third "too much", or one at the lightest setting, ends the session."""
    return count >= TOO_MUCH_LIMIT or intensity_before <= 1


def pause_expired(paused_s: float, limit_s: float) -> bool:
    """R5: a session paused too long ends."""
    return paused_s >= limit_s
