"""The session history: schema and migrations, durability, damaged files, interrupted sessions,
rule R9 (frequency) at its edges, and export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import random
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medctl.errors import MedctlError
from medctl.history import (
    CSV_COLUMNS,
    Feedback,
    HistoryError,
    HistoryStore,
    HistoryWriter,
    SessionNotFound,
    default_db_path,
    schema,
)
from medctl.history import writer as history_writer
from medctl.session.frequency import BadFeedback, frequency_warnings, unreadable_warning

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)  # a Wednesday, noon UTC
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


@pytest.fixture
def store(db: Path) -> Iterator[HistoryStore]:
    with HistoryStore(db) as opened:
        yield opened


@pytest.fixture
def local_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set the process's local time zone (a POSIX TZ string, no tz database needed)."""

    def use(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    use("UTC0")
    yield use
    monkeypatch.undo()
    time.tzset()


def begin(store: HistoryStore, at: datetime = T0, **overrides: Any) -> int:
    plan: dict[str, Any] = {
        "device": "sim://",
        "device_model": "SIM-NECK-1",
        "planned_s": 300.0,
        "heat": True,
        "target_intensity": 3,
    }
    return store.begin_session(**{**plan, **overrides}, now=at)


def raw(db: Path) -> sqlite3.Connection:
    """A second, independent connection, as another process would have."""
    return sqlite3.connect(db, isolation_level=None)


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


# -- location ------------------------------------------------------------------------------


def test_default_path_is_in_the_user_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDCTL_DB", raising=False)
    assert default_db_path() == platformdirs.user_data_path("medctl") / "history.sqlite3"


def test_medctl_db_overrides_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDCTL_DB", str(tmp_path / "mine.db"))
    assert default_db_path() == tmp_path / "mine.db"


def test_parent_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "history.sqlite3"
    with HistoryStore(str(path)):
        pass
    assert path.is_file()


# -- schema and migrations -----------------------------------------------------------------


def test_migrations_create_the_schema_and_set_user_version(store: HistoryStore, db: Path) -> None:
    conn = raw(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS) == 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"sessions", "events", "feedback"}
    columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
    assert {"started_at", "device_model", "planned_s", "state", "end_reason", "massage_s", "pid", "host"} <= columns
    assert "simulated" in columns
    indexed = {
        (table, conn.execute(f"PRAGMA index_info({index})").fetchone()[2])
        for index, table in conn.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql NOT NULL"
        )
    }
    assert indexed == {("sessions", "started_at"), ("events", "session_id")}


def test_connection_settings(store: HistoryStore) -> None:
    conn = store._connection()
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_reopening_keeps_the_data(db: Path) -> None:
    with HistoryStore(db) as store:
        session_id = begin(store)
        store.record_event(session_id, "phase", at_s=0.0, phase="warm_up", intensity=1, now=T0)
        store.end_session(session_id, reason="completed", massage_s=300.0, max_intensity=3, now=T0)
    with HistoryStore(db) as store:
        record = store.session(session_id)
        assert (record.state, record.end_reason, record.max_intensity) == ("ended", "completed", 3)
        assert [event.phase for event in store.events(session_id)] == ["warm_up"]


def test_a_later_migration_is_applied_once_and_keeps_the_data(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with HistoryStore(db) as store:
        session_id = begin(store)
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, "ALTER TABLE sessions ADD COLUMN x TEXT;"))
    for _ in range(2):
        with HistoryStore(db) as store:
            assert store.session(session_id).device == "sim://"
    assert raw(db).execute("PRAGMA user_version").fetchone()[0] == 3


def test_a_failing_migration_leaves_the_previous_version_whole(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with HistoryStore(db):
        pass
    broken = "CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    with pytest.raises(HistoryError), HistoryStore(db):
        pass
    conn = raw(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0


def test_statements_split_only_at_statement_ends() -> None:
    script = "INSERT INTO t VALUES ('a;b');\nCREATE TABLE u (x);  -- done"
    assert schema.statements(script) == ["INSERT INTO t VALUES ('a;b');", "CREATE TABLE u (x);", "-- done"]


def test_a_database_from_a_newer_medctl_is_refused_untouched(db: Path) -> None:
    with HistoryStore(db):
        pass
    raw(db).execute("PRAGMA user_version = 99")
    before = db.read_bytes()
    with pytest.raises(HistoryError, match="made by a newer medctl"), HistoryStore(db):
        pass
    assert db.read_bytes() == before


def test_another_programs_database_is_refused_untouched(db: Path) -> None:
    db.parent.mkdir()
    raw(db).execute("CREATE TABLE contacts (name TEXT)")
    before = db.read_bytes()
    with pytest.raises(HistoryError, match="another program"), HistoryStore(db):
        pass
    assert db.read_bytes() == before


# -- damaged, read-only and full files -----------------------------------------------------


def _damaged_history(path: Path) -> None:
    with HistoryStore(path) as store:
        for n in range(40):
            store.record_event(begin(store), "status", at_s=1.0, detail="x" * 500, now=T0 + timedelta(minutes=n))
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 4] = random.Random(7).randbytes(4096 * 2)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.write_bytes(random.Random(1).randbytes(8192)),
        lambda p: p.write_text("appointments:\n  - dentist, Tuesday\n"),
        _damaged_history,
    ],
    ids=["random-bytes", "text-file", "damaged-sqlite"],
)
def test_a_file_that_is_not_a_sound_history_is_refused_untouched(db: Path, make: Callable[[Path], None]) -> None:
    db.parent.mkdir()
    make(db)
    before, names = db.read_bytes(), sorted(os.listdir(db.parent))
    with pytest.raises(HistoryError) as caught, HistoryStore(db):
        pass
    message = str(caught.value)
    assert str(db) in message and "move it aside" in message and "\n" not in message
    assert db.read_bytes() == before
    assert sorted(os.listdir(db.parent)) == names


