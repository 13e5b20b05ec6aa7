"""Each write, and the R9 read, as one function of an open connection inside a transaction.

:class:`~medctl.history.store.HistoryStore` runs them on its own connection (outside a session)
and :class:`~medctl.history.writer.HistoryWriter` on its thread's connection (during one), so
both write exactly the same rows.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from dataclasses import asdict
from datetime import datetime
from typing import cast

from medctl.history.records import Feedback, iso, parse, require_session
from medctl.session.rules.frequency import REST_AFTER_BAD_FEEDBACK, WEEK, BadFeedback


def insert_session(
    conn: sqlite3.Connection,
    *,
    started_at: datetime,
    device: str,
    device_model: str,
    planned_s: float,
    heat: bool,
    target_intensity: int | None,
    simulated: bool,
) -> int:
    cursor = conn.execute(
        "INSERT INTO sessions (started_at, device, device_model, planned_s, heat, target_intensity,"
        " state, pid, host, simulated) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
        (
            iso(started_at),
            device,
            device_model,
            planned_s,
            bool(heat),
            target_intensity,
            os.getpid(),
            socket.gethostname(),
            bool(simulated),
        ),
    )
    return cast(int, cursor.lastrowid)


def insert_event(
    conn: sqlite3.Connection,
    session_id: int,
    kind: str,
    *,
    at_s: float,
    wall: datetime,
    phase: str | None,
    intensity: int | None,
    heat: int | None,
    pad_temp_c: float | None,
    detail: str | None,
) -> None:
    require_session(conn, session_id)
    conn.execute(
        "INSERT INTO events (session_id, at_s, wall, kind, phase, intensity, heat, pad_temp_c, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (session_id, at_s, iso(wall), kind, phase, intensity, heat, pad_temp_c, detail),
    )


def update_end(
    conn: sqlite3.Connection, session_id: int, *, reason: str, massage_s: float, max_intensity: int, at: datetime
) -> None:
    require_session(conn, session_id)
    conn.execute(
        "UPDATE sessions SET state = 'ended', ended_at = ?, end_reason = ?, massage_s = ?,"
        " max_intensity = ? WHERE id = ?",
        (iso(at), reason, massage_s, max_intensity, session_id),
    )


def upsert_feedback(conn: sqlite3.Connection, session_id: int, feedback: Feedback, *, at: datetime) -> None:
    require_session(conn, session_id)
    conn.execute(
        "INSERT INTO feedback (session_id, relief, soreness, sharp_pain, inflammation, note, at)"
        " VALUES (:session_id, :relief, :soreness, :sharp_pain, :inflammation, :note, :at)"
        " ON CONFLICT (session_id) DO UPDATE SET relief = excluded.relief, soreness = excluded.soreness,"
        " sharp_pain = excluded.sharp_pain, inflammation = excluded.inflammation,"
        " note = excluded.note, at = excluded.at",
        {**asdict(feedback), "session_id": session_id, "at": iso(at)},
    )


def frequency_inputs(conn: sqlite3.Connection, now: datetime) -> tuple[list[datetime], list[BadFeedback]]:
    """What R9 needs: real sessions started in the week before *now* (or after it, clock set back),
    and feedback of overdoing it in the 48 hours before *now* (or after it); interrupted sessions count."""
    starts = conn.execute(
        "SELECT started_at FROM sessions WHERE started_at > ? AND NOT simulated", (iso(now - WEEK),)
    ).fetchall()
    rows = conn.execute(
        "SELECT f.at, f.relief, f.soreness, f.sharp_pain, f.inflammation, f.note FROM feedback AS f"
        " JOIN sessions AS s ON s.id = f.session_id"
        " WHERE f.at > ? AND NOT s.simulated AND (f.soreness = 'worse' OR f.sharp_pain OR f.inflammation)",
        (iso(now - REST_AFTER_BAD_FEEDBACK),),
    ).fetchall()
    bad = [
        BadFeedback(parse(row["at"]), Feedback(row["relief"], row["soreness"], bool(row["sharp_pain"]),
                                              bool(row["inflammation"]), row["note"]).overdone)
        for row in rows
    ]  # fmt: skip
    return [parse(row[0]) for row in starts], bad
