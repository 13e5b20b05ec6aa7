"""What a session is in and what it tells: phases, end reasons, updates and the summary.

Plain values, shared by the engine, the CLI and the TUI; nothing here does anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from medctl.session.plan import SessionPlan
from medctl.session.rules import RuleViolation


class Phase(StrEnum):
    """Where a session is: ready, warm-up (R3), massage, step-down (R5), paused, interrupted (R10) or done."""

    READY = "ready"
    WARM_UP = "warm_up"
    MASSAGE = "massage"
    STEP_DOWN = "step_down"
    PAUSED = "paused"
    INTERRUPTED = "interrupted"
    DONE = "done"


ACTIVE_PHASES: Final = frozenset({Phase.WARM_UP, Phase.MASSAGE, Phase.STEP_DOWN})

PHASE_TEXT: Final = {
    Phase.READY: "ready to start at the lightest setting",
    Phase.WARM_UP: "warm-up at the lightest setting",
    Phase.MASSAGE: "massage",
    Phase.STEP_DOWN: "winding down",
    Phase.PAUSED: "paused — the massager is stopped",
    Phase.INTERRUPTED: "link lost — the massager stopped itself",
    Phase.DONE: "done",
}


class EndReason(StrEnum):
    """Why a session ended, as recorded in the history and mapped to ``medctl session``'s exit code."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    TOO_MUCH = "too_much"
    PAUSE_TIMEOUT = "pause_timeout"
    FAULT = "fault"
    BATTERY_EMPTY = "battery_empty"
    LINK_LOST = "link_lost"
    ERROR = "error"
    #: The device reported something nobody asked for (a hazard); it was stopped.
    DEVICE_MISBEHAVED = "device_misbehaved"


@dataclass(frozen=True)
class SessionUpdate:
    """What a person needs to see, published on every tick and change."""

    phase: Phase
    massage_s: float
    planned_s: float
    intensity: int
    heat: int
    pad_temp_c: float | None
    next_action: str
    notice: str | None = None
    end_reason: EndReason | None = None
    #: The massage pattern last switched to in this session (None: the device's own, or it has none).
    mode: str | None = None

    @property
    def time_left_s(self) -> float:
        return max(0.0, self.planned_s - self.massage_s)

    @property
    def progress(self) -> float:
        return min(1.0, self.massage_s / self.planned_s)

    @property
    def phase_text(self) -> str:
        return PHASE_TEXT[self.phase]


@dataclass(frozen=True)
class SessionSummary:
    """How a session went; ``session_id`` is its history id when a history is kept."""

    session_id: int | None
    plan: SessionPlan
    end_reason: EndReason
    massage_s: float
    max_intensity: int
    too_much_count: int
    overrides: tuple[str, ...]
    notices: tuple[str, ...]
    advice: str | None = None


class FrequencyOverrideRequired(RuleViolation):
    """R9: recent sessions or feedback advise against a session now; ``warnings`` say why."""

    def __init__(self, warnings: list[str]) -> None:
        super().__init__(
            "R9",
            " ".join(warnings) + " To go ahead anyway, give a reason to override (it is recorded).",
        )
        self.warnings = warnings


class SessionStopped(RuleViolation):
    """The session ended (STOP) while a command path was on its way: it goes no further."""

    def __init__(self) -> None:
        super().__init__("R6", "the session was stopped")