def test_a_read_only_store_reads_and_refuses_every_write(db: Path) -> None:
    with HistoryStore(db) as store:
        session_id = begin(store)
    before = db.read_bytes()
    with HistoryStore(db, read_only=True) as store:
        assert [record.id for record in store.sessions()] == [session_id]
        writes: list[Callable[[], object]] = [
            lambda: begin(store),
            lambda: store.record_event(session_id, "pause", at_s=1.0),
            lambda: store.record_override(session_id, "R9", "same day"),
            lambda: store.end_session(session_id, reason="stop", massage_s=1.0, max_intensity=1),
            lambda: store.add_feedback(session_id, Feedback(5, "same", False)),
            lambda: store.mark_interrupted(session_id),
        ]
        for write in writes:
            with pytest.raises(HistoryError, match="read-only"):
                write()
    assert db.read_bytes() == before


def test_a_read_only_store_shows_dead_sessions_as_interrupted_without_writing(db: Path) -> None:
    with HistoryStore(db) as store:
        session_id = begin(store)
        for n, level in enumerate((1, 2, 3)):
            store.record_event(session_id, "intensity", at_s=60.0 * n, intensity=level, now=T0 + timedelta(minutes=n))
    raw(db).execute("UPDATE sessions SET pid = ?", (dead_pid(),))
    before = db.read_bytes()
    with HistoryStore(db, read_only=True) as store:
        (listed,) = store.sessions()
        single = store.session(session_id)
    for record in (listed, single):
        assert (record.state, record.end_reason, record.ended_at) == (
            "interrupted",
            "interrupted",
            T0 + timedelta(minutes=2),
        )
        assert (record.massage_s, record.max_intensity) == (120.0, 3)
    assert db.read_bytes() == before
    assert raw(db).execute("SELECT state FROM sessions").fetchone()[0] == "running"  # the file is untouched


def test_medctl_history_lists_a_dead_process_s_session_as_interrupted(db: Path) -> None:
    with HistoryStore(db) as store:
        begin(store)
    raw(db).execute("UPDATE sessions SET pid = ?", (dead_pid(),))
    listing = subprocess.run(
        [sys.executable, "-m", "medctl", "history", "--db", str(db)], cwd=ROOT, capture_output=True, text=True
    )
    assert listing.returncode == 0, listing.stderr
    assert "interrupted" in listing.stdout and "running" not in listing.stdout
    assert raw(db).execute("SELECT state FROM sessions").fetchone()[0] == "running"


def test_a_read_only_store_needs_an_existing_history(db: Path) -> None:
    with pytest.raises(HistoryError, match="no session history"), HistoryStore(db, read_only=True):
        pass
    assert not db.exists()


def _as_unprivileged_user(check: Callable[[Path], None]) -> None:
    """Run *check* on a fresh history path as a user file modes apply to.

    Root writes to read-only files and folders, so as root the check runs in a forked child
    that has become ``nobody``, in a folder it owns; its failure fails the test.
    """
    if not IS_ROOT:
        folder = Path(tempfile.mkdtemp())
        check(folder / "data" / "history.sqlite3")
        return
    nobody = 65534
    folder = Path(tempfile.mkdtemp())
    os.chown(folder, nobody, nobody)
    pid = os.fork()
    if pid == 0:  # the child: drop root, run the check, report by exit code
        code = 1
        try:
            os.setgid(nobody)
            os.setuid(nobody)
            check(folder / "data" / "history.sqlite3")
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the check failed as an unprivileged user (traceback above)"


def _read_only_file_check(db: Path) -> None:
    with HistoryStore(db) as store:
        begin(store)
    db.chmod(0o444)
    with HistoryStore(db) as store:
        assert len(store.sessions()) == 1
        with pytest.raises(HistoryError, match="read-only"):
            begin(store)
    with HistoryStore(db, read_only=True) as store:
        assert len(store.sessions()) == 1


def test_a_read_only_file_fails_the_first_write_with_a_sentence() -> None:
    _as_unprivileged_user(_read_only_file_check)


def _read_only_folder_check(db: Path) -> None:
    with HistoryStore(db) as store:
        begin(store)
    db.parent.chmod(0o555)
    try:
        with HistoryStore(db, read_only=True) as store:
            assert len(store.sessions()) == 1
        with pytest.raises(HistoryError), HistoryStore(db.parent / "new" / "h.sqlite3"):
            pass
    finally:
        db.parent.chmod(0o755)


def test_a_history_in_a_read_only_folder_can_still_be_read() -> None:
    _as_unprivileged_user(_read_only_folder_check)


def test_a_full_disk_fails_the_write_with_a_sentence_and_loses_nothing(store: HistoryStore) -> None:
    session_id = begin(store)
    store.record_event(session_id, "phase", at_s=0.0, phase="warm_up")
    conn = store._connection()
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(HistoryError, match="disk is full"):
        store.record_event(session_id, "status", at_s=1.0, detail="x" * 100_000)
    assert [event.phase for event in store.events(session_id)] == ["warm_up"]


