"""The safety check screen: the article's questions one at a time, answered with y or n (R8).

Every question needs an explicit answer; there is no default. When the last one is answered
the library decides (:meth:`SafetyCheck.decision`): a pass is handed to the app as
:class:`SafetyScreen.Passed`, anything else ends here, in the library's advice — with red
flags, to see a doctor — and no way on to a session.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from medctl.session import QUESTIONS, SafetyCheck, SafetyQuestion
from medctl.tui.widgets import DeviceBar

RED_FLAG_NOTE = "A yes here means: see a doctor before massaging your neck."


class SafetyScreen(Screen[None]):
    """Before the first start: a short safety check while the massager stays off."""

    TITLE = "medctl"
    SUB_TITLE = "Safety check"

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("backspace", "previous", "Previous"),
        Binding("enter", "continue", "Plan the session"),
        Binding("d", "app.choose_device", "Device"),
        Binding("l", "app.history", "History"),
        Binding("m", "app.techniques", "Techniques"),
    ]

    class Passed(Message):
        """Every answer allows a session."""

        def __init__(self, check: SafetyCheck) -> None:
            super().__init__()
            self.check = check

    def __init__(self) -> None:
        super().__init__()
        self._answers: dict[str, Any] = {}
        self._asked: list[SafetyQuestion] = []
        self._advice: str | None = None
        self._passed: SafetyCheck | None = None
        self._keys: tuple[bool, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        yield DeviceBar()
        with Vertical(id="safety-body"):
            yield Static("Before you start: a short safety check. The massager stays off.", id="safety-intro")
            yield Static("", id="safety-frequency", markup=False)
            yield Static("", id="safety-count", markup=False)
            yield Static("", id="safety-question", markup=False)
            yield Static("", id="safety-flag", markup=False)
            yield Static("", id="safety-advice", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#safety-frequency").display = False
        self._show()

    def show_frequency(self, warnings: list[str]) -> None:
        """Frequency advice (R9) before the questions, so nobody answers them all only to read it after."""
        text = "Frequency advice: " + " ".join(warnings) + " The plan asks for a reason if you go ahead."
        self.query_one("#safety-frequency", Static).update(text if warnings else "")
        self.query_one("#safety-frequency").display = bool(warnings)

    @property
    def current(self) -> SafetyQuestion | None:
        """The question waiting for an answer, or None once all are answered."""
        for question in QUESTIONS:
            if question.field not in self._answers and question.applies(self._answers):
                return question
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "answer":
            return self.current is not None
        if action == "previous":
            return bool(self._asked)
        if action == "continue":
            return self._passed is not None
        return True

    def action_answer(self, yes: bool) -> None:
        question = self.current
        if question is None:
            return
        self._answers[question.field] = yes
        self._asked.append(question)
        if self.current is None:
            self._decide()
        self._show()

    def action_continue(self) -> None:
        if self._passed is not None:
            self.post_message(self.Passed(self._passed))

    def action_previous(self) -> None:
        """Take back the last answer (and anything decided from it)."""
        if self._asked:
            del self._answers[self._asked.pop().field]
            self._advice = self._passed = None
            self._show()

    def restart(self) -> None:
        """Clear every answer: the next session starts with a fresh check."""
        self._answers.clear()
        self._asked.clear()
        self._advice = self._passed = None
        self._show()

    def _decide(self) -> None:
        answers = {q.field: self._answers.get(q.field, False) for q in QUESTIONS}
        check = SafetyCheck.from_answers(answers)
        decision = check.decision()
        self._advice = decision.message
        if decision.allowed:
            self._passed = check
            self.post_message(self.Passed(check))

    def _show(self) -> None:
        question = self.current
        if question is not None:
            total = sum(1 for q in QUESTIONS if q.applies(self._answers))
            self._set("#safety-count", f"Question {len(self._asked) + 1} of {total} — y: yes   n: no")
            self._set("#safety-question", question.text)
            self._set("#safety-flag", RED_FLAG_NOTE if question.red_flag else "")
        else:
            self._set(
                "#safety-count",
                "All questions answered — enter: plan the session" if self._passed else "No session today.",
            )
            self._set("#safety-question", "")
            self._set("#safety-flag", "")
        advice = self.query_one("#safety-advice", Static)
        self._set("#safety-advice", self._advice or "")
        advice.set_class(self._advice is not None and self._passed is None, "-refused")
        advice.set_class(self._passed is not None, "-passed")
        keys = (question is not None, bool(self._asked), self._passed is not None)
        if keys != self._keys:  # the footer is redrawn only when the keys on offer change
            self._keys = keys
            self.refresh_bindings()

    def _set(self, selector: str, text: str) -> None:
        widget = self.query_one(selector, Static)
        if widget.content != text:
            widget.update(text)
