"""The plan screen: 5 to 10 minutes, heat or not, an optional intensity to climb to.

Frequency advice (R9) comes from the history (:meth:`HistoryStore.frequency_warnings`) and is
shown before the start, with a field for the reason to go ahead anyway; the session engine
still has the last word and records the override. The screen hands a valid
:class:`SessionPlan` to the app as :class:`PlanScreen.Start`.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from medctl.errors import MedctlError
from medctl.history import HistoryStore
from medctl.presets import PRESET_TITLES, PresetError, PresetName, default_presets_path, load_preset, save_preset
from medctl.session import RuleViolation, SessionPlan
from medctl.session.rules import MAX_SESSION_S, MIN_SESSION_S
from medctl.session.rules.frequency import unreadable_warning
from medctl.tui.widgets import DeviceBar, Stepper

MINUTES = [(f"{m}", float(m)) for m in range(int(MIN_SESSION_S // 60), int(MAX_SESSION_S // 60) + 1)]
HEAT = [("off", False), ("on", True)]


class PlanScreen(Screen[None]):
    """Choose how long, whether to use heat, and an optional target intensity."""

    SUB_TITLE = "Plan"

    BINDINGS = [
        Binding("enter", "start", "Start"),
        Binding("escape", "back", "Back"),
        Binding("d", "app.choose_device", "Device"),
        # History and Techniques still open here; the footer keeps its 80 columns for the plan's own keys
        Binding("l", "app.history", "History", show=False),
        Binding("m", "app.techniques", "Techniques", show=False),
        Binding("u", "preset('usual')", "My usual"),
        Binding("a", "preset('last')", "Repeat last"),
        Binding("s", "save_usual", "Save as usual"),
        Binding("up", "app.focus_previous", "Previous field", show=False),
        Binding("down", "app.focus_next", "Next field", show=False),
    ]

    class Start(Message):
        """Start a session with this plan (and this reason to override frequency advice, if any)."""

        def __init__(self, plan: SessionPlan, override: str | None) -> None:
            super().__init__()
            self.plan = plan
            self.override = override

    class Back(Message):
        """Go back to the safety check."""

    def __init__(
        self,
        history: HistoryStore | None,
        max_intensity: int,
        *,
        device_note: str | None = None,
        presets: Path | None = None,
    ) -> None:
        """*device_note*: what the person must know about this massager before a session (shown plainly)."""
        super().__init__()
        self._history = history
        self._presets = presets or default_presets_path()
        self._max_intensity = max_intensity
        self._warnings: list[str] = []
        self._device_note = device_note

    def compose(self) -> ComposeResult:
        yield Header()
        yield DeviceBar()
        with VerticalScroll(id="plan-body"):  # at 60×20 the focused field scrolls into view
            yield Static("Plan your session — ↑↓ move, ←→ change, enter starts", id="plan-intro")
            yield Stepper("Minutes", MINUTES, value=5.0, hint="5 to 10 minutes of massage", id="minutes")
            yield Stepper("Heat", HEAT, value=False, hint="starts at level 1", id="heat")
            yield Stepper(
                "Target intensity", self._targets(), value=None, hint="climbed to after the warm-up", id="target"
            )
            with Vertical(id="frequency"):
                yield Static("", id="frequency-text", markup=False)
                yield Input(placeholder="Reason to go ahead anyway (it is recorded)", id="override")
            yield Static("", id="plan-message", markup=False)
            if self._device_note:
                yield Static(self._device_note, id="device-note", markup=False)
            yield Static(
                "The session starts at the lightest setting; increases unlock after a one-minute warm-up.",
                id="plan-hint",
            )
        yield Footer(compact=True, show_command_palette=False)  # ctrl+p still opens it (help says so)

    def on_mount(self) -> None:
        self.refresh_advice()
        if not self._warnings:
            self.query_one("#minutes").focus()

    def refresh_advice(self) -> None:
        """Ask the history for frequency advice (R9) and show it, with the override field."""
        frequency = self.query_one("#frequency")
        if self._history is None:
            self._warnings = []
            frequency.display = False
            self.say("The history is not available: this session is not recorded and frequency advice is unknown.")
            return
        self.query_one("#override", Input).value = ""  # every session's reason is typed afresh, never the last one
        try:
            self._warnings = [w.message for w in self._history.frequency_warnings()]
        except MedctlError as exc:
            self._warnings = [unreadable_warning(str(exc)).message]
        frequency.display = bool(self._warnings)
        self.query_one("#frequency-text", Static).update(
            "Frequency advice: " + " ".join(self._warnings) if self._warnings else ""
        )
        if self._warnings:  # the reason box takes the keys: typed letters must not reach the shortcuts (l: History)
            self.query_one("#override").focus()

    def say(self, text: str) -> None:
        self.query_one("#plan-message", Static).update(text)

    def set_max_intensity(self, levels: int) -> None:
        """The connected massager's number of intensity levels (target choices follow it)."""
        self._max_intensity = levels
        self.query_one("#target", Stepper).set_options(self._targets())

    def action_back(self) -> None:
        self.post_message(self.Back())

    @on(Input.Submitted, "#override")
    def _override_given(self) -> None:
        self.action_start()

    def action_preset(self, name: PresetName) -> None:
        """Fill the fields from a saved plan (nothing starts: the person still presses enter)."""
        try:
            plan = load_preset(self._presets, name)
        except PresetError as exc:
            self.say(f"{exc}.")
            return
        self.query_one("#minutes", Stepper).select(plan.minutes)
        self.query_one("#heat", Stepper).select(plan.heat)
        target = self.query_one("#target", Stepper)
        target.select(plan.target_intensity)
        shown = f"target {target.value}" if target.value is not None else "no target"
        heat = "on" if plan.heat else "off"
        self.say(f'"{PRESET_TITLES[name].capitalize()}": {plan.minutes:g} minutes, heat {heat}, {shown}.')

    def action_save_usual(self) -> None:
        plan = self._plan()
        if plan is None:
            return
        try:
            save_preset(self._presets, "usual", plan)
        except PresetError as exc:
            self.say(f"{exc}.")
            return
        self.say('Saved as "my usual" (u fills it in next time).')

    def _plan(self) -> SessionPlan | None:
        try:
            return SessionPlan(
                minutes=self.query_one("#minutes", Stepper).value,
                heat=self.query_one("#heat", Stepper).value,
                target_intensity=self.query_one("#target", Stepper).value,
            )
        except RuleViolation as refusal:
            self.say(str(refusal))
            return None

    def action_start(self) -> None:
        plan = self._plan()
        if plan is None:
            return
        reason = self.query_one("#override", Input).value.strip()
        if self._warnings and not reason:
            self.say("To go ahead despite the advice above, write a reason (it is recorded), then press enter.")
            self.query_one("#override").focus()
            return
        self.post_message(self.Start(plan, reason or None))

    def _targets(self) -> list[tuple[str, int | None]]:
        return [("none", None), *((str(level), level) for level in range(2, self._max_intensity + 1))]
