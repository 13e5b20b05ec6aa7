"""The session history: every session, its timeline, overrides and feedback, kept in SQLite.

One file in the user's data directory (``MEDCTL_DB`` overrides it) holds three tables:
``sessions`` (the plan, the device, how it ended, whether it ran on the simulator), ``events``
(the timeline in session time) and ``feedback`` (how the neck felt afterwards). Every write is
its own transaction, so a process killed at any moment leaves everything recorded so far
readable; a session whose process is gone shows as ``interrupted`` (and is marked so on the
next read-write open).

- :class:`HistoryStore` reads and writes from the caller's thread (CLI, TUI, scripts).
- :class:`HistoryWriter` (``store.writer()``) is what a running session writes through: a
  thread with its own connection, so the event loop never waits on SQLite.
- Rule R9 (frequency) itself is :func:`medctl.session.rules.frequency.frequency_warnings`;
  :meth:`HistoryStore.frequency_warnings` feeds it from the file.

Wall-clock times are timezone-aware UTC; every method that stamps one takes ``now``.
"""

from medctl.history.export import CSV_COLUMNS
from medctl.history.paths import default_db_path
from medctl.history.records import (
    EventRecord,
    Feedback,
    HistoryError,
    SessionNotFound,
    SessionRecord,
    SessionState,
    Soreness,
)
from medctl.history.schema import APPLICATION_ID, BUSY_TIMEOUT_MS, MIGRATIONS
from medctl.history.store import HistoryStore
from medctl.history.writer import HistoryWriter
from medctl.session.rules.frequency import (
    REST_AFTER_BAD_FEEDBACK,
    WEEK,
    WEEKLY_LIMIT,
    FrequencyWarning,
    WarningCode,
)

__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_MS",
    "CSV_COLUMNS",
    "MIGRATIONS",
    "REST_AFTER_BAD_FEEDBACK",
    "WEEK",
    "WEEKLY_LIMIT",
    "EventRecord",
    "Feedback",
    "FrequencyWarning",
    "HistoryError",
    "HistoryStore",
    "HistoryWriter",
    "SessionNotFound",
    "SessionRecord",
    "SessionState",
    "Soreness",
    "WarningCode",
    "default_db_path",
]
