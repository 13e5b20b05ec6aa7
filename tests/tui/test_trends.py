"""Relief and soreness over the weeks, beside the sessions per week in the History screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from medctl.history import Feedback, HistoryStore
from medctl.tui.app import MedctlApp
from medctl.tui.history import HistoryScreen, feedback_per_week
from medctl.tui.widgets import WeekFeedback, soreness_word, trend_rows

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)  # a Friday


def record(db: Path, days_ago: float, feedback: Feedback | None, *, simulated: bool = False) -> None:
    with HistoryStore(db) as history:
        start = NOW - timedelta(days=days_ago)
        sid = history.begin_session(
            device="sim://" if simulated else "tcp://massager.test:5000",
            device_model="NeckEase 2",
            planned_s=300,
            heat=False,
            target_intensity=None,
            now=start,
            simulated=simulated,
        )
        history.end_session(sid, reason="completed", massage_s=300, max_intensity=2, now=start)
        if feedback is not None:
            history.add_feedback(sid, feedback, now=start)


def test_feedback_per_week_averages_each_week_and_leaves_weeks_without_it_empty(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    record(db, 0, Feedback(8, "better", False))
    record(db, 1, Feedback(6, "better", False))
    record(db, 2, None)
    record(db, 8, Feedback(3, "worse", True))
    with HistoryStore(db) as history:
        sessions = history.sessions()
    weeks = feedback_per_week(sessions, date(2025, 3, 14), weeks=3)
    assert weeks == [
        WeekFeedback("24 Feb", None, None),
        WeekFeedback("03 Mar", 3.0, 1.0),
        WeekFeedback("10 Mar", 7.0, -1.0),
    ]


def test_the_trend_rows_say_relief_and_soreness_in_words() -> None:
    lines = trend_rows([WeekFeedback("03 Mar", 3.0, 1.0), WeekFeedback("10 Mar", None, None)]).plain.splitlines()
    assert lines[0] == "Relief (0–10) and soreness"
    assert lines[1] == " 03 Mar  ██···  3.0  worse"
    assert lines[2].startswith(" 10 Mar  ·····")
    assert [soreness_word(s) for s in (-1.0, -0.2, 0.0, 0.5)] == ["better", "same", "same", "worse"]


@pytest.mark.looptime
async def test_the_history_screen_shows_the_trend_beside_the_weekly_chart(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path, utc_local_time: None
) -> None:
    db = tmp_path / "history.sqlite3"
    record(db, 1, Feedback(9, "better", False))
    record(db, 2, Feedback(1, "worse", False), simulated=True)  # a demo on the simulator: left out
    app = make_app(connector=tui.SimConnector(), db_path=db, now=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l")
        screen: HistoryScreen = await tui.on_screen(pilot, HistoryScreen)
        trends = screen.query_one("#trends", Static)
        assert str(trends.content).splitlines()[-1] == " 10 Mar  ████·  9.0  better"
        weekly = screen.query_one("#weekly", Static)
        assert trends.region.y == weekly.region.y and trends.region.x > weekly.region.right  # side by side
        assert trends.region.right <= 80
