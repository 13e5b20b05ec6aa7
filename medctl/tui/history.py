"""The history screen: sessions per week and the feedback's trend as charts, every session in a table, export.

Reads the history through :class:`HistoryStore` (sessions, export_json, export_csv); exports
are written as files in the export folder (the current directory unless told otherwise) and
their paths announced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from medctl.errors import MedctlError
from medctl.formatting import clock_text, ended_short, feedback_text
from medctl.history import WEEKLY_LIMIT, Feedback, HistoryStore, SessionRecord
from medctl.localfiles import ensure_private_directory, write_atomically
from medctl.tui.widgets import SORENESS_SCORE, TrendChart, WeekFeedback, WeeklyChart

#: The chart shows this many weeks, the current one last.
CHART_WEEKS = 8
COLUMNS = ("#", "Started", "Time", "Max", "Heat", "Ended", "Feedback")


class HistoryScreen(Screen[None]):
    """Recorded sessions: how many per week, each one, and export to JSON or CSV."""

    SUB_TITLE = "History"

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("j", "export('json')", "Export JSON"),
        Binding("v", "export('csv')", "Export CSV"),
    ]

    def __init__(
        self, history: HistoryStore | None, *, now: Callable[[], datetime], export_dir: Path, problem: str = ""
    ) -> None:
        super().__init__()
        self._history = history
        self._now = now
        self._export_dir = export_dir
        self._problem = problem
        self.sessions: list[SessionRecord] = []
        self._demos = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="charts"):
            yield WeeklyChart(id="weekly")
            yield TrendChart(id="trends")
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield Static("", id="history-message", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        self.sessions, problem = self._load()
        today = self._now().astimezone().date()
        self.query_one(WeeklyChart).show(sessions_per_week(self.sessions, today), limit=WEEKLY_LIMIT)
        self.query_one(TrendChart).show(feedback_per_week(self.sessions, today))
        table.add_rows(table_row(record) for record in self.sessions)
        self._say(problem or self._summary())
        table.focus()

    def _load(self) -> tuple[list[SessionRecord], str]:
        """The recorded sessions, newest first, and what went wrong reading them; demos on the
        simulator are not massage, so they are left out here (and of the frequency advice)."""
        if self._history is None:
            return [], self._problem or "The history is not available."
        try:
            everything = self._history.sessions(include_simulated=True)
        except MedctlError as exc:
            return [], str(exc)
        self._demos = sum(record.simulated for record in everything)
        return [record for record in everything if not record.simulated], ""

    def _summary(self) -> str:
        """Says what is not shown: the demo sessions, and how to list them."""
        shown = "" if self.sessions else "No sessions recorded yet."
        if not self._demos:
            return shown
        demos = "1 demo session" if self._demos == 1 else f"{self._demos} demo sessions"
        hidden = f"{demos} on the simulator not shown (medctl history --all lists them)."
        return f"{shown} {hidden}".strip()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "export":
            return self._history is not None and bool(self.sessions)
        return True

    def action_export(self, form: str) -> None:
        """Write every session to a JSON (with events) or CSV file in the export folder."""
        if self._history is None:
            return
        stamp = self._now().astimezone().strftime("%Y%m%d-%H%M%S")
        path = self._export_dir / f"medctl-history-{stamp}.{form}"
        try:
            text = (
                self._history.export_json(self.sessions) if form == "json" else self._history.export_csv(self.sessions)
            )
            ensure_private_directory(self._export_dir)
            write_atomically(path, text.encode("utf-8"))  # 0600: it is health data
        except (OSError, MedctlError) as exc:
            self._say(f"Export failed: {getattr(exc, 'strerror', None) or exc}")
            return
        self._say(f"Exported {len(self.sessions)} sessions to {path}")

    def _say(self, text: str) -> None:
        self.query_one("#history-message", Static).update(text)


def sessions_per_week(
    sessions: Sequence[SessionRecord], today: date, weeks: int = CHART_WEEKS
) -> list[tuple[str, int]]:
    """(week label, sessions started that week) for the *weeks* weeks up to *today*'s, Monday first, local time."""
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    counts = dict.fromkeys(mondays, 0)
    for record in sessions:
        started = record.started_at.astimezone().date()
        monday = started - timedelta(days=started.weekday())
        if monday in counts:
            counts[monday] += 1
    return [(f"{monday:%d %b}", counts[monday]) for monday in mondays]


def feedback_per_week(sessions: Sequence[SessionRecord], today: date, weeks: int = CHART_WEEKS) -> list[WeekFeedback]:
    """The mean relief and soreness of each of the *weeks* weeks up to *today*'s (None: no feedback that week)."""
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    given: dict[date, list[Feedback]] = {monday: [] for monday in mondays}
    for record in sessions:
        started = record.started_at.astimezone().date()
        monday = started - timedelta(days=started.weekday())
        if monday in given and record.feedback is not None:
            given[monday].append(record.feedback)
    return [_week_feedback(f"{monday:%d %b}", given[monday]) for monday in mondays]


def _week_feedback(label: str, feedback: Sequence[Feedback]) -> WeekFeedback:
    if not feedback:
        return WeekFeedback(label, None, None)
    relief = sum(f.relief for f in feedback) / len(feedback)
    soreness = sum(SORENESS_SCORE[f.soreness] for f in feedback) / len(feedback)
    return WeekFeedback(label, relief, soreness)


def table_row(record: SessionRecord) -> tuple[str, ...]:
    """One session as the table shows it."""
    return (
        str(record.id),
        f"{record.started_at.astimezone():%Y-%m-%d %H:%M}",
        clock_text(record.massage_s),
        str(record.max_intensity),
        "yes" if record.heat else "no",
        ended_short(record.end_reason or record.state),
        feedback_text(record.feedback),
    )
