"""The help screen (``?``): the keys of every screen and the article's safety tips.

A modal over whatever is open, so during a session the live screen stays underneath and
space still stops the massager (the app's binding).
"""

from __future__ import annotations

from typing import Final

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from medctl.session import SAFETY_TIPS

KEYS: Final = (
    ("Everywhere", "? help · ctrl+p command palette · ctrl+q quit · d choose massager · l history · m techniques"),
    ("Safety check", "y yes · n no · backspace previous question · enter plan the session"),
    (
        "Plan",
        "↑↓ move · ←→ change · type a reason when frequency advice asks · enter start · esc back · "
        "u my usual · a repeat last · s save as my usual",
    ),
    (
        "Session",
        "space or esc STOP · + more · - less · t too much (one step lighter) · h heat up · c heat down · "
        "p pause / resume · b bell on / off · o next massage mode (a massager with modes) · "
        "k continue after a lost link came back",
    ),
    ("Summary", "↑↓ move · ←→ change · enter save feedback · esc skip · r reconnect after a lost link"),
    ("History", "↑↓ sessions · j export JSON · v export CSV · esc back"),
    ("Techniques", "←→ other technique · enter start / next step · p pause · esc back"),
)

DISCLAIMER: Final = (
    "medctl is not a medical device. If massage hurts, stop. With swelling, bruising, a recent injury, "
    "numbness or tingling in an arm, a sudden severe headache or a fever, see a doctor instead."
)


class HelpScreen(ModalScreen[None]):
    """Keys and safety tips; esc or ? closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static("Keys", classes="help-heading")
            for screen, keys in KEYS:
                yield Static(f"{screen}: {keys}", classes="help-keys", markup=False)
            yield Static("Safety tips", classes="help-heading")
            for tip in SAFETY_TIPS:
                yield Static(f"• {tip}", classes="help-tip", markup=False)
            yield Static(DISCLAIMER, id="help-disclaimer", markup=False)
            yield Static("esc or ? closes this help", id="help-close")
