"""Rule R9 moved to :mod:`medctl.session.rules.frequency`; this keeps the old import path."""

from medctl.session.rules.frequency import (
    REST_AFTER_BAD_FEEDBACK,
    WEEK,
    WEEKLY_LIMIT,
    BadFeedback,
    FrequencyWarning,
    WarningCode,
    frequency_warnings,
    overdone_advice,
    unreadable_warning,
)

__all__ = [
    "REST_AFTER_BAD_FEEDBACK",
    "WEEK",
    "WEEKLY_LIMIT",
    "BadFeedback",
    "FrequencyWarning",
    "WarningCode",
    "frequency_warnings",
    "overdone_advice",
    "unreadable_warning",
]