def test_a_closed_store_says_so(db: Path) -> None:
    store = HistoryStore(db).open()
    store.close()
    store.close()
    with pytest.raises(HistoryError, match="not open"):
        store.sessions()


# -- durability ----------------------------------------------------------------------------


def test_every_write_is_committed_before_the_call_returns(store: HistoryStore, db: Path) -> None:
    other = raw(db)
    session_id = begin(store)
    assert other.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone() == ("running",)
    store.record_event(session_id, "intensity", at_s=61.0, intensity=2)
    assert other.execute("SELECT kind, intensity FROM events").fetchall() == [("intensity", 2)]
    store.record_override(session_id, "R9", "second session today")
    assert other.execute("SELECT count(*) FROM events").fetchone() == (2,)
    store.end_session(session_id, reason="completed", massage_s=300.0, max_intensity=2)
    assert other.execute("SELECT state FROM sessions").fetchone() == ("ended",)
    store.add_feedback(session_id, Feedback(7, "better", False))
    assert other.execute("SELECT relief FROM feedback").fetchone() == (7,)


CRASHING_ENGINE = """
import sys, time
from medctl.history import HistoryStore
store = HistoryStore(sys.argv[1]).open()
session_id = store.begin_session(device="sim://", device_model="SIM", planned_s=600, heat=False,
                                 target_intensity=None)
for n in range(5):
    store.record_event(session_id, "intensity", at_s=60.0 + 20 * n, intensity=n + 1)
print(session_id, flush=True)
time.sleep(60)
"""


