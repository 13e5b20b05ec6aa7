"""What the history holds, as Python values: sessions, events, feedback, and the errors it raises.

Rows become frozen dataclasses here, and wall-clock times are parsed and written here in one
fixed-width ISO-8601 UTC form (so text order is time order).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from math import isfinite
from typing import Final, Literal, get_args

from medctl.errors import MedctlError

Soreness = Literal["better", "same", "worse"]
SessionState = Literal["running", "ended", "interrupted"]


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

    @property
    def overdone(self) -> tuple[str, ...]:
        """The signs of overdoing it this feedback reports (R9 and the article's advice), in words."""
        signs = (
            ("worse soreness", self.soreness == "worse"),
            ("sharp pain", self.sharp_pain),
            ("inflammation", self.inflammation),
        )
        return tuple(sign for sign, present in signs if present)


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
    #: Recorded against the built-in simulator (``sim://``): left out of R9 and the charts.
    simulated: bool = False


SESSION_SELECT: Final = (
    "SELECT s.*, f.relief, f.soreness, f.sharp_pain, f.inflammation, f.note, f.at AS feedback_at"
    " FROM sessions AS s LEFT JOIN feedback AS f ON f.session_id = s.id"
)


def require_session(conn: sqlite3.Connection, session_id: int) -> None:
    if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        raise SessionNotFound(f"there is no session {session_id} in the history")


def overrides(conn: sqlite3.Connection, session_ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, tuple[str, ...]] = {}
    for session_id in session_ids:
        rows = conn.execute(
            "SELECT detail FROM events WHERE session_id = ? AND kind = 'override' ORDER BY id", (session_id,)
        ).fetchall()
        if rows:
            found[session_id] = tuple(str(row[0]) for row in rows)
    return found


def session_record(row: sqlite3.Row, found_overrides: tuple[str, ...]) -> SessionRecord:
    columns = row.keys()  # (a Row's ``in`` looks at values) a history from before schema 2 has no "simulated"
    return SessionRecord(
        id=row["id"],
        started_at=parse(row["started_at"]),
        ended_at=parse(row["ended_at"]) if row["ended_at"] is not None else None,
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
        feedback=feedback(row),
        feedback_at=parse(row["feedback_at"]) if row["feedback_at"] is not None else None,
        overrides=found_overrides,
        simulated=bool(row["simulated"]) if "simulated" in columns else False,
    )


def feedback(row: sqlite3.Row) -> Feedback | None:
    if row["relief"] is None:
        return None
    return Feedback(
        relief=row["relief"],
        soreness=row["soreness"],
        sharp_pain=bool(row["sharp_pain"]),
        inflammation=bool(row["inflammation"]),
        note=row["note"],
    )


def event_record(row: sqlite3.Row) -> EventRecord:
    return EventRecord(
        id=row["id"],
        session_id=row["session_id"],
        at_s=row["at_s"],
        wall=parse(row["wall"]),
        kind=row["kind"],
        phase=row["phase"],
        intensity=row["intensity"],
        heat=row["heat"],
        pad_temp_c=row["pad_temp_c"],
        detail=row["detail"],
    )


# -- time ----------------------------------------------------------------------------------


def utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.utcoffset() is None:
        raise ValueError(f"times must be timezone-aware (e.g. datetime.now(UTC)), not {now!r}")
    return now.astimezone(UTC)


def iso(moment: datetime) -> str:
    """Fixed-width ISO-8601 UTC, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def require_finite(name: str, value: float) -> None:
    if not isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, not {value!r}")
