"""The summary screen: how the session ended, the article's advice when it applies, and feedback.

Feedback (relief, soreness, sharp pain, inflammation) is saved to the history with
:meth:`HistoryStore.add_feedback`; worse soreness, sharp pain or inflammation then feeds the
frequency advice (R9) of the next sessions, and the article's advice is shown at once. When
the link was lost, the screen says what happened and what the massager did, and ``r`` reconnects.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from medctl.errors import MedctlError
from medctl.formatting import ended_text
from medctl.history import Feedback, HistoryStore, Soreness
from medctl.session import SessionSummary
from medctl.session.engine import LOWERED
from medctl.session.rules.frequency import overdone_advice
from medctl.tui.widgets import DeviceBar, Stepper

RELIEF = [(str(n), n) for n in range(11)]
SORENESS: list[tuple[str, Soreness]] = [("better", "better"), ("same", "same"), ("worse", "worse")]
YES_NO = [("no", False), ("yes", True)]


class SummaryScreen(Screen[None]):
    """After a session: what happened, and how it felt."""

    SUB_TITLE = "Summary"

    BINDINGS = [
        Binding("enter", "save", "Save feedback"),
        Binding("escape", "skip", "Skip"),
        Binding("d", "app.choose_device", "Device"),
        Binding("l", "app.history", "History"),
        Binding("m", "app.techniques", "Techniques"),
        Binding("up", "app.focus_previous", "Previous", show=False),
        Binding("down", "app.focus_next", "Next", show=False),
    ]

    class Done(Message):
        """The person is done with this summary."""

    def __init__(self, record: SessionSummary, history: HistoryStore | None) -> None:
        super().__init__()
        self.record = record
        self._history = history
        self.saved = False

    def compose(self) -> ComposeResult:
        record = self.record
        yield Header()
        yield DeviceBar()
        with VerticalScroll(id="summary-body"):
            yield Static(ended_text(record.end_reason.value, record.massage_s), id="headline", markup=False)
            yield Static(
                f"Highest intensity {record.max_intensity}"
                + (f", 'too much' {record.too_much_count}×" if record.too_much_count else "")
                + ". The massager is stopped.",
                id="facts",
                markup=False,
            )
            yield Static(record.advice or "", id="advice", markup=False)
            yield Static(self._what_happened(), id="notices", markup=False)
            with Vertical(id="feedback"):
                yield Static("How was it? ↑↓ move, ←→ change, enter saves, esc skips", id="feedback-intro")
                yield Stepper("Relief (0–10)", RELIEF, value=5, id="relief")
                yield Stepper("Soreness", SORENESS, value="same", hint="compared with before", id="soreness")
                yield Stepper("Sharp pain", YES_NO, value=False, id="sharp-pain")
                yield Stepper("Inflammation", YES_NO, value=False, id="inflammation")
            yield Static("", id="summary-message", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#advice").display = bool(self.record.advice)
        self.query_one("#notices").display = bool(self._what_happened())  # no empty row with its margin
        can_save = self._history is not None and self.record.session_id is not None
        self.query_one("#feedback").display = can_save
        if can_save:
            self.query_one("#relief").focus()
        else:
            self.query_one("#summary-message", Static).update("This session was not recorded: esc to go on.")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return self._history is not None and self.record.session_id is not None and not self.saved
        return True

    def action_save(self) -> None:
        if self._history is None or self.record.session_id is None:
            return
        feedback = Feedback(
            relief=self.query_one("#relief", Stepper).value,
            soreness=self.query_one("#soreness", Stepper).value,
            sharp_pain=self.query_one("#sharp-pain", Stepper).value,
            inflammation=self.query_one("#inflammation", Stepper).value,
        )
        try:
            self._history.add_feedback(self.record.session_id, feedback)
        except MedctlError as exc:
            self.query_one("#summary-message", Static).update(f"Feedback not saved: {exc}")
            return
        self.saved = True
        self.app.notify("Feedback saved. Thank you.", markup=False)
        try:
            demo = self._history.session(self.record.session_id).simulated
        except MedctlError:
            demo = False  # unreadable now: the stricter advice
        advice = overdone_advice(feedback.overdone, demo=demo)
        if advice is None:
            self.post_message(self.Done())
            return
        self.query_one("#advice", Static).update(advice)  # at once, and it stays until esc
        self.query_one("#advice").display = True
        self.query_one("#feedback").display = False
        self.query_one("#summary-message", Static).update("Feedback saved. esc to go on.")

    def action_skip(self) -> None:
        self.post_message(self.Done())

    def _what_happened(self) -> str:
        # "lowered to 2; tell us again…" asks for something only a running session can take
        notices = [n for n in self.record.notices if n != self.record.advice and not n.startswith(LOWERED)]
        return "\n".join(f"• {n}" for n in notices[-4:])