def test_a_killed_process_leaves_an_interrupted_session_with_every_event(db: Path) -> None:
    engine = subprocess.Popen(
        [sys.executable, "-c", CRASHING_ENGINE, str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert engine.stdout is not None
        session_id = int(engine.stdout.readline())
    finally:
        engine.kill()  # SIGKILL: no cleanup of any kind runs
        engine.wait()
    with HistoryStore(db) as store:
        record = store.session(session_id)
        assert (record.state, record.end_reason) == ("interrupted", "interrupted")
        assert (record.massage_s, record.max_intensity) == (140.0, 5)
        assert [event.intensity for event in store.events(session_id)] == [1, 2, 3, 4, 5]


# -- interrupted sessions ------------------------------------------------------------------


def test_a_session_of_a_dead_process_is_marked_interrupted_on_open(db: Path) -> None:
    with HistoryStore(db) as store:
        session_id = begin(store)
        for n, level in enumerate((1, 2, 3, 2)):
            store.record_event(session_id, "intensity", at_s=60.0 * n, intensity=level, now=T0 + timedelta(minutes=n))
        silent = begin(store, T0 + timedelta(hours=1))
    raw(db).execute("UPDATE sessions SET pid = ?", (dead_pid(),))
    with HistoryStore(db) as store:
        record = store.session(session_id)
        assert (record.state, record.end_reason, record.ended_at) == (
            "interrupted",
            "interrupted",
            T0 + timedelta(minutes=3),
        )
        assert (record.massage_s, record.max_intensity) == (180.0, 3)
        assert [event.intensity for event in store.events(session_id)] == [1, 2, 3, 2]
        empty = store.session(silent)
        assert (empty.state, empty.ended_at, empty.massage_s) == ("interrupted", T0 + timedelta(hours=1), 0.0)


def test_a_session_of_a_live_process_is_left_running(db: Path) -> None:
    with HistoryStore(db) as store:
        session_id = begin(store)
        assert store.session(session_id).pid == os.getpid()
    with HistoryStore(db) as store:
        assert store.session(session_id).state == "running"


def test_a_session_of_another_host_is_left_running(db: Path) -> None:
    with HistoryStore(db) as store:
        session_id = begin(store)
    raw(db).execute("UPDATE sessions SET pid = ?, host = 'elsewhere'", (dead_pid(),))
    with HistoryStore(db) as store:
        assert store.session(session_id).state == "running"


def test_mark_interrupted_closes_a_running_session_only(store: HistoryStore) -> None:
    running = begin(store)
    store.record_event(running, "intensity", at_s=90.0, intensity=2, now=T0 + timedelta(seconds=90))
    store.mark_interrupted(running)
    record = store.session(running)
    assert (record.state, record.ended_at, record.massage_s, record.max_intensity) == (
        "interrupted",
        T0 + timedelta(seconds=90),
        90.0,
        2,
    )
    ended = begin(store)
    store.end_session(ended, reason="completed", massage_s=300.0, max_intensity=4, now=T0)
    store.mark_interrupted(ended)
    assert (store.session(ended).state, store.session(ended).massage_s) == ("ended", 300.0)
    with pytest.raises(SessionNotFound):
        store.mark_interrupted(999)


# -- records -------------------------------------------------------------------------------


def test_a_session_record_carries_plan_end_overrides_and_feedback(store: HistoryStore) -> None:
    session_id = begin(store, heat=False, target_intensity=None, planned_s=420.0)
    store.record_override(session_id, "R9", "same day", now=T0)
    store.end_session(session_id, reason="completed", massage_s=420.0, max_intensity=2, now=T0 + timedelta(minutes=8))
    store.add_feedback(session_id, Feedback(8, "better", False, note="much looser"), now=T0 + timedelta(minutes=9))
    record = store.session(session_id)
    assert (record.device, record.device_model, record.planned_s, record.heat, record.target_intensity) == (
        "sim://",
        "SIM-NECK-1",
        420.0,
        False,
        None,
    )
    assert (record.started_at, record.ended_at) == (T0, T0 + timedelta(minutes=8))
    assert record.started_at.tzinfo is not None
    assert record.overrides == ("R9: same day",)
    assert record.feedback == Feedback(8, "better", False, note="much looser")
    assert record.feedback_at == T0 + timedelta(minutes=9)


def test_feedback_given_again_replaces_the_first(store: HistoryStore) -> None:
    session_id = begin(store)
    store.add_feedback(session_id, Feedback(3, "same", False), now=T0)
    store.add_feedback(session_id, Feedback(6, "worse", True, True, "stiff"), now=T0 + timedelta(hours=1))
    assert store.session(session_id).feedback == Feedback(6, "worse", True, True, "stiff")


def test_sessions_are_listed_newest_first_with_since_and_limit(store: HistoryStore) -> None:
    ids = [begin(store, T0 + timedelta(days=n)) for n in range(4)]
    assert [record.id for record in store.sessions()] == ids[::-1]
    assert [record.id for record in store.sessions(limit=2)] == ids[:1:-1]
    assert [record.id for record in store.sessions(since=T0 + timedelta(days=2))] == ids[:1:-1]
    assert store.sessions(since=T0 + timedelta(days=9)) == []


def test_events_keep_every_field_in_order(store: HistoryStore) -> None:
    session_id = begin(store)
    store.record_event(session_id, "phase", at_s=0.0, phase="warm_up", intensity=1, heat=1, now=T0)
    store.record_event(session_id, "status", at_s=30.5, pad_temp_c=37.25, now=T0 + timedelta(seconds=30.5))
    store.record_event(session_id, "fault", at_s=31.0, detail="over_temperature", now=T0 + timedelta(seconds=31))
    first, second, third = store.events(session_id)
    assert (first.kind, first.phase, first.intensity, first.heat, first.wall) == ("phase", "warm_up", 1, 1, T0)
    assert (second.at_s, second.pad_temp_c, second.phase) == (30.5, 37.25, None)
    assert (third.kind, third.detail, third.session_id) == ("fault", "over_temperature", session_id)


def test_a_missing_session_is_a_key_error_with_a_plain_message(store: HistoryStore) -> None:
    with pytest.raises(SessionNotFound) as caught:
        store.session(42)
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, MedctlError)
    assert str(caught.value).startswith("there is no session 42")
    for call in (
        lambda: store.events(42),
        lambda: store.record_event(42, "pause", at_s=0.0),
        lambda: store.end_session(42, reason="stop", massage_s=0.0, max_intensity=0),
        lambda: store.add_feedback(42, Feedback(1, "same", False)),
    ):
        with pytest.raises(SessionNotFound):
            call()


def test_times_must_be_timezone_aware(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        begin(store, datetime(2025, 1, 15, 12, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.frequency_warnings(datetime(2025, 1, 15, 12, 0))


def test_nonsense_numbers_and_kinds_are_refused(store: HistoryStore) -> None:
    session_id = begin(store)
    with pytest.raises(ValueError, match="at_s"):
        store.record_event(session_id, "status", at_s=float("nan"))
    with pytest.raises(ValueError, match="kind"):
        store.record_event(session_id, "", at_s=1.0)
    with pytest.raises(ValueError, match="planned_s"):
        begin(store, planned_s=float("inf"))


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"relief": -1}, "relief"),
        ({"relief": 11}, "relief"),
        ({"relief": 5.5}, "relief"),
        ({"relief": True}, "relief"),
        ({"soreness": "awful"}, "soreness"),
        ({"sharp_pain": "no"}, "sharp_pain"),
        ({"inflammation": 1}, "inflammation"),
        ({"note": None}, "note"),
    ],
)
def test_feedback_is_validated(fields: dict[str, Any], complaint: str) -> None:
    values: dict[str, Any] = {"relief": 5, "soreness": "same", "sharp_pain": False, **fields}
    with pytest.raises(ValueError, match=complaint):
        Feedback(**values)


def test_feedback_edges_are_accepted() -> None:
    assert Feedback(0, "better", False).relief == 0
    assert Feedback(10, "worse", True, True, "").relief == 10


# -- rule R9: frequency --------------------------------------------------------------------


def codes(store: HistoryStore, now: datetime) -> list[str]:
    return [warning.code for warning in store.frequency_warnings(now)]


def test_no_history_no_warning(store: HistoryStore) -> None:
    assert store.frequency_warnings(T0) == []


def test_same_day_warns_and_yesterday_does_not(store: HistoryStore, local_tz: Callable[[str], None]) -> None:
    begin(store, datetime(2025, 1, 14, 23, 59, tzinfo=UTC))
    assert codes(store, datetime(2025, 1, 15, 0, 1, tzinfo=UTC)) == []
    begin(store, datetime(2025, 1, 15, 0, 0, tzinfo=UTC))
    (warning,) = store.frequency_warnings(datetime(2025, 1, 15, 23, 59, tzinfo=UTC))
    assert warning.code == "same_day"
    assert "today" in warning.message and "00:00" in warning.message and "tomorrow" in warning.message


