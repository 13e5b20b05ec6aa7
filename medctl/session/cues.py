"""The moments worth a sound: increases unlock, the step-down begins, the session ends.

Pure: two successive updates in, the moment (or None) out, so the CLI's bell and the TUI's
ring at the same moments and a test can check them without a terminal.
"""

from __future__ import annotations

from enum import StrEnum

from medctl.session.state import Phase, SessionUpdate


class Cue(StrEnum):
    UNLOCKED = "unlocked"
    STEP_DOWN = "step_down"
    END = "end"


def cue_between(previous: SessionUpdate | None, update: SessionUpdate) -> Cue | None:
    """The cue *update* brings after *previous* (the update shown before it), if any."""
    if update.end_reason is not None:
        return None if previous is not None and previous.end_reason is not None else Cue.END
    if previous is None or previous.phase is update.phase:
        return None
    if previous.phase is Phase.WARM_UP and update.phase is Phase.MASSAGE:
        return Cue.UNLOCKED
    if update.phase is Phase.STEP_DOWN:
        return Cue.STEP_DOWN
    return None
