"""The techniques screen: the article's two manual techniques as guided, timed steps.

The gentle neck massage works in 30-second phases; the trigger-point release ends in a
10–20-second hold. Each technique carries its safety notes and when to stop. Steps with a
time run on the event loop's clock (so tests run them on the virtual clock) and move on by
themselves; the others wait for enter. No massager is involved.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, ProgressBar, Static

from medctl.clock import seconds_until
from medctl.formatting import clock_text


@dataclass(frozen=True)
class Step:
    text: str
    #: None: the person says when (enter); otherwise the step is timed and moves on by itself.
    seconds: int | None = None


@dataclass(frozen=True)
class Technique:
    name: str
    when: str
    steps: tuple[Step, ...]
    stop_when: str


TECHNIQUES: Final = (
    Technique(
        "Gentle neck massage",
        "When the back of your neck is stiff after a long day. Hands only; no heavy pressure needed.",
        (
            Step("Wrap both hands around the back of your neck."),
            Step("Palms: gentle, broad squeezing motions up and down the neck muscles.", 30),
            Step("Glide down the back sides of the neck, light to moderate pressure: soothing, never worse.", 30),
            Step("Tilt your head left; fingers at the top of the right side, glide down and outward, across.", 30),
            Step("The other side: tilt your head right and work the left side the same way.", 30),
        ),
        "if it hurts or feels worse. It should soothe, never hurt.",
    ),
    Technique(
        "Trigger-point release",
        "When a knot seems to be behind the discomfort: steady pressure with a gentle stretch.",
        (
            Step("With your fingers, gently feel along the area where you think the knot is."),
            Step("Found it: press on the spot with two fingers."),
            Step("Keep the pressure and slowly tilt your head down and to the side."),
            Step("Hold 10–20 s, until you feel relief (enter lets go once you do).", 20),
        ),
        "if the discomfort does not let up after a few seconds: the knot is too irritated to work on "
        "now. Give it a couple of days to settle down.",
    ),
)

GENERAL_SAFETY: Final = (
    "Neck pain can have serious causes: check with your doctor first. Keep deep pressure away from the "
    "front of the neck."
)


class TechniquesScreen(Screen[None]):
    """Guided manual techniques: pick one with ←→, enter starts and moves on."""

    SUB_TITLE = "Techniques"

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("enter", "next", "Start/next"),
        Binding("p", "pause", "Pause"),
        Binding("left", "choose(-1)", "Other", key_display="←→"),
        Binding("right", "choose(1)", "Other technique", show=False),
    ]

    class Tick(Message, bubble=False):
        """Seconds left in the running step."""

        def __init__(self, left: float) -> None:
            super().__init__()
            self.left = left

    class StepTimeUp(Message, bubble=False):
        """The running step's time is up."""

    def __init__(self) -> None:
        super().__init__()
        self.technique = 0
        #: -1 before the first step; len(steps) once finished.
        self.step = -1
        self.left: float | None = None
        self.paused = False
        self._step_lines: list[Static] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="technique"):
            yield Static("", id="technique-name", markup=False)
            yield Static("", id="technique-when", markup=False)
            yield Vertical(id="steps")
            yield ProgressBar(show_eta=False, show_percentage=False, id="step-progress")
            yield Static("", id="step-status", markup=False)
            yield Static("", id="stop-when", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._show_technique()

    @property
    def current(self) -> Technique:
        return TECHNIQUES[self.technique]

    def action_choose(self, delta: int) -> None:
        """Switch technique (its guide starts over)."""
        self._stop_timer()
        self.technique = (self.technique + delta) % len(TECHNIQUES)
        self.step, self.left, self.paused = -1, None, False
        self._show_technique()

    def action_next(self) -> None:
        """Start the guide, or go on to the next step (also before a step's time is up)."""
        self._stop_timer()
        if self.step >= len(self.current.steps):
            self.step = -1
        self.step += 1
        self.paused = False
        self._begin_step()

    def action_pause(self) -> None:
        """Hold the clock of a timed step, or let it run on."""
        if self.left is None:
            return
        self.paused = not self.paused
        if self.paused:
            self._stop_timer()
        else:
            self._run_timer(self.left)
        self._show_status()

    def on_techniques_screen_tick(self, message: Tick) -> None:
        self.left = message.left
        self._show_status()

    def on_techniques_screen_step_time_up(self) -> None:
        self.app.bell()
        self.action_next()

    def _begin_step(self) -> None:
        steps = self.current.steps
        seconds = steps[self.step].seconds if self.step < len(steps) else None
        self.left = None if seconds is None else float(seconds)
        bar = self.query_one(ProgressBar)
        bar.update(total=seconds or 1, progress=0)
        if seconds is not None:
            self._run_timer(float(seconds))
        self._show_steps()
        self._show_status()

    @work(exclusive=True, group="step-timer")
    async def _run_timer(self, seconds: float) -> None:
        """Tick once a second on the loop clock until *seconds* have passed."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while (wait := seconds_until(end, loop.time())) > 0:
            self.post_message(self.Tick(end - loop.time()))
            await asyncio.sleep(min(1.0, wait))
        self.post_message(self.StepTimeUp())

    def _stop_timer(self) -> None:
        self.workers.cancel_group(self, "step-timer")

    def _show_technique(self) -> None:
        technique = self.current
        self.query_one("#technique-name", Static).update(
            f"{technique.name} — technique {self.technique + 1} of {len(TECHNIQUES)} (←→ the other)"
        )
        self.query_one("#technique-when", Static).update(technique.when)
        self._step_lines = [
            Static(step_text(n, step), markup=False, classes="step") for n, step in enumerate(technique.steps)
        ]
        steps = self.query_one("#steps", Vertical)
        steps.remove_children()
        steps.mount_all(self._step_lines)
        self.query_one("#stop-when", Static).update(f"Stop {technique.stop_when}\n{GENERAL_SAFETY}")
        self.query_one(ProgressBar).update(total=1, progress=0)
        self._show_steps()
        self._show_status()

    def _show_steps(self) -> None:
        for n, widget in enumerate(self._step_lines):
            widget.set_class(n == self.step, "-current")
            widget.set_class(n < self.step, "-done")

    def _show_status(self) -> None:
        steps = self.current.steps
        if self.step < 0:
            text = "enter: begin, at your own pace."
        elif self.step >= len(steps):
            text = "Done. How does your neck feel? enter: again, esc: back."
        elif self.left is None:
            text = f"Step {self.step + 1} of {len(steps)} — enter when you are ready for the next."
        else:
            seconds = steps[self.step].seconds or 1
            self.query_one(ProgressBar).update(progress=seconds - self.left)
            state = "paused — p: go on" if self.paused else "enter: next step now"
            text = f"Step {self.step + 1} of {len(steps)} — {clock_text(self.left)} left ({state})"
        self.query_one("#step-status", Static).update(text)


def step_text(number: int, step: Step) -> str:
    timing = f" ({step.seconds} s)" if step.seconds else ""
    return f"{number + 1}. {step.text}{timing}"