def test_the_day_boundary_is_local_midnight(store: HistoryStore, local_tz: Callable[[str], None]) -> None:
    local_tz("EST+5")  # UTC-5 all year
    begin(store, datetime(2025, 1, 15, 4, 59, tzinfo=UTC))  # 23:59 on the 14th, local
    assert codes(store, datetime(2025, 1, 15, 14, 0, tzinfo=UTC)) == []
    begin(store, datetime(2025, 1, 15, 5, 0, tzinfo=UTC))  # 00:00 on the 15th, local
    assert codes(store, datetime(2025, 1, 15, 14, 0, tzinfo=UTC)) == ["same_day"]
    assert codes(store, datetime(2025, 1, 16, 4, 59, tzinfo=UTC)) == ["same_day"]
    assert codes(store, datetime(2025, 1, 16, 5, 0, tzinfo=UTC)) == []


def test_five_sessions_in_seven_days_warn_and_four_do_not(store: HistoryStore, local_tz: Callable[[str], None]) -> None:
    for days in (6, 5, 3, 2):
        begin(store, T0 - timedelta(days=days))
    assert codes(store, T0) == []
    begin(store, T0 - timedelta(days=1))
    (warning,) = store.frequency_warnings(T0)
    assert warning.code == "weekly_limit"
    assert "5 sessions in the last 7 days" in warning.message and "rest day" in warning.message


def test_the_week_is_the_seven_days_before_now(store: HistoryStore, local_tz: Callable[[str], None]) -> None:
    begin(store, T0 - timedelta(days=7))  # exactly a week ago: out of the window
    for days in (5, 3, 2, 1):
        begin(store, T0 - timedelta(days=days))
    assert codes(store, T0) == []
    assert codes(store, T0 - timedelta(seconds=1)) == ["weekly_limit"]


def test_sessions_dated_after_now_count(store: HistoryStore, local_tz: Callable[[str], None]) -> None:
    """The clock was set back: a session recorded "later" than now still happened."""
    begin(store, T0 + timedelta(days=3))
    assert codes(store, T0) == ["same_day"]
    for hours in (1, 2, 3, 4):
        begin(store, T0 + timedelta(days=30, hours=hours))
    assert codes(store, T0) == ["same_day", "weekly_limit"]


def test_feedback_dated_after_now_counts(store: HistoryStore, local_tz: Callable[[str], None]) -> None:
    session_id = begin(store, T0 - timedelta(days=3))
    store.add_feedback(session_id, Feedback(3, "same", True), now=T0 + timedelta(days=1))
    assert codes(store, T0) == ["recent_worse"]


def test_simulated_sessions_are_recorded_as_such_and_left_out_of_r9(
    store: HistoryStore, local_tz: Callable[[str], None]
) -> None:
    demos = [begin(store, T0 - timedelta(hours=hours), simulated=True) for hours in (1, 2, 3, 4, 5, 6)]
    store.add_feedback(demos[0], Feedback(1, "worse", True, True), now=T0 - timedelta(minutes=30))
    assert codes(store, T0) == []
    real = begin(store, T0 - timedelta(hours=7))
    assert codes(store, T0) == ["same_day"]
    assert [record.simulated for record in store.sessions()] == [True] * 6 + [False]
    assert [record.id for record in store.sessions(include_simulated=False)] == [real]
    assert store.session(demos[0]).simulated


def test_a_history_from_before_the_simulated_flag_reads_as_real_sessions(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
        with HistoryStore(db):
            pass
    session_id = (
        raw(db)
        .execute(
            "INSERT INTO sessions (started_at, device, device_model, planned_s, heat, pid, host)"
            " VALUES ('2025-01-15T12:00:00.000000+00:00', 'serial:///dev/ttyUSB0', 'M', 300.0, 0, 1, 'h')"
        )
        .lastrowid
    )
    before = db.read_bytes()
    with HistoryStore(db, read_only=True) as store:
        (record,) = store.sessions(include_simulated=False)
        assert (record.id, record.simulated) == (session_id, False)
    assert db.read_bytes() == before
    with HistoryStore(db) as store:  # a read-write open brings it up to date
        assert store.session(record.id).simulated is False
    assert raw(db).execute("PRAGMA user_version").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("feedback", "sign"),
    [
        (Feedback(2, "worse", False), "worse soreness"),
        (Feedback(5, "better", True), "sharp pain"),
        (Feedback(5, "same", False, inflammation=True), "inflammation"),
    ],
)
def test_feedback_of_overdoing_it_warns_for_48_hours(
    store: HistoryStore, local_tz: Callable[[str], None], feedback: Feedback, sign: str
) -> None:
    session_id = begin(store, T0 - timedelta(days=3))
    store.add_feedback(session_id, feedback, now=T0 - timedelta(days=3))
    assert codes(store, T0 - timedelta(days=3) + timedelta(hours=49)) == []
    (warning,) = store.frequency_warnings(T0 - timedelta(days=3) + timedelta(hours=47))
    assert warning.code == "recent_worse"
    assert sign in warning.message and "rest" in warning.message and "healthcare provider" in warning.message


def test_good_feedback_does_not_warn(store: HistoryStore, local_tz: Callable[[str], None]) -> None:
    session_id = begin(store, T0 - timedelta(days=2))
    store.add_feedback(session_id, Feedback(9, "same", False), now=T0 - timedelta(hours=47))
    assert codes(store, T0) == []


