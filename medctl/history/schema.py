"""The history file itself: opening it safely, checking it is ours, and migrating its schema.

A file that is not SQLite, is damaged, belongs to another program or comes from a newer medctl is
refused before anything is written to it. Migrations bring ``PRAGMA user_version`` up one step at
a time, each in its own transaction. Every SQLite failure becomes a one-sentence HistoryError.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Final

from medctl.history.interrupted import recover_interrupted
from medctl.history.records import HistoryError
from medctl.localfiles import PRIVATE_FILE, ensure_private_directory

APPLICATION_ID: Final = 0x6D656463  # "medc" in the SQLite header: tells our files from others
BUSY_TIMEOUT_MS: Final = 5000  # outside a session, another medctl writing: wait this long before giving up

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
    # 2: sessions against the built-in simulator are marked, so R9 and the charts can leave them out
    """
    ALTER TABLE sessions ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0 CHECK (simulated IN (0, 1));
    """,
)


# -- opening -------------------------------------------------------------------------------


def open_history(
    path: Path, *, read_only: bool, immutable: bool = False, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> sqlite3.Connection:
    """Open, check and (writable) migrate the history; waits at most *busy_timeout_ms* for each lock."""
    conn = _connect(path, read_only=read_only, immutable=immutable, busy_timeout_ms=busy_timeout_ms)
    try:
        _prepare(conn, path, read_only=read_only, busy_timeout_ms=busy_timeout_ms)
    except HistoryError as exc:
        conn.close()
        if read_only and not immutable and _unshareable(exc, path):
            return open_history(path, read_only=True, immutable=True, busy_timeout_ms=busy_timeout_ms)
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


def _make_private(path: Path) -> None:
    """The history is health data: its folder 0700 when medctl creates it, the file 0600 (SQLite gives
    its -wal and -shm files the same mode), created so before SQLite opens it; an older 0644 file is
    tightened."""
    ensure_private_directory(path.parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
    except FileExistsError:
        info = path.stat()
        if path.is_file() and info.st_mode & 0o077 and info.st_uid == os.geteuid():
            path.chmod(stat.S_IMODE(info.st_mode) & 0o700)  # others lose access; the owner's bits stay as they were


def _connect(path: Path, *, read_only: bool, immutable: bool, busy_timeout_ms: int) -> sqlite3.Connection:
    if read_only and not path.is_file():
        raise HistoryError(f"there is no session history at {path} yet")
    if not read_only:
        try:
            _make_private(path)
        except OSError as exc:
            raise HistoryError(f"cannot create the folder for {path} ({exc.strerror}); set MEDCTL_DB") from exc
    target = str(path)
    if read_only:  # a URI, so SQLite itself refuses to write
        target = path.resolve().as_uri() + ("?mode=ro&immutable=1" if immutable else "?mode=ro")
    try:
        conn = sqlite3.connect(target, uri=read_only, isolation_level=None, timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc
    conn.row_factory = sqlite3.Row
    return conn


def _prepare(conn: sqlite3.Connection, path: Path, *, read_only: bool, busy_timeout_ms: int) -> None:
    """Check the file is a sound medctl history, then (writable) set it up and migrate it."""
    try:
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        _check_integrity(conn, path)
        _check_version(conn, path, read_only=read_only)
        if read_only:
            conn.execute("PRAGMA query_only = ON")
            return
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc
    _migrate(conn, path)
    with transaction(conn, path, "BEGIN IMMEDIATE"):
        recover_interrupted(conn)


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    result = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    if result != ["ok"]:
        raise unreadable(path)


def _check_version(conn: sqlite3.Connection, path: Path, *, read_only: bool) -> None:
    version = user_version(conn)
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    has_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    if (version == 0 and has_tables) or (version > 0 and application_id != APPLICATION_ID):
        raise HistoryError(f"{path} is a SQLite database of another program; set MEDCTL_DB to another file")
    if version > len(MIGRATIONS):
        raise HistoryError(
            f"{path} was made by a newer medctl (schema {version}, this one knows {len(MIGRATIONS)}); upgrade medctl"
        )
    if read_only and version == 0:  # an older schema is read as it is (see records.session_record)
        raise HistoryError(f"{path} holds no session history yet; run a session first")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply each missing migration in its own transaction, re-checking the version inside it."""
    for version, script in enumerate(MIGRATIONS, start=1):
        with transaction(conn, path, "BEGIN IMMEDIATE"):
            if user_version(conn) >= version:
                continue
            for statement in statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")


def statements(script: str) -> list[str]:
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


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


@contextmanager
def transaction(conn: sqlite3.Connection, path: Path, begin: str) -> Iterator[sqlite3.Connection]:
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
        raise translate(exc, path) from exc


def unreadable(path: Path) -> HistoryError:
    return HistoryError(
        f"{path} is not a readable medctl history (not a SQLite database, or damaged);"
        " move it aside and medctl will start a new history there."
    )


def translate(exc: sqlite3.Error, path: Path) -> HistoryError:
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
        return unreadable(path)
    if code.startswith("SQLITE_CANTOPEN"):
        return HistoryError(f"cannot open {path}; check that its folder exists and is writable, or set MEDCTL_DB")
    return HistoryError(f"the session history {path} failed: {exc}")


def is_busy(exc: BaseException) -> bool:
    """Whether *exc* (a HistoryError from :func:`translate`) means another connection holds the lock."""
    cause = exc.__cause__ if isinstance(exc, HistoryError) else exc
    code = getattr(cause, "sqlite_errorname", "") or ""
    return code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in conn.execute(f"PRAGMA table_info({table})"))
