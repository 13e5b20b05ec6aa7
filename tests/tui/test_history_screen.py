"""The history screen's chart and export, and the pure helpers behind the chart."""

from __future__ import annotations

import csv
import json
import stat
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from medctl.history import Feedback, HistoryStore
from medctl.tui.app import MedctlApp
from medctl.tui.history import HistoryScreen, sessions_per_week
from medctl.tui.widgets import weekly_bars

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def record_sessions(db: Path, days_ago: list[float]) -> None:
    with HistoryStore(db) as history:
        for days in days_ago:
            start = NOW - timedelta(days=days)
            sid = history.begin_session(
                device="sim://", device_model="NeckEase 2", planned_s=300, heat=False, target_intensity=None, now=start
            )
            history.end_session(sid, reason="completed", massage_s=300, max_intensity=2, now=start)
            history.add_feedback(sid, Feedback(7, "better", False), now=start)


@pytest.mark.looptime
async def test_history_lists_sessions_and_exports_them(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path, utc_local_time: None
) -> None:
    db = tmp_path / "history.sqlite3"
    record_sessions(db, [1, 2, 9])
    exports = tmp_path / "exports"
    exports.mkdir()
    app = make_app(connector=tui.SimConnector(), db_path=db, export_dir=exports, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l")
        screen: HistoryScreen = await tui.on_screen(pilot, HistoryScreen)
        assert screen.query_one(DataTable).row_count == 3
        chart = str(screen.query_one("#weekly", Static).content)
        assert chart.splitlines()[-1].rstrip().endswith("2") and chart.splitlines()[-2].rstrip().endswith("1")
        await pilot.press("j", "v")
        await pilot.pause()
        assert "Exported 3 sessions to" in str(screen.query_one("#history-message", Static).content)
    (json_file,) = exports.glob("*.json")
    (csv_file,) = exports.glob("*.csv")
    assert stat.S_IMODE(json_file.stat().st_mode) == stat.S_IMODE(csv_file.stat().st_mode) == 0o600  # health data
    assert [item["id"] for item in json.loads(json_file.read_text())] == [1, 2, 3]  # newest first
    rows = list(csv.DictReader(csv_file.read_text().splitlines()))
    assert [row["relief"] for row in rows] == ["7", "7", "7"]


@pytest.mark.looptime
async def test_history_says_the_demo_sessions_it_leaves_out(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path, utc_local_time: None
) -> None:
    db = tmp_path / "history.sqlite3"
    record_sessions(db, [1])
    with HistoryStore(db) as history:
        for days in (2, 3):
            history.begin_session(
                device="sim://",
                device_model="NeckEase 2",
                planned_s=300,
                heat=False,
                target_intensity=None,
                simulated=True,
                now=NOW - timedelta(days=days),
            )
    app = make_app(connector=tui.SimConnector(), db_path=db, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l")
        screen: HistoryScreen = await tui.on_screen(pilot, HistoryScreen)
        assert screen.query_one(DataTable).row_count == 1
        said = str(screen.query_one("#history-message", Static).content)
        assert said == "2 demo sessions on the simulator not shown (medctl history --all lists them)."


def test_sessions_per_week_counts_local_weeks_up_to_today() -> None:
    class Started:
        def __init__(self, when: datetime) -> None:
            self.started_at = when

    friday = date(2025, 3, 14)
    sessions = [Started(NOW - timedelta(days=d)) for d in (0, 1, 4, 7, 60)]
    weeks = sessions_per_week(sessions, friday, weeks=3)  # type: ignore[arg-type]
    assert weeks == [("24 Feb", 0), ("03 Mar", 1), ("10 Mar", 3)]


def test_weekly_bars_mark_the_limit_and_colour_weeks_past_it() -> None:
    text = weekly_bars([("03 Mar", 2), ("10 Mar", 7)], limit=5, width=14)
    lines = text.plain.splitlines()
    assert "more than 5 a week is too many" in lines[0]
    assert lines[1].startswith("  03 Mar  ██") and "┊" in lines[1] and lines[1].endswith("2")
    assert lines[2].endswith("7") and "┊" not in lines[2]
    assert any(span.style == "red" for span in text.spans)