def test_interrupted_sessions_count(db: Path, local_tz: Callable[[str], None]) -> None:
    with HistoryStore(db) as store:
        for days in (6, 4, 3, 2, 0):
            begin(store, T0 - timedelta(days=days) - timedelta(hours=1))
    raw(db).execute("UPDATE sessions SET pid = ?", (dead_pid(),))
    with HistoryStore(db) as store:
        assert {record.state for record in store.sessions()} == {"interrupted"}
        assert codes(store, T0) == ["same_day", "weekly_limit"]


def test_every_rule_can_warn_at_once(store: HistoryStore, local_tz: Callable[[str], None]) -> None:
    for hours in (100, 80, 60, 30, 2):
        last = begin(store, T0 - timedelta(hours=hours))
    store.add_feedback(last, Feedback(1, "worse", True, True), now=T0 - timedelta(hours=1))
    warnings = store.frequency_warnings(T0)
    assert [warning.code for warning in warnings] == ["same_day", "weekly_limit", "recent_worse"]
    assert "worse soreness and sharp pain and inflammation" in warnings[2].message


# -- export --------------------------------------------------------------------------------


def _exported_history(store: HistoryStore) -> tuple[int, int]:
    first = begin(store)
    store.record_event(first, "phase", at_s=0.0, phase="warm_up", intensity=1, heat=1, now=T0)
    store.record_override(first, "R9", "second session today", now=T0)
    store.end_session(first, reason="completed", massage_s=300.0, max_intensity=3, now=T0 + timedelta(minutes=5))
    store.add_feedback(first, Feedback(7, "better", False, note='said "ahh", then, relaxed'), now=T0)
    second = begin(store, T0 + timedelta(days=1), heat=False, target_intensity=None)
    return first, second


def test_json_export_has_sessions_events_and_feedback(store: HistoryStore) -> None:
    first, second = _exported_history(store)
    exported = json.loads(store.export_json(store.sessions()))
    assert [item["id"] for item in exported] == [second, first]
    newer, older = exported
    assert older["started_at"] == "2025-01-15T12:00:00.000000+00:00"
    assert older["ended_at"] == "2025-01-15T12:05:00.000000+00:00"
    assert (older["state"], older["heat"], older["max_intensity"]) == ("ended", True, 3)
    assert older["overrides"] == ["R9: second session today"]
    assert older["feedback"] == {
        "relief": 7,
        "soreness": "better",
        "sharp_pain": False,
        "inflammation": False,
        "note": 'said "ahh", then, relaxed',
        "at": "2025-01-15T12:00:00.000000+00:00",
    }
    assert [(event["kind"], event["phase"], event["detail"]) for event in older["events"]] == [
        ("phase", "warm_up", None),
        ("override", None, "R9: second session today"),
    ]
    assert older["events"][0]["wall"] == "2025-01-15T12:00:00.000000+00:00"
    assert (newer["feedback"], newer["events"], newer["ended_at"], newer["target_intensity"]) == (None, [], None, None)


def test_csv_export_has_one_row_per_session_with_feedback(store: HistoryStore) -> None:
    first, second = _exported_history(store)
    text = store.export_csv(store.sessions())
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["id"] for row in rows] == [str(second), str(first)]
    newer, older = rows
    assert older["started_at"] == "2025-01-15T12:00:00.000000+00:00"
    assert (older["state"], older["heat"], older["massage_s"], older["overrides"]) == (
        "ended",
        "1",
        "300.0",
        "R9: second session today",
    )
    assert (older["relief"], older["soreness"], older["sharp_pain"], older["note"]) == (
        "7",
        "better",
        "0",
        'said "ahh", then, relaxed',
    )
    assert (newer["relief"], newer["note"], newer["ended_at"], newer["heat"]) == ("", "", "", "0")


def test_exports_give_seconds_and_degrees_to_a_tenth(store: HistoryStore) -> None:
    session_id = begin(store)
    store.record_event(session_id, "status", at_s=3.7471689829999377, pad_temp_c=38.04999, now=T0)
    store.end_session(session_id, reason="completed", massage_s=3.7471689829999377, max_intensity=1, now=T0)
    (row,) = csv.DictReader(io.StringIO(store.export_csv(store.sessions())))
    assert row["massage_s"] == "3.7"
    (item,) = json.loads(store.export_json(store.sessions()))
    assert item["massage_s"] == 3.7 and (item["events"][0]["at_s"], item["events"][0]["pad_temp_c"]) == (3.7, 38.0)


def test_exporting_nothing_gives_an_empty_list_and_a_header(store: HistoryStore) -> None:
    assert json.loads(store.export_json([])) == []
    assert store.export_csv([]).splitlines() == [",".join(CSV_COLUMNS)]


