"""The live session screen: phase, time, levels, pad temperature, and a STOP that always works.

A worker runs the session (``async with client.session(...)``) and turns
:meth:`Session.updates` into :class:`LiveScreen.Progress` messages — only when something a
person can see changed, at most :data:`MIN_REDRAW_S` apart, and a newer one replaces one not
yet drawn — so an accelerated simulator never floods the screen. Keys call the session's
actions (``increase``, ``too_much``, …) in their own workers; a refusal shows the rule's
sentence. STOP (space, escape, or the button) never waits behind anything. Leaving the screen
in any way cancels the worker, and leaving ``async with session`` stops the massager.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Final

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, ProgressBar, RichLog, Static

from medctl.devices.device import Device
from medctl.errors import MedctlError
from medctl.formatting import clock_text, heat_target_text, not_now, not_taken
from medctl.history import HistoryStore
from medctl.session import Phase, RuleViolation, SafetyCheck, Session, SessionPlan, SessionSummary, SessionUpdate
from medctl.session.choice import DEFAULT_HISTORY
from medctl.session.cues import cue_between
from medctl.tui.widgets import DeviceBar, LevelMeter, TemperaturePlot

#: Redraws at most this often (loop seconds) unless the phase, a level or a notice changed.
MIN_REDRAW_S: Final = 0.25
#: A sentence about an action (a refusal) is cleared after this long (loop seconds): it answered a key.
SAID_FOR_S: Final = 8.0
#: Phases in which the massager is stopped: the meters show that, not the last levels.
HALTED: Final = frozenset({Phase.PAUSED, Phase.INTERRUPTED, Phase.DONE})
#: A pad temperature point is plotted every this many seconds of session time.
SAMPLE_EVERY_S: Final = 5.0
#: From this many rows the screen has room for the session's log under the levels (120×40: yes).
LOG_FROM_ROWS: Final = 32
#: From this many columns the levels' column widens (the log's lines then wrap less).
WIDE_FROM_COLUMNS: Final = 110

PHASE_TITLES: Final = {
    Phase.READY: "READY",
    Phase.WARM_UP: "WARM-UP",
    Phase.MASSAGE: "MASSAGE",
    Phase.STEP_DOWN: "WINDING DOWN",
    Phase.PAUSED: "PAUSED",
    Phase.INTERRUPTED: "LINK LOST",
    Phase.DONE: "DONE",
}


class LiveScreen(Screen[None]):
    """One running session on the connected massager."""

    SUB_TITLE = "Session"

    BINDINGS = [
        Binding("space", "stop", "STOP", priority=True),
        Binding("escape", "stop", "Stop", show=False, priority=True),
        Binding("s", "stop", "Stop", show=False),
        Binding("plus,equals_sign,up", "increase", "More", key_display="+"),
        Binding("minus,down", "decrease", "Less", key_display="-"),
        Binding("t", "too_much", "Too much"),
        Binding("h", "heat(1)", "Heat+"),
        Binding("c", "heat(-1)", "Heat-"),
        Binding("p", "pause", "Pause"),
        Binding("b", "switch_bell", "Bell on/off", show=False),
        Binding("o", "next_mode", "Mode"),
        Binding("k", "continue_session", "Continue"),
        Binding("p", "resume", "Resume"),  # only the one of the two that fits the phase is on (check_action)
    ]

    class Progress(Message, bubble=False):
        """What the session looks like now (a newer one replaces one not yet shown)."""

        def __init__(self, update: SessionUpdate) -> None:
            super().__init__()
            self.update = update

        def can_replace(self, message: Message) -> bool:
            return (
                isinstance(message, LiveScreen.Progress)
                and self.update.end_reason is None
                and self.update.phase is message.update.phase
                and self.update.notice == message.update.notice
            )

    class Said(Message, bubble=False):
        """A sentence for the person: a refusal, or an action that did not reach the massager."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Ended(Message):
        """The session is over and the massager stopped; here is how it went."""

        def __init__(self, record: SessionSummary) -> None:
            super().__init__()
            self.record = record

    class BellSwitched(Message):
        """The person switched the bell on or off (the app remembers it)."""

        def __init__(self, on: bool) -> None:
            super().__init__()
            self.on = on

    class NotStarted(Message):
        """The session could not start (frequency advice without override, a device problem…)."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(
        self,
        client: Device,
        plan: SessionPlan,
        *,
        safety: SafetyCheck,
        history: HistoryStore | None,
        override: str | None = None,
        bell: bool = True,
    ) -> None:
        super().__init__()
        self.bell = bell
        self._client = client
        self._plan = plan
        self._safety = safety
        self._history = history
        self._override = override
        self.session: Session | None = None
        self.last_update: SessionUpdate | None = None
        self._stop_requested = False
        self._next_sample_s = 0.0
        self._notice: str | None = None
        self._continue_offered = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield DeviceBar(choosable=False)
        with Horizontal(id="phase-row"):
            yield Static("STARTING", id="phase", markup=False)
            yield Static("starting at the lightest setting…", id="meaning", markup=False)
        with Horizontal(id="progress-row"):
            yield ProgressBar(total=self._plan.duration_s, show_eta=False, id="progress")
            yield Static("", id="time-left", markup=False)
        with Horizontal(id="live-middle"):
            with Vertical(id="live-left"):
                yield LevelMeter("Intensity", id="intensity")
                yield LevelMeter("Heat", id="heat")
                yield Static("", id="mode", markup=False)
                yield Static("", id="message", markup=False)
                yield RichLog(id="log", wrap=True, markup=False, highlight=False, auto_scroll=True)
            yield TemperaturePlot(id="temperature")
        yield Button("STOP  (space / esc)", id="stop", variant="error")
        yield Footer(compact=True, show_command_palette=False)  # ctrl+p still opens it (help says so)

    def on_mount(self) -> None:
        self.query_one(TemperaturePlot).reset(self._plan.minutes)
        self.query_one("#mode").display = bool(self._modes())
        self.query_one("#log").border_title = "What happened"
        self._run_session()

    def on_resize(self, event: events.Resize) -> None:
        """A large terminal gets the session's log (what happened, when) and a wider column for it."""
        self.set_class(event.size.height >= LOG_FROM_ROWS, "-tall")
        self.set_class(event.size.width >= WIDE_FROM_COLUMNS, "-wide")

    def _log(self, text: str) -> None:
        """One line of the session's log: session time, then what happened (shown on tall screens)."""
        at = clock_text(self.last_update.massage_s) if self.last_update is not None else "0:00"
        self.query_one("#log", RichLog).write(f"{at}  {text}")

    # --- the session ---------------------------------------------------------------------

    @work(exclusive=True, group="session")
    async def _run_session(self) -> None:
        session = self._client.session(
            self._plan,
            safety=self._safety,
            # no store of the app's own (it could not open it): the default one, so R9 still holds
            history=self._history if self._history is not None else DEFAULT_HISTORY,
            override_frequency=self._override,
        )
        try:
            async with session:
                self.session = session
                if self._stop_requested:
                    await session.stop()
                await self._follow(session)
        except MedctlError as exc:
            if self.session is None:
                self.post_message(self.NotStarted(str(exc)))
                return
            self.post_message(self.Said(f"error: {exc}"))
        self.post_message(self.Ended(session.record))

    async def _follow(self, session: Session) -> None:
        """Post what a person can see when it changes; at most every MIN_REDRAW_S unless urgent."""
        loop = asyncio.get_running_loop()
        shown: SessionUpdate | None = None
        shown_at = -math.inf
        async for update in session.updates():
            if shown is not None and _view(shown) == _view(update):
                continue
            urgent = shown is None or _urgent_view(shown) != _urgent_view(update)
            if urgent or loop.time() - shown_at >= MIN_REDRAW_S:
                shown, shown_at = update, loop.time()
                self.post_message(self.Progress(update))

    # --- what the person sees ------------------------------------------------------------

    def on_live_screen_progress(self, message: Progress) -> None:
        """Draw an update, touching only what changed (a redraw costs more than a comparison)."""
        update = message.update
        previous, self.last_update = self.last_update, update
        if self.bell and cue_between(previous, update) is not None:
            self.app.bell()
        if previous is None or previous.phase is not update.phase:
            self._log(PHASE_TITLES[update.phase].capitalize())
            self._show_text("#phase", PHASE_TITLES[update.phase])
            self.query_one("#phase-row").set_classes(f"-{update.phase.value.replace('_', '-')}")
            self.say("")  # a refusal in the last phase no longer applies
            self.refresh_bindings()  # "p Pause" or "p Resume"
        if previous is None or _levels_view(previous) != _levels_view(update):
            self._show_levels(update)
            if update.phase not in HALTED:
                self._log(f"intensity {update.intensity}, heat {'off' if update.heat == 0 else update.heat}")
        if previous is not None and update.mode != previous.mode and update.mode is not None:
            self._log(f"mode {update.mode}")
        if self._modes():
            self._show_text("#mode", mode_text(update.mode, self._modes()))
        can_continue = self.session is not None and self.session.can_continue
        if can_continue != self._continue_offered:  # "continue" is offered only while a lost link is back
            self._continue_offered = can_continue
            self.refresh_bindings()
        self._show_text("#meaning", meaning(update))
        self._show_text("#time-left", f"{clock_text(update.time_left_s)} left of {clock_text(update.planned_s)}")
        self.query_one(ProgressBar).update(progress=update.massage_s)
        if update.notice and update.notice != self._notice:
            self._notice = update.notice
            self.say(update.notice)
            self._log(update.notice)
        self._sample(update)

    def on_live_screen_said(self, message: Said) -> None:
        self.say(message.text)
        self._log(message.text)
        text = message.text
        self.set_timer(SAID_FOR_S, lambda: self._unsay(text))

    def _unsay(self, text: str) -> None:
        """Clear *text* if it is still the last sentence said (a newer one stays its own time)."""
        if self.query_one("#message", Static).content == text:
            self.say("")

    def say(self, text: str) -> None:
        self._show_text("#message", text, layout=True)

    def _show_text(self, selector: str, text: str, *, layout: bool = False) -> None:
        """Update a label; a new length is laid out again at once (an ``auto`` width would otherwise
        keep the old size until some later redraw: "WARM-U", a bar drawn over a label)."""
        widget = self.query_one(selector, Static)
        if widget.content != text:
            widget.update(text, layout=layout or len(text) != len(str(widget.content)))

    def _show_levels(self, update: SessionUpdate) -> None:
        caps = self._client.capabilities if self._client.identity is not None else None
        halted = update.phase in HALTED  # the massager is stopped: its real state, not the last levels
        intensity, heat = (0, 0) if halted else (update.intensity, update.heat)
        self.query_one("#intensity", LevelMeter).show(
            intensity, caps.intensity_levels if caps else 5, off_text="stopped" if halted else None
        )
        targets = caps.heat_targets_c if caps else None
        self.query_one("#heat", LevelMeter).show(
            heat, caps.heat_levels if caps else 2, off_text="off", detail=heat_target_text(heat, targets)
        )

    def _sample(self, update: SessionUpdate) -> None:
        if update.pad_temp_c is None or update.massage_s < self._next_sample_s:
            return
        self.query_one(TemperaturePlot).add_sample(update.massage_s / 60, update.pad_temp_c)
        self._next_sample_s = (math.floor(update.massage_s / SAMPLE_EVERY_S) + 1) * SAMPLE_EVERY_S

    # --- actions -------------------------------------------------------------------------

    @on(Button.Pressed, "#stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    def action_stop(self) -> None:
        """R6: always allowed; before the session has begun, it stops as soon as it has."""
        self._stop_requested = True
        if self.session is not None:
            self.run_worker(self.session.stop(), group="stop")

    def _modes(self) -> tuple[str, ...]:
        return self._client.capabilities.modes if self._client.identity is not None else ()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The mode key exists only on a massager with modes; p shows Pause or Resume, whichever it does now."""
        if action in ("pause", "resume"):
            halted = self.last_update is not None and self.last_update.phase in (Phase.PAUSED, Phase.INTERRUPTED)
            return halted == (action == "resume")
        if action == "continue_session":
            return self.session is not None and self.session.can_continue
        return bool(self._modes()) if action == "next_mode" else True

    def action_next_mode(self) -> None:
        """The next of the device's massage patterns (after the last, the first again)."""
        modes = self._modes()
        if modes:
            self._act(lambda s: s.set_mode(s.next_mode()))

    def action_continue_session(self) -> None:
        """After a lost link came back: the same session, a new warm-up at the lightest setting."""
        self._act(lambda s: s.continue_after_link_loss())

    def action_switch_bell(self) -> None:
        """The bell at the moments that matter (increases unlock, step-down, end): on or off."""
        self.bell = not self.bell
        self.say("Bell on." if self.bell else "Bell off.")
        self.post_message(self.BellSwitched(self.bell))

    def action_increase(self) -> None:
        self._act(lambda s: s.increase())

    def action_decrease(self) -> None:
        self._act(lambda s: s.decrease())

    def action_too_much(self) -> None:
        self._act(lambda s: s.too_much())

    def action_heat(self, step: int) -> None:
        self._act(lambda s: s.set_heat(max(0, s.heat + step)))

    def action_pause(self) -> None:
        self._act(lambda s: s.pause())

    def action_resume(self) -> None:
        """Resume a paused session, or one whose link came back (R10)."""
        self._act(lambda s: s.resume())

    def _act(self, call: Callable[[Session], Awaitable[object]]) -> None:
        session = self.session
        if session is not None and not session.done:
            self.run_worker(self._attempt(session, call), group="actions")

    async def _attempt(self, session: Session, call: Callable[[Session], Awaitable[object]]) -> None:
        try:
            await call(session)
        except RuleViolation as refusal:
            self.post_message(self.Said(not_now(refusal)))
        except MedctlError as exc:
            self.post_message(self.Said(not_taken(exc)))


def meaning(update: SessionUpdate) -> str:
    """What the phase means and the next allowed action, without repeating the badge beside it:
    ``WARM-UP  at the lightest setting — increases unlock in 0:42``, ``MASSAGE  you may increase to 2``."""
    if update.phase in (Phase.PAUSED, Phase.INTERRUPTED):  # the badge and the meters say it is stopped
        return update.next_action
    text = update.next_action
    if not text.startswith(update.phase_text):
        text = f"{update.phase_text} — {text}"
    title = PHASE_TITLES[update.phase].lower()
    return text[len(title) :].lstrip(" —") if text.startswith(title) else text


def _levels_view(update: SessionUpdate) -> tuple[object, ...]:
    return (update.phase in HALTED, update.intensity, update.heat)


def mode_text(mode: str | None, modes: tuple[str, ...]) -> str:
    """``Mode      tapping`` and under it ``o: kneading · tapping · rolling``: the pattern now, and the
    key that switches it (on a line of its own, so a wide column never breaks the list mid-way)."""
    return f"{'Mode':<10}{mode or 'as the massager starts'}\no: {' · '.join(modes)}"


def _urgent_view(update: SessionUpdate) -> tuple[object, ...]:
    """What is drawn at once when it changes."""
    return (update.phase, update.intensity, update.heat, update.mode, update.notice, update.end_reason)


def _view(update: SessionUpdate) -> tuple[object, ...]:
    """Everything the screen draws from an update, as it is drawn."""
    temp = None if update.pad_temp_c is None else round(update.pad_temp_c, 1)
    return (*_urgent_view(update), clock_text(update.time_left_s), update.next_action, temp)
