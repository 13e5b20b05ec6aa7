"""Rule R9 (frequency) as a pure function of what the history holds.

A few sessions a week: a second session on the same local calendar day, more than
:data:`WEEKLY_LIMIT` in seven days, or a session within 48 hours of feedback that reported
worse soreness, sharp pain or inflammation each warn, and starting anyway needs a recorded
override. A history that cannot be read warns too, since nothing then says a session is safe.
Times dated after ``now`` (the clock was set back) count as if they were now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

WarningCode = Literal["same_day", "weekly_limit", "recent_worse", "unreadable"]

WEEKLY_LIMIT: Final = 5  # R9: more than this many sessions in WEEK warns
WEEK: Final = timedelta(days=7)
REST_AFTER_BAD_FEEDBACK: Final = timedelta(hours=48)  # R9: the article's "couple of days"


@dataclass(frozen=True)
class FrequencyWarning:
    """Why starting a session now goes against R9; starting anyway needs a recorded override."""

    code: WarningCode
    message: str


@dataclass(frozen=True)
class BadFeedback:
    """Feedback that reported overdoing it: when it was given, and the signs in words."""

    at: datetime
    signs: tuple[str, ...]


def frequency_warnings(
    starts: Sequence[datetime], bad_feedback: Sequence[BadFeedback], now: datetime
) -> list[FrequencyWarning]:
    """R9 at *now*, from the start times of real (not simulated) sessions and feedback of overdoing it.

    Callers may pass more than the window: only starts in the seven days before *now* (or later)
    and feedback in the 48 hours before *now* (or later) are counted.
    """
    recent = [min(start, now) for start in starts if start > now - WEEK]
    bad = [report for report in bad_feedback if report.at > now - REST_AFTER_BAD_FEEDBACK and report.signs]
    found = (_same_day(recent, now), _weekly(recent), _recent_worse(bad))
    return [warning for warning in found if warning is not None]


def unreadable_warning(problem: str) -> FrequencyWarning:
    """The history could not be read: whether the neck has rested enough is unknown."""
    return FrequencyWarning(
        "unreadable",
        f"The session history could not be read ({problem.rstrip('.')}), so medctl cannot tell whether your"
        " neck has rested enough; a few sessions a week is enough.",
    )


def _same_day(starts: list[datetime], now: datetime) -> FrequencyWarning | None:
    """A session already started on today's local calendar day."""
    today = now.astimezone().date()
    earlier = sorted(start.astimezone() for start in starts if start.astimezone().date() == today)
    if not earlier:
        return None
    done = "a session" if len(earlier) == 1 else f"{len(earlier)} sessions"
    return FrequencyWarning(
        "same_day",
        f"You already started {done} today (last at {earlier[-1]:%H:%M}); a few sessions a week is enough,"
        " so let your neck rest until tomorrow.",
    )


def _weekly(starts: list[datetime]) -> FrequencyWarning | None:
    """WEEKLY_LIMIT sessions in the last seven days already: one more would exceed it."""
    if len(starts) < WEEKLY_LIMIT:
        return None
    first = min(starts) + WEEK
    return FrequencyWarning(
        "weekly_limit",
        f"You have had {len(starts)} sessions in the last 7 days and more than {WEEKLY_LIMIT} a week is too many;"
        f" take a rest day (the oldest of them drops out of the week on {first.astimezone():%a %d %b at %H:%M}).",
    )


def _recent_worse(bad: list[BadFeedback]) -> FrequencyWarning | None:
    if not bad:
        return None
    latest = max(bad, key=lambda report: report.at)
    until = (latest.at + REST_AFTER_BAD_FEEDBACK).astimezone()
    return FrequencyWarning(
        "recent_worse",
        f"Your feedback on {latest.at.astimezone():%a %d %b at %H:%M} reported {' and '.join(latest.signs)};"
        f" rest your neck until {until:%a %d %b at %H:%M}, and if it persists, see a healthcare provider.",
    )


def overdone_advice(signs: Sequence[str], *, demo: bool = False) -> str | None:
    """The article's advice, shown at once when feedback reports signs of overdoing it (None: no signs).

    A *demo* session (on the simulator) is left out of R9, so its advice does not promise a rest rule.
    """
    if not signs:
        return None
    rest = (
        " (This was a demo on the simulator: it does not count towards the rest rule.)"
        if demo
        else " A session in the next 48 hours needs a reason you type."
    )
    return (
        f"You reported {' and '.join(signs)}, a sign of overdoing it. If massage hurts or isn't bringing relief,"
        " lighten up on that spot or avoid massage for now: give your neck a couple of days to settle down, and"
        " if it persists, see a healthcare provider." + rest
    )