def test_arbitrary_text_survives_a_round_trip(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:

        @settings(max_examples=60, deadline=None)
        @given(detail=st.text(), note=st.text(), reason=st.text())
        def round_trip(detail: str, note: str, reason: str) -> None:
            session_id = begin(store)
            store.record_event(session_id, "status", at_s=1.0, detail=detail, now=T0)
            store.record_override(session_id, "R9", reason, now=T0)
            store.add_feedback(session_id, Feedback(5, "same", False, note=note), now=T0)
            record = store.session(session_id)
            assert store.events(session_id)[0].detail == detail
            assert record.overrides == (f"R9: {reason}",)
            assert record.feedback is not None and record.feedback.note == note
            (exported,) = json.loads(store.export_json([record]))
            assert (exported["events"][0]["detail"], exported["feedback"]["note"]) == (detail, note)
            (row,) = csv.DictReader(io.StringIO(store.export_csv([record]), newline=""))
            assert (row["note"], row["overrides"]) == (note, f"R9: {reason}")

        round_trip()


# -- the writer thread (what a running session writes through) -----------------------------


class Locker:
    """Another connection holding the write lock, as another program would (``BEGIN IMMEDIATE``)."""

    def __init__(self, db: Path) -> None:
        self.conn = raw(db)

    def __enter__(self) -> Locker:
        self.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


HANG_S = 30.0  # only catches a hang; nothing here waits for it


async def test_writes_queued_while_locked_are_written_in_order_when_the_lock_clears(
    store: HistoryStore, db: Path
) -> None:
    writer = store.writer()
    told: list[str] = []
    writer.on_problem(told.append)
    session_id = await writer.begin_session(
        device="tcp://m:1", device_model="M", planned_s=300.0, heat=False, target_intensity=None, now=T0
    )
    with Locker(db):
        for n in range(50):
            writer.record_event(session_id, "status", at_s=float(n), intensity=n % 5 + 1, now=T0)  # returns at once
        writer.end_session(session_id, reason="stopped", massage_s=49.0, max_intensity=5, now=T0)
        assert not writer.wait_written(0.3)  # still locked: nothing could be written
        assert store.events(session_id) == []
    assert await writer.flush(HANG_S)
    assert [event.at_s for event in store.events(session_id)] == [float(n) for n in range(50)]
    assert store.session(session_id).state == "ended"
    await asyncio.sleep(0)  # the notice is delivered on the loop
    assert told == [history_writer.BUSY_TEXT] and writer.lost == 0


async def test_a_new_session_id_waits_for_the_lock_and_gives_up_with_a_sentence(store: HistoryStore, db: Path) -> None:
    writer = store.writer()
    with Locker(db):
        with pytest.raises(HistoryError, match="busy"):
            await writer.begin_session(
                device="d", device_model="M", planned_s=300.0, heat=False, target_intensity=None, timeout_s=0.3
            )
    assert await writer.begin_session(device="d", device_model="M", planned_s=300.0, heat=False, target_intensity=None)
    assert writer.failure is None  # a lock is not a failure: the writer goes on


async def test_a_full_queue_keeps_the_end_counts_the_rest_and_says_so_once(db: Path) -> None:
    with HistoryStore(db) as store:
        session_id = begin(store)
    writer = HistoryWriter(db, max_pending=3).start()
    told: list[str] = []
    writer.on_problem(told.append)
    try:
        with Locker(db):
            for n in range(8):
                writer.record_event(session_id, "status", at_s=float(n), now=T0)
            writer.end_session(session_id, reason="completed", massage_s=8.0, max_intensity=1, now=T0)
            assert writer.lost == 5
        assert await writer.flush(HANG_S)
        writer.record_event(session_id, "after", at_s=9.0, now=T0)
        assert await writer.flush(HANG_S)
    finally:
        writer.close()
    await asyncio.sleep(0)
    with HistoryStore(db) as store:
        events = store.events(session_id)
        assert store.session(session_id).state == "ended"
    assert [(e.kind, e.at_s) for e in events] == [("status", 0.0), ("status", 1.0), ("status", 2.0),
                                                  ("gap", 9.0), ("after", 9.0)]  # fmt: skip
    assert events[3].detail is not None and events[3].detail.startswith("5 events not recorded")
    assert told.count(history_writer.FULL_TEXT) == 1 and writer.lost == 5


async def test_a_failing_write_is_told_once_and_later_writes_are_dropped(store: HistoryStore) -> None:
    writer = store.writer()
    told: list[str] = []
    writer.on_problem(told.append)
    session_id = await writer.begin_session(
        device="d", device_model="M", planned_s=300.0, heat=False, target_intensity=None
    )
    writer._call(lambda conn: conn.execute("PRAGMA query_only = ON"))
    for n in range(3):
        writer.record_event(session_id, "status", at_s=float(n))
    assert await writer.flush(HANG_S)
    await asyncio.sleep(0)
    assert len(told) == 1 and told[0].startswith("history is not being saved") and "read-only" in told[0]
    assert writer.failure is not None and writer.lost == 3
    assert store.writer() is not writer  # the next session gets a fresh writer
    assert store.events(session_id) == []


def test_close_writes_what_is_queued_and_abandons_it_only_after_its_timeout(db: Path) -> None:
    with HistoryStore(db) as store:
        session_id = begin(store)
    writer = HistoryWriter(db).start()
    writer.record_event(session_id, "status", at_s=1.0)
    writer.close()
    late = HistoryWriter(db).start()
    with Locker(db):
        late.record_event(session_id, "status", at_s=2.0)
        late.close(timeout_s=0.2)
    assert late.lost == 1
    with HistoryStore(db) as store:
        assert [event.at_s for event in store.events(session_id)] == [1.0]


async def test_r9_is_read_on_the_writer_thread_after_queued_writes(store: HistoryStore) -> None:
    writer = store.writer()
    session_id = await writer.begin_session(
        device="d", device_model="M", planned_s=300.0, heat=False, target_intensity=None, now=T0
    )
    assert [w.code for w in await writer.frequency_warnings(T0 + timedelta(minutes=10))] == ["same_day"]
    demo = await writer.begin_session(
        device="sim://", device_model="M", planned_s=300.0, heat=False, target_intensity=None, simulated=True, now=T0
    )
    assert store.session(demo).simulated and not store.session(session_id).simulated


def test_the_store_is_at_the_default_path_when_none_is_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDCTL_DB", str(tmp_path / "default.sqlite3"))
    with HistoryStore() as store:
        assert store.path == tmp_path / "default.sqlite3"
    assert store.path.is_file()


# -- rule R9 as a pure function --------------------------------------------------------------


def test_r9_rule_counts_only_the_window_and_clamps_the_future(local_tz: Callable[[str], None]) -> None:
    week_ago = T0 - timedelta(days=7)
    assert frequency_warnings([week_ago], [], T0) == []
    assert [w.code for w in frequency_warnings([T0 + timedelta(days=400)], [], T0)] == ["same_day"]
    bad = BadFeedback(T0 - timedelta(hours=47), ("sharp pain",))
    assert [w.code for w in frequency_warnings([], [bad], T0)] == ["recent_worse"]
    assert frequency_warnings([], [BadFeedback(T0 - timedelta(hours=48), ("sharp pain",))], T0) == []
    assert unreadable_warning("it is damaged.").code == "unreadable"


# -- the command line --------------------------------------------------------------------------


def medctl_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "medctl", *args], cwd=ROOT, capture_output=True, text=True)


