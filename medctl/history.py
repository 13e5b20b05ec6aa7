"""The session history: every session, its timeline, overrides and feedback, kept in SQLite.

One file in the user's data directory (``MEDCTL_DB`` overrides it) holds three tables:
``sessions`` (the plan, the device, how it ended), ``events`` (the timeline in session time) and
``feedback`` (how the neck felt afterwards). Each write is its own transaction and commits
before the call returns, so a process killed at any moment leaves everything recorded so far
readable; on the next open, a session whose process is gone is marked ``interrupted``.

The history also answers rule R9 (frequency): :meth:`HistoryStore.frequency_warnings` says
whether starting a session now would be a second one today, more than five in seven days, or
too soon after feedback of worse soreness, sharp pain or inflammation.

Calls are short and synchronous; wall-clock times are timezone-aware UTC and every method
that stamps one takes ``now`` so callers and tests control the clock.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from math import isfinite
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, cast, get_args

import platformdirs

from medctl.errors import MedctlError

Soreness = Literal["better", "same", "worse"]
SessionState = Literal["running", "ended", "interrupted"]
WarningCode = Literal["same_day", "weekly_limit", "recent_worse"]

APPLICATION_ID: Final = 0x6D656463  # "medc" in the SQLite header: tells our files from others
SQLITE_MAGIC: Final = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS: Final = 5000  # another medctl writing: wait this long before giving up

WEEKLY_LIMIT: Final = 5  # R9: more than this many sessions in WEEK warns
WEEK: Final = timedelta(days=7)
REST_AFTER_BAD_FEEDBACK: Final = timedelta(hours=48)  # R9: the article's "couple of days"

# Schema migrations: MIGRATIONS[n] brings user_version n to n + 1, in its own transaction.
# Append new scripts; never edit one that has shipped.
MIGRATIONS: tuple[str, ...] = (
    f"""
    PRAGMA application_id = {APPLICATION_ID};
    CREATE TABLE sessions (
        id               INTEGER PRIMARY KEY,
        started_at       TEXT    NOT NULL,
        ended_at         TEXT,
        device           TEXT    NOT NULL,
        device_model     TEXT    NOT NULL,
        planned_s        REAL    NOT NULL,
        heat             INTEGER NOT NULL CHECK (heat IN (0, 1)),
        target_intensity INTEGER,
        state            TEXT    NOT NULL DEFAULT 'running'
                                 CHECK (state IN ('running', 'ended', 'interrupted')),
        end_reason       TEXT,
        massage_s        REAL    NOT NULL DEFAULT 0,
        max_intensity    INTEGER NOT NULL DEFAULT 0,
        pid              INTEGER NOT NULL,
        host             TEXT    NOT NULL
    );
    CREATE INDEX sessions_started_at ON sessions (started_at);
    CREATE TABLE events (
        id         INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        at_s       REAL    NOT NULL,
        wall       TEXT    NOT NULL,
        kind       TEXT    NOT NULL,
        phase      TEXT,
        intensity  INTEGER,
        heat       INTEGER,
        pad_temp_c REAL,
        detail     TEXT
    );
    CREATE INDEX events_session_id ON events (session_id);
    CREATE TABLE feedback (
        session_id   INTEGER PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
        relief       INTEGER NOT NULL CHECK (relief BETWEEN 0 AND 10),
        soreness     TEXT    NOT NULL CHECK (soreness IN ('better', 'same', 'worse')),
        sharp_pain   INTEGER NOT NULL CHECK (sharp_pain IN (0, 1)),
        inflammation INTEGER NOT NULL CHECK (inflammation IN (0, 1)),
        note         TEXT    NOT NULL DEFAULT '',
        at           TEXT    NOT NULL
    );
    """,
)


class HistoryError(MedctlError):
    """The history file cannot be opened, read or written; the message says what to do."""


class SessionNotFound(HistoryError, KeyError):
    """No session has this id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Feedback:
    """How the neck felt after a session; checked on creation (ValueError)."""

    relief: int
    soreness: Soreness
    sharp_pain: bool
    inflammation: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.relief, bool) or not isinstance(self.relief, int) or not 0 <= self.relief <= 10:
            raise ValueError(f"relief must be a whole number from 0 to 10, not {self.relief!r}")
        if self.soreness not in get_args(Soreness):
            raise ValueError(f"soreness must be 'better', 'same' or 'worse', not {self.soreness!r}")
        for name in ("sharp_pain", "inflammation"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, not {getattr(self, name)!r}")
        if not isinstance(self.note, str):
            raise ValueError(f"note must be text, not {self.note!r}")


@dataclass(frozen=True)
class EventRecord:
    id: int
    session_id: int
    at_s: float
    wall: datetime
    kind: str
    phase: str | None
    intensity: int | None
    heat: int | None
    pad_temp_c: float | None
    detail: str | None


@dataclass(frozen=True)
class SessionRecord:
    id: int
    started_at: datetime
    ended_at: datetime | None
    device: str
    device_model: str
    planned_s: float
    heat: bool
    target_intensity: int | None
    state: SessionState
    end_reason: str | None
    massage_s: float
    max_intensity: int
    pid: int
    host: str
    feedback: Feedback | None
    feedback_at: datetime | None
    overrides: tuple[str, ...]


@dataclass(frozen=True)
class FrequencyWarning:
    """Why starting a session now goes against R9; starting anyway needs a recorded override."""

    code: WarningCode
    message: str


def default_db_path() -> Path:
    """``$MEDCTL_DB`` if set, else ``history.sqlite3`` in the user's data directory."""
    override = os.environ.get("MEDCTL_DB")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path("medctl") / "history.sqlite3"


class HistoryStore:
    """The history database; use ``with HistoryStore(path) as store:`` or ``open()``/``close()``.

    ``read_only=True`` opens an existing file without ever writing to it (``medctl history``);
    it neither migrates nor marks interrupted sessions, and every write raises HistoryError.
    """

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._conn: sqlite3.Connection | None = None

    def __enter__(self) -> HistoryStore:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> HistoryStore:
        """Open (creating and migrating if needed) and mark sessions of dead processes interrupted."""
        if self._conn is None:
            self._conn = _open(self.path, read_only=self.read_only)
        return self

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- writing ---------------------------------------------------------------------------

    def begin_session(
        self,
        *,
        device: str,
        device_model: str,
        planned_s: float,
        heat: bool,
        target_intensity: int | None,
        now: datetime | None = None,
    ) -> int:
        """Record that a session starts now; returns its id."""
        _require_finite("planned_s", planned_s)
        row = (_iso(_utc(now)), device, device_model, planned_s, bool(heat), target_intensity)
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO sessions (started_at, device, device_model, planned_s, heat, target_intensity,"
                " state, pid, host) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (*row, os.getpid(), socket.gethostname()),
            )
            return cast(int, cursor.lastrowid)

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
        _require_finite("at_s", at_s)
        row = (session_id, at_s, _iso(_utc(now)), kind, phase, intensity, heat, pad_temp_c, detail)
        with self._write() as conn:
            _require_session(conn, session_id)
            conn.execute(
                "INSERT INTO events (session_id, at_s, wall, kind, phase, intensity, heat, pad_temp_c, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

    def record_override(
        self, session_id: int, rule: str, reason: str, *, at_s: float = 0.0, now: datetime | None = None
    ) -> None:
        """Record that the user chose to go past a rule's warning, e.g. ``("R9", "same day")``."""
        self.record_event(session_id, "override", at_s=at_s, detail=f"{rule}: {reason}", now=now)

    def end_session(
        self, session_id: int, *, reason: str, massage_s: float, max_intensity: int, now: datetime | None = None
    ) -> None:
        """Record how the session ended; its state becomes ``ended``."""
        _require_finite("massage_s", massage_s)
        values = (_iso(_utc(now)), reason, massage_s, max_intensity, session_id)
        with self._write() as conn:
            _require_session(conn, session_id)
            conn.execute(
                "UPDATE sessions SET state = 'ended', ended_at = ?, end_reason = ?, massage_s = ?,"
                " max_intensity = ? WHERE id = ?",
                values,
            )

    def mark_interrupted(self, session_id: int) -> None:
        """Close a ``running`` session from its own timeline (no-op for one already closed)."""
        with self._write() as conn:
            _require_session(conn, session_id)
            _mark_interrupted(conn, session_id)

    def add_feedback(self, session_id: int, feedback: Feedback, now: datetime | None = None) -> None:
        """Record (or replace) the feedback given after a session."""
        values = asdict(feedback)
        with self._write() as conn:
            _require_session(conn, session_id)
            conn.execute(
                "INSERT INTO feedback (session_id, relief, soreness, sharp_pain, inflammation, note, at)"
                " VALUES (:session_id, :relief, :soreness, :sharp_pain, :inflammation, :note, :at)"
                " ON CONFLICT (session_id) DO UPDATE SET relief = excluded.relief, soreness = excluded.soreness,"
                " sharp_pain = excluded.sharp_pain, inflammation = excluded.inflammation,"
                " note = excluded.note, at = excluded.at",
                {**values, "session_id": session_id, "at": _iso(_utc(now))},
            )

    # -- reading ---------------------------------------------------------------------------

    def sessions(self, *, since: datetime | None = None, limit: int | None = None) -> list[SessionRecord]:
        """Sessions started at or after ``since``, newest first, at most ``limit`` of them."""
        start = _iso(_utc(since)) if since is not None else ""
        with self._read() as conn:
            rows = conn.execute(
                f"{_SESSION_SELECT} WHERE s.started_at >= ? ORDER BY s.started_at DESC, s.id DESC LIMIT ?",
                (start, -1 if limit is None else limit),
            ).fetchall()
            overrides = _overrides(conn, [row["id"] for row in rows])
        return [_session_record(row, overrides.get(row["id"], ())) for row in rows]

    def session(self, session_id: int) -> SessionRecord:
        with self._read() as conn:
            row = conn.execute(f"{_SESSION_SELECT} WHERE s.id = ?", (session_id,)).fetchone()
            if row is None:
                raise SessionNotFound(f"there is no session {session_id} in the history")
            overrides = _overrides(conn, [session_id])
        return _session_record(row, overrides.get(session_id, ()))

    def events(self, session_id: int) -> list[EventRecord]:
        """A session's timeline in the order it was recorded."""
        with self._read() as conn:
            _require_session(conn, session_id)
            rows = conn.execute("SELECT * FROM events WHERE session_id = ? ORDER BY id", (session_id,)).fetchall()
        return [_event_record(row) for row in rows]

    def frequency_warnings(self, now: datetime | None = None) -> list[FrequencyWarning]:
        """Rule R9: what speaks against starting a session at ``now`` (empty: nothing does)."""
        moment = _utc(now)
        with self._read() as conn:
            starts = _starts_in_week(conn, moment)
            bad = _recent_bad_feedback(conn, moment)
        found = (_same_day_warning(starts, moment), _weekly_warning(starts), _recent_worse_warning(bad))
        return [warning for warning in found if warning is not None]

    # -- export ----------------------------------------------------------------------------

    def export_json(self, sessions: Iterable[SessionRecord]) -> str:
        """The sessions with their events and feedback as a JSON list; times in ISO-8601 UTC."""
        items = [self._session_json(record) for record in sessions]
        return json.dumps(items, indent=2, ensure_ascii=False, default=_json_default)

    def export_csv(self, sessions: Iterable[SessionRecord]) -> str:
        """One row per session (header first) with its feedback; for spreadsheets."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(_csv_row(record) for record in sessions)
        return out.getvalue()

    def _session_json(self, record: SessionRecord) -> dict[str, Any]:
        item = asdict(record)
        del item["feedback_at"]
        if record.feedback is not None:
            item["feedback"]["at"] = record.feedback_at
        item["events"] = [asdict(event) for event in self.events(record.id)]
        for event in item["events"]:
            del event["session_id"]
        return item

    # -- transactions ----------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise HistoryError(f"the history store {self.path} is not open; use it in a with block or call open()")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise HistoryError(f"{self.path} was opened read-only, so this session cannot be recorded")
        with _transaction(self._connection(), self.path, "BEGIN IMMEDIATE") as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with _transaction(self._connection(), self.path, "BEGIN") as conn:
            yield conn


# -- opening -------------------------------------------------------------------------------


def _open(path: Path, *, read_only: bool, immutable: bool = False) -> sqlite3.Connection:
    conn = _connect(path, read_only=read_only, immutable=immutable)
    try:
        _prepare(conn, path, read_only=read_only)
    except HistoryError as exc:
        conn.close()
        if read_only and not immutable and _unshareable(exc, path):
            return _open(path, read_only=True, immutable=True)
        raise
    except BaseException:
        conn.close()
        raise
    return conn


def _unshareable(exc: HistoryError, path: Path) -> bool:
    """A WAL file in a read-only folder with no ``-wal`` beside it: no one can be writing it.

    SQLite cannot create the shared-memory file there, but the file can then be read as
    immutable without missing anything.
    """
    cause = getattr(exc.__cause__, "sqlite_errorname", "")
    unshared = cause in ("SQLITE_READONLY_DIRECTORY", "SQLITE_READONLY_CANTINIT")
    return unshared and not path.with_name(path.name + "-wal").exists()


def _connect(path: Path, *, read_only: bool, immutable: bool = False) -> sqlite3.Connection:
    if read_only and not path.is_file():
        raise HistoryError(f"there is no session history at {path} yet")
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"cannot create the folder for {path} ({exc.strerror}); set MEDCTL_DB") from exc
    _check_header(path)
    target = str(path)
    if read_only:  # a URI, so SQLite itself refuses to write
        target = path.resolve().as_uri() + ("?mode=ro&immutable=1" if immutable else "?mode=ro")
    try:
        conn = sqlite3.connect(target, uri=read_only, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise _translate(exc, path) from exc
    conn.row_factory = sqlite3.Row
    return conn


def _check_header(path: Path) -> None:
    """Refuse a file that is not SQLite before SQLite touches it (it would stay unchanged anyway)."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise HistoryError(f"cannot read {path} ({exc.strerror}); check its permissions") from exc
    if head and head != SQLITE_MAGIC:
        raise _unreadable(path)


def _prepare(conn: sqlite3.Connection, path: Path, *, read_only: bool) -> None:
    """Check the file is a sound medctl history, then (writable) set it up and migrate it."""
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check_integrity(conn, path)
        _check_version(conn, path, read_only=read_only)
        if read_only:
            conn.execute("PRAGMA query_only = ON")
            return
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise _translate(exc, path) from exc
    _migrate(conn, path)
    _recover_interrupted(conn, path)


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    result = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    if result != ["ok"]:
        raise _unreadable(path)


def _check_version(conn: sqlite3.Connection, path: Path, *, read_only: bool) -> None:
    version = _user_version(conn)
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    has_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    if (version == 0 and has_tables) or (version > 0 and application_id != APPLICATION_ID):
        raise HistoryError(f"{path} is a SQLite database of another program; set MEDCTL_DB to another file")
    if version > len(MIGRATIONS):
        raise HistoryError(
            f"{path} was made by a newer medctl (schema {version}, this one knows {len(MIGRATIONS)}); upgrade medctl"
        )
    if read_only and version < len(MIGRATIONS):
        what = "no session history yet" if version == 0 else "history from an older medctl"
        raise HistoryError(f"{path} holds {what}; run a session with this medctl first to bring it up to date")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply each missing migration in its own transaction, re-checking the version inside it."""
    for version, script in enumerate(MIGRATIONS, start=1):
        with _transaction(conn, path, "BEGIN IMMEDIATE"):
            if _user_version(conn) >= version:
                continue
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")


def _statements(script: str) -> list[str]:
    """Split a script at the semicolons that end statements (not those inside literals)."""
    statements: list[str] = []
    start = 0
    for end, char in enumerate(script, start=1):
        if char == ";" and sqlite3.complete_statement(script[start:end]):
            statements.append(script[start:end].strip())
            start = end
    if script[start:].strip():
        statements.append(script[start:].strip())
    return statements


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


# -- interrupted sessions ------------------------------------------------------------------


def _recover_interrupted(conn: sqlite3.Connection, path: Path) -> None:
    """Close every ``running`` session whose process on this host has gone (crash, SIGKILL)."""
    with _transaction(conn, path, "BEGIN IMMEDIATE"):
        rows = conn.execute(
            "SELECT id, pid FROM sessions WHERE state = 'running' AND host = ?", (socket.gethostname(),)
        ).fetchall()
        for row in rows:
            if not _process_alive(row["pid"]):
                _mark_interrupted(conn, row["id"])


def _process_alive(pid: int) -> bool:
    if pid <= 0:  # os.kill(0, ...) would address our own process group
        return False
    if sys.platform == "win32":  # signal 0 means CTRL_C_EVENT there: never probe, assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _mark_interrupted(conn: sqlite3.Connection, session_id: int) -> None:
    """Close a running session from its timeline: last event time, furthest time, top intensity."""
    conn.execute(
        "UPDATE sessions SET state = 'interrupted', end_reason = 'interrupted',"
        " ended_at = coalesce((SELECT wall FROM events WHERE session_id = :id ORDER BY id DESC LIMIT 1), started_at),"
        " massage_s = coalesce((SELECT max(at_s) FROM events WHERE session_id = :id), 0),"
        " max_intensity = coalesce((SELECT max(intensity) FROM events WHERE session_id = :id), 0)"
        " WHERE id = :id AND state = 'running'",
        {"id": session_id},
    )


# -- rows to records -----------------------------------------------------------------------

_SESSION_SELECT: Final = (
    "SELECT s.*, f.relief, f.soreness, f.sharp_pain, f.inflammation, f.note, f.at AS feedback_at"
    " FROM sessions AS s LEFT JOIN feedback AS f ON f.session_id = s.id"
)


def _require_session(conn: sqlite3.Connection, session_id: int) -> None:
    if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        raise SessionNotFound(f"there is no session {session_id} in the history")


def _overrides(conn: sqlite3.Connection, session_ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, tuple[str, ...]] = {}
    for session_id in session_ids:
        rows = conn.execute(
            "SELECT detail FROM events WHERE session_id = ? AND kind = 'override' ORDER BY id", (session_id,)
        ).fetchall()
        if rows:
            found[session_id] = tuple(str(row[0]) for row in rows)
    return found


def _session_record(row: sqlite3.Row, overrides: tuple[str, ...]) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        started_at=_parse(row["started_at"]),
        ended_at=_parse(row["ended_at"]) if row["ended_at"] is not None else None,
        device=row["device"],
        device_model=row["device_model"],
        planned_s=row["planned_s"],
        heat=bool(row["heat"]),
        target_intensity=row["target_intensity"],
        state=row["state"],
        end_reason=row["end_reason"],
        massage_s=row["massage_s"],
        max_intensity=row["max_intensity"],
        pid=row["pid"],
        host=row["host"],
        feedback=_feedback(row),
        feedback_at=_parse(row["feedback_at"]) if row["feedback_at"] is not None else None,
        overrides=overrides,
    )


def _feedback(row: sqlite3.Row) -> Feedback | None:
    if row["relief"] is None:
        return None
    return Feedback(
        relief=row["relief"],
        soreness=row["soreness"],
        sharp_pain=bool(row["sharp_pain"]),
        inflammation=bool(row["inflammation"]),
        note=row["note"],
    )


def _event_record(row: sqlite3.Row) -> EventRecord:
    return EventRecord(
        id=row["id"],
        session_id=row["session_id"],
        at_s=row["at_s"],
        wall=_parse(row["wall"]),
        kind=row["kind"],
        phase=row["phase"],
        intensity=row["intensity"],
        heat=row["heat"],
        pad_temp_c=row["pad_temp_c"],
        detail=row["detail"],
    )


# -- rule R9: frequency --------------------------------------------------------------------


def _starts_in_week(conn: sqlite3.Connection, moment: datetime) -> list[datetime]:
    """Start times of the sessions (interrupted ones too) in the seven days up to ``moment``."""
    rows = conn.execute(
        "SELECT started_at FROM sessions WHERE started_at > ? AND started_at <= ?",
        (_iso(moment - WEEK), _iso(moment)),
    ).fetchall()
    return [_parse(row[0]) for row in rows]


def _recent_bad_feedback(conn: sqlite3.Connection, moment: datetime) -> tuple[datetime, Feedback] | None:
    """The latest feedback reporting overdoing it in the 48 hours up to ``moment``."""
    row = conn.execute(
        "SELECT at AS feedback_at, relief, soreness, sharp_pain, inflammation, note FROM feedback"
        " WHERE at > ? AND at <= ? AND (soreness = 'worse' OR sharp_pain OR inflammation)"
        " ORDER BY at DESC LIMIT 1",
        (_iso(moment - REST_AFTER_BAD_FEEDBACK), _iso(moment)),
    ).fetchone()
    if row is None:
        return None
    feedback = _feedback(row)
    assert feedback is not None
    return _parse(row["feedback_at"]), feedback


def _same_day_warning(starts: list[datetime], moment: datetime) -> FrequencyWarning | None:
    """A session already started on today's local calendar day."""
    today = moment.astimezone().date()
    earlier = sorted(start.astimezone() for start in starts if start.astimezone().date() == today)
    if not earlier:
        return None
    done = "a session" if len(earlier) == 1 else f"{len(earlier)} sessions"
    return FrequencyWarning(
        "same_day",
        f"You already started {done} today (last at {earlier[-1]:%H:%M}); a few sessions a week is enough,"
        " so let your neck rest until tomorrow.",
    )


def _weekly_warning(starts: list[datetime]) -> FrequencyWarning | None:
    """WEEKLY_LIMIT sessions in the last seven days already: one more would exceed it."""
    if len(starts) < WEEKLY_LIMIT:
        return None
    first = min(starts) + WEEK
    return FrequencyWarning(
        "weekly_limit",
        f"You have had {len(starts)} sessions in the last 7 days and more than {WEEKLY_LIMIT} a week is too many;"
        f" take a rest day (the oldest of them drops out of the week on {first.astimezone():%a %d %b at %H:%M}).",
    )


def _recent_worse_warning(bad: tuple[datetime, Feedback] | None) -> FrequencyWarning | None:
    if bad is None:
        return None
    at, feedback = bad
    signs = [
        sign
        for sign, present in (
            ("worse soreness", feedback.soreness == "worse"),
            ("sharp pain", feedback.sharp_pain),
            ("inflammation", feedback.inflammation),
        )
        if present
    ]
    until = (at + REST_AFTER_BAD_FEEDBACK).astimezone()
    return FrequencyWarning(
        "recent_worse",
        f"Your feedback on {at.astimezone():%a %d %b at %H:%M} reported {' and '.join(signs)}; rest your neck"
        f" until {until:%a %d %b at %H:%M}, and if it persists, see a healthcare provider.",
    )


# -- export ----------------------------------------------------------------------------------

CSV_COLUMNS: Final = (
    "id",
    "started_at",
    "ended_at",
    "device",
    "device_model",
    "planned_s",
    "heat",
    "target_intensity",
    "state",
    "end_reason",
    "massage_s",
    "max_intensity",
    "overrides",
    "relief",
    "soreness",
    "sharp_pain",
    "inflammation",
    "note",
    "feedback_at",
)


def _csv_row(record: SessionRecord) -> list[str]:
    values = {**asdict(record), "overrides": "; ".join(record.overrides)}
    if record.feedback is not None:
        values.update(asdict(record.feedback))
    return [_csv_value(values.get(column)) for column in CSV_COLUMNS]


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return _iso(value)
    return str(value)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return _iso(value)
    raise TypeError(f"cannot export {type(value).__name__}")


# -- time and errors -----------------------------------------------------------------------


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.utcoffset() is None:
        raise ValueError(f"times must be timezone-aware (e.g. datetime.now(UTC)), not {now!r}")
    return now.astimezone(UTC)


def _iso(moment: datetime) -> str:
    """Fixed-width ISO-8601 UTC, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _require_finite(name: str, value: float) -> None:
    if not isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, not {value!r}")


@contextmanager
def _transaction(conn: sqlite3.Connection, path: Path, begin: str) -> Iterator[sqlite3.Connection]:
    """One transaction: committed when the block ends, rolled back on any error."""
    try:
        conn.execute(begin)
        try:
            yield conn
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise _translate(exc, path) from exc


def _unreadable(path: Path) -> HistoryError:
    return HistoryError(
        f"{path} is not a readable medctl history (not a SQLite database, or damaged);"
        " move it aside and medctl will start a new history there."
    )


def _translate(exc: sqlite3.Error, path: Path) -> HistoryError:
    """A one-sentence HistoryError for a SQLite failure."""
    code = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if code.startswith("SQLITE_FULL") or "full" in text:
        return HistoryError(f"cannot write to {path}: the disk is full; free some space and try again")
    if code.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text:
        return HistoryError(f"cannot write to {path}: the file or its folder is read-only; check its permissions")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return HistoryError(f"{path} is busy (another medctl is writing to it); try again in a moment")
    if code.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return _unreadable(path)
    if code.startswith("SQLITE_CANTOPEN"):
        return HistoryError(f"cannot open {path}; check that its folder exists and is writable, or set MEDCTL_DB")
    return HistoryError(f"the session history {path} failed: {exc}")
