"""Sessions whose process died (crash, SIGKILL, power cut) without closing their record.

A writable open marks them ``interrupted`` in the file; a read-only reader (``medctl history``)
shows them the same way without writing, computed from their timeline the way the mark would be.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import sys
from dataclasses import replace

from medctl.history.records import SessionRecord, parse

_CLOSE_FROM_TIMELINE = (
    "SELECT coalesce((SELECT wall FROM events WHERE session_id = :id ORDER BY id DESC LIMIT 1), started_at),"
    " coalesce((SELECT max(at_s) FROM events WHERE session_id = :id), 0),"
    " coalesce((SELECT max(intensity) FROM events WHERE session_id = :id), 0)"
    " FROM sessions WHERE id = :id"
)


def recover_interrupted(conn: sqlite3.Connection) -> None:
    """Close every ``running`` session whose process on this host has gone (inside the caller's transaction)."""
    rows = conn.execute(
        "SELECT id, pid FROM sessions WHERE state = 'running' AND host = ?", (socket.gethostname(),)
    ).fetchall()
    for row in rows:
        if not process_alive(row["pid"]):
            mark_interrupted(conn, row["id"])


def mark_interrupted(conn: sqlite3.Connection, session_id: int) -> None:
    """Close a running session from its timeline: last event time, furthest time, top intensity."""
    conn.execute(
        "UPDATE sessions SET state = 'interrupted', end_reason = 'interrupted',"
        " ended_at = coalesce((SELECT wall FROM events WHERE session_id = :id ORDER BY id DESC LIMIT 1), started_at),"
        " massage_s = coalesce((SELECT max(at_s) FROM events WHERE session_id = :id), 0),"
        " max_intensity = coalesce((SELECT max(intensity) FROM events WHERE session_id = :id), 0)"
        " WHERE id = :id AND state = 'running'",
        {"id": session_id},
    )


def orphaned(record: SessionRecord) -> bool:
    """Still ``running`` in the file, but its process on this host is gone."""
    return record.state == "running" and record.host == socket.gethostname() and not process_alive(record.pid)


def as_interrupted(conn: sqlite3.Connection, record: SessionRecord) -> SessionRecord:
    """*record* as :func:`mark_interrupted` would leave it, without writing anything."""
    ended, massage_s, max_intensity = conn.execute(_CLOSE_FROM_TIMELINE, {"id": record.id}).fetchone()
    return replace(
        record,
        state="interrupted",
        end_reason="interrupted",
        ended_at=parse(ended),
        massage_s=massage_s,
        max_intensity=max_intensity,
    )


def process_alive(pid: int) -> bool:
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
