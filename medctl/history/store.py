"""The history store: one SQLite file, read and written from one thread outside a session.

Each write is its own transaction and commits before the call returns, so a process killed at
any moment leaves everything recorded so far readable. During a session the engine writes
through :meth:`HistoryStore.writer` instead, so the event loop never waits on SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType

from medctl.history import export, ops
from medctl.history.interrupted import as_interrupted, mark_interrupted, orphaned
from medctl.history.paths import default_db_path
from medctl.history.records import (
    SESSION_SELECT,
    EventRecord,
    Feedback,
    HistoryError,
    SessionRecord,
    event_record,
    overrides,
    require_finite,
    require_session,
    session_record,
    utc,
)
from medctl.history.schema import has_column, open_history, transaction
from medctl.history.writer import HistoryWriter
from medctl.session.rules.frequency import FrequencyWarning, frequency_warnings


class HistoryStore:
    """The history database; use ``with HistoryStore(path) as store:`` or ``open()``/``close()``.

    ``path`` defaults to :func:`default_db_path`. ``read_only=True`` opens an existing file
    without ever writing to it (``medctl history``): it neither migrates nor marks interrupted
    sessions (it shows them as interrupted), and every write raises HistoryError.
    """

    def __init__(self, path: Path | str | None = None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = read_only
        self._conn: sqlite3.Connection | None = None
        self._writer: HistoryWriter | None = None
        self._marks_simulated = True

    def __enter__(self) -> HistoryStore:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> HistoryStore:
        """Open (creating and migrating if needed) and mark sessions of dead processes interrupted."""
        if self._conn is None:
            self._conn = open_history(self.path, read_only=self.read_only)
            self._marks_simulated = has_column(self._conn, "sessions", "simulated")
        return self

    def close(self) -> None:
        """Close the file; queued writes of a session are written first (see :meth:`HistoryWriter.close`)."""
        writer, self._writer = self._writer, None
        try:
            if writer is not None:
                writer.close()
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def writer(self) -> HistoryWriter:
        """The writer thread sessions record through (started on first use, closed with the store)."""
        if self.read_only:
            raise HistoryError(f"{self.path} was opened read-only, so this session cannot be recorded")
        if self._writer is not None and self._writer.failure is not None:  # give the next session a fresh try
            self._writer.close()
            self._writer = None
        if self._writer is None or self._writer.closed:
            self._writer = HistoryWriter(self.path).start()
        return self._writer

    # -- writing ---------------------------------------------------------------------------

    def begin_session(
        self,
        *,
        device: str,
        device_model: str,
        planned_s: float,
        heat: bool,
        target_intensity: int | None,
        simulated: bool = False,
        now: datetime | None = None,
    ) -> int:
        """Record that a session starts now; returns its id."""
        require_finite("planned_s", planned_s)
        started_at = utc(now)
        with self._write() as conn:
            return ops.insert_session(
                conn,
                started_at=started_at,
                device=device,
                device_model=device_model,
                planned_s=planned_s,
                heat=heat,
                target_intensity=target_intensity,
                simulated=simulated,
            )

    def record_event(
        self,
        session_id: int,
        kind: str,
        *,
        at_s: float,
        phase: str | None = None,
        intensity: int | None = None,
        heat: int | None = None,
        pad_temp_c: float | None = None,
        detail: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Append one event to a session's timeline; ``at_s`` is seconds of session time."""
        if not kind:
            raise ValueError("an event needs a kind, e.g. 'phase' or 'intensity'")
        require_finite("at_s", at_s)
        wall = utc(now)
        with self._write() as conn:
            ops.insert_event(
                conn, session_id, kind, at_s=at_s, wall=wall, phase=phase, intensity=intensity, heat=heat,
                pad_temp_c=pad_temp_c, detail=detail,
            )  # fmt: skip

    def record_override(
        self, session_id: int, rule: str, reason: str, *, at_s: float = 0.0, now: datetime | None = None
    ) -> None:
        """Record that the user chose to go past a rule's warning, e.g. ``("R9", "same day")``."""
        self.record_event(session_id, "override", at_s=at_s, detail=f"{rule}: {reason}", now=now)

    def end_session(
        self, session_id: int, *, reason: str, massage_s: float, max_intensity: int, now: datetime | None = None
    ) -> None:
        """Record how the session ended; its state becomes ``ended``."""
        require_finite("massage_s", massage_s)
        at = utc(now)
        with self._write() as conn:
            ops.update_end(conn, session_id, reason=reason, massage_s=massage_s, max_intensity=max_intensity, at=at)

    def mark_interrupted(self, session_id: int) -> None:
        """Close a ``running`` session from its own timeline (no-op for one already closed)."""
        with self._write() as conn:
            require_session(conn, session_id)
            mark_interrupted(conn, session_id)

    def add_feedback(self, session_id: int, feedback: Feedback, now: datetime | None = None) -> None:
        """Record (or replace) the feedback given after a session."""
        at = utc(now)
        with self._write() as conn:
            ops.upsert_feedback(conn, session_id, feedback, at=at)

    # -- reading ---------------------------------------------------------------------------

    def sessions(
        self, *, since: datetime | None = None, limit: int | None = None, include_simulated: bool = True
    ) -> list[SessionRecord]:
        """Sessions started at or after ``since``, newest first, at most ``limit`` of them.

        ``include_simulated=False`` leaves out sessions against the built-in simulator.
        """
        start = utc(since).isoformat(timespec="microseconds") if since is not None else ""
        real_only = " AND NOT s.simulated" if not include_simulated and self._marks_simulated else ""
        with self._read() as conn:
            rows = conn.execute(
                f"{SESSION_SELECT} WHERE s.started_at >= ?{real_only} ORDER BY s.started_at DESC, s.id DESC LIMIT ?",
                (start, -1 if limit is None else limit),
            ).fetchall()
            found = overrides(conn, [row["id"] for row in rows])
            return [_as_seen(conn, session_record(row, found.get(row["id"], ()))) for row in rows]

    def session(self, session_id: int) -> SessionRecord:
        with self._read() as conn:
            row = conn.execute(f"{SESSION_SELECT} WHERE s.id = ?", (session_id,)).fetchone()
            if row is None:
                require_session(conn, session_id)  # raises SessionNotFound
            found = overrides(conn, [session_id])
            return _as_seen(conn, session_record(row, found.get(session_id, ())))

    def events(self, session_id: int) -> list[EventRecord]:
        """A session's timeline in the order it was recorded."""
        with self._read() as conn:
            require_session(conn, session_id)
            rows = conn.execute("SELECT * FROM events WHERE session_id = ? ORDER BY id", (session_id,)).fetchall()
        return [event_record(row) for row in rows]

    def frequency_warnings(self, now: datetime | None = None) -> list[FrequencyWarning]:
        """Rule R9: what speaks against starting a session at ``now`` (empty: nothing does)."""
        moment = utc(now)
        with self._read() as conn:
            starts, bad = ops.frequency_inputs(conn, moment)
        return frequency_warnings(starts, bad, moment)

    # -- export ----------------------------------------------------------------------------

    def export_json(self, sessions: Iterable[SessionRecord]) -> str:
        """The sessions with their events and feedback as a JSON list; times in ISO-8601 UTC."""
        return export.export_json(sessions, self.events)

    def export_csv(self, sessions: Iterable[SessionRecord]) -> str:
        """One row per session (header first) with its feedback; for spreadsheets."""
        return export.export_csv(sessions)

    # -- transactions ----------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryError(f"the history store {self.path} is not open; use it in a with block or call open()")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise HistoryError(f"{self.path} was opened read-only, so this session cannot be recorded")
        with transaction(self._connection(), self.path, "BEGIN IMMEDIATE") as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with transaction(self._connection(), self.path, "BEGIN") as conn:
            yield conn


def _as_seen(conn: sqlite3.Connection, record: SessionRecord) -> SessionRecord:
    """A session whose process died shows as interrupted, even to a reader that never writes."""
    return as_interrupted(conn, record) if orphaned(record) else record