def test_medctl_history_leaves_out_simulator_sessions_unless_asked(db: Path) -> None:
    with HistoryStore(db) as store:
        real = begin(store, device="serial:///dev/ttyUSB0")
        demo = begin(store, T0 + timedelta(hours=1), simulated=True)
    listed = medctl_cli("history", "--db", str(db), "--json")
    assert [item["id"] for item in json.loads(listed.stdout)] == [real]
    everything = medctl_cli("history", "--db", str(db), "--json", "--all")
    assert [item["id"] for item in json.loads(everything.stdout)] == [demo, real]


def test_medctl_feedback_of_sharp_pain_gives_the_article_s_advice_at_once(db: Path) -> None:
    with HistoryStore(db) as store:
        session_id = begin(store)
    told = medctl_cli(
        "feedback", str(session_id), "--relief", "3", "--soreness", "same", "--sharp-pain", "--db", str(db)
    )
    assert told.returncode == 0, told.stderr
    assert "sharp pain" in told.stdout and "couple of days" in told.stdout
    calm = medctl_cli("feedback", str(session_id), "--relief", "8", "--soreness", "better", "--yes", "--db", str(db))
    assert calm.returncode == 0 and "couple of days" not in calm.stdout


def test_a_second_medctl_feedback_asks_before_replacing(db: Path) -> None:
    with HistoryStore(db) as store:
        session_id = begin(store)
    first = medctl_cli("feedback", str(session_id), "--relief", "3", "--soreness", "same", "--db", str(db))
    assert first.returncode == 0, first.stderr
    again = medctl_cli("feedback", str(session_id), "--relief", "9", "--soreness", "better", "--db", str(db))
    assert again.returncode == 2 and "already has feedback (relief 3, same)" in again.stderr
    assert "--yes" in again.stderr
    with HistoryStore(db) as store:
        kept = store.session(session_id).feedback
    assert kept is not None and kept.relief == 3


def test_history_db_naming_a_folder_says_so(tmp_path: Path) -> None:
    told = medctl_cli("history", "--db", str(tmp_path))
    assert told.returncode == 2 and "is a folder" in told.stderr and "No sessions" not in told.stdout


def test_cli_feedback_asks_the_same_four_questions_as_the_tui(monkeypatch: pytest.MonkeyPatch) -> None:
    from medctl.cli import session as cli_session

    asked: list[str] = []
    monkeypatch.setattr(cli_session, "ask_int", lambda question, low, high: asked.append(question) or 6)
    monkeypatch.setattr(cli_session, "ask_choice", lambda question, choices: asked.append(question) or "worse")
    monkeypatch.setattr(
        cli_session, "ask_yes_no", lambda question: asked.append(question) or "inflammation" in question
    )
    feedback = cli_session.ask_feedback()
    assert (feedback.relief, feedback.soreness, feedback.sharp_pain, feedback.inflammation) == (6, "worse", False, True)
    assert len(asked) == 4


def test_feedback_after_a_cli_session_gives_the_advice_at_once(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from medctl.cli import session as cli_session

    monkeypatch.setattr(cli_session, "ask_feedback", lambda: Feedback(4, "same", False, inflammation=True))
    cli_session._collect_feedback(store, begin(store))
    said = capsys.readouterr().out
    assert "Feedback saved" in said and "inflammation" in said and "couple of days" in said


def test_a_new_history_is_private_health_data(tmp_path: Path) -> None:
    """SECURITY.md: the history, its WAL and its folder are readable by the user alone."""
    path = tmp_path / "fresh" / "history.sqlite3"
    with HistoryStore(path) as store:
        store.writer()  # a second connection: the WAL and shared memory files exist now
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            assert stat.S_IMODE(name.stat().st_mode) == 0o600, name


def test_an_older_world_readable_history_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path):
        pass
    path.chmod(0o644)
    with HistoryStore(path):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
