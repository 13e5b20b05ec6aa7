"""Small widgets the screens share: the device bar, level meters, steppers and the two plots.

None of them knows about sessions or devices: each is told what to show (by its screen,
which receives device and session news as messages) and draws it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Generic, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

if TYPE_CHECKING:
    from textual_plotext.plot import Plot

from medctl.tui.devices import LinkState

T = TypeVar("T")

#: Pad temperatures are drawn on this fixed scale (°C), so a small wobble never looks like a spike.
TEMPERATURE_RANGE = (28.0, 46.0)
#: The temperature plot is redrawn at most this often (loop seconds).
PLOT_REDRAW_S = 0.5


class DeviceBar(Static):
    """One line saying which massager is in use, whether it is simulated, and how the link is."""

    def __init__(self, *, choosable: bool = True) -> None:
        """*choosable*: ``d`` chooses another massager on this screen (not during a session)."""
        super().__init__("", markup=False, classes="device-bar")
        self._choosable = choosable

    def on_mount(self) -> None:
        self.watch(self.app, "link_state", self.show_state)

    def show_state(self, state: LinkState) -> None:
        self.update(state.text(choosable=self._choosable))
        self.set_class(state.simulated, "-simulated")
        self.set_class(state.phase in ("lost", "failed"), "-trouble")


class LevelMeter(Static):
    """``Intensity ██████░░░░  3 of 5``: a level as filled blocks out of the device's maximum."""

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__("", markup=False, id=id, classes="level-meter")
        self._label = label

    def show(self, level: int, maximum: int, *, off_text: str | None = None, detail: str = "") -> None:
        """*detail* follows the level (the heat target, `` (~42 °C)``)."""
        text = Text(f"{self._label:<10}")
        maximum = max(maximum, level, 1)
        text.append("██" * level, style="bold")
        text.append("░░" * (maximum - level), style="dim")
        if level == 0 and off_text is not None:
            text.append(f"  {off_text}")
        else:
            text.append(f"  {level} of {maximum}{detail}")
        self.update(text, layout=False)


class Stepper(Widget, Generic[T], can_focus=True):
    """A labelled choice among a few values, changed with ← and →, e.g. ``Minutes  ◀ 5 ▶``."""

    BINDINGS = [
        Binding("left", "step(-1)", "Less", show=False),
        Binding("right", "step(1)", "More", show=False),
    ]

    index: reactive[int] = reactive(0)

    def __init__(
        self, label: str, options: Sequence[tuple[str, T]], *, value: T, hint: str = "", id: str | None = None
    ) -> None:
        super().__init__(id=id, classes="stepper")
        self.label = label
        self.hint = hint
        self._options = list(options)
        self.set_reactive(Stepper.index, self._index_of(value))

    @property
    def value(self) -> T:
        return self._options[self.index][1]

    def set_options(self, options: Sequence[tuple[str, T]]) -> None:
        """Replace the choices, keeping the current value when it is still one of them."""
        current = self.value
        self._options = list(options)
        self.index = self._index_of(current)
        self.refresh()

    def select(self, value: T) -> None:
        """Show *value* when it is one of the choices (else the first: a target this device lacks)."""
        self.index = self._index_of(value)

    def action_step(self, delta: int) -> None:
        self.index = min(max(self.index + delta, 0), len(self._options) - 1)

    def render(self) -> Text:
        shown = self._options[self.index][0]
        text = Text(f"{self.label:<18}")
        text.append("◀ ", style="bold" if self.index > 0 else "dim")
        text.append(f"{shown:^6}", style="reverse bold" if self.has_focus else "bold")
        text.append(" ▶", style="bold" if self.index < len(self._options) - 1 else "dim")
        if self.hint:
            text.append(f"   {self.hint}", style="dim")
        return text

    def _index_of(self, value: T) -> int:
        for position, (_, option) in enumerate(self._options):
            if option == value:
                return position
        return 0


class TemperaturePlot(Widget):
    """The pad temperature over the session, on a fixed °C scale, minutes along the bottom.

    Redrawn at most every :data:`PLOT_REDRAW_S` of loop time: at demo speed, samples come faster
    than that, and a plot costs more to draw than the rest of the screen. The plot itself
    (textual_plotext) is imported when the live screen is first drawn, not before the first paint.
    """

    DEFAULT_CSS = """
    TemperaturePlot > PlotextPlot {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._minutes: list[float] = []
        self._temps: list[float] = []
        self._planned_min = 5.0
        self._drawn_at = -math.inf
        self._scheduled = False
        #: How many samples the plot on screen shows.
        self.drawn = 0

    def reset(self, planned_min: float) -> None:
        self._minutes.clear()
        self._temps.clear()
        self._planned_min = planned_min
        self._replot()

    def add_sample(self, minute: float, temp_c: float) -> None:
        """Add a point: drawn now, or with the next redraw at most PLOT_REDRAW_S from the last."""
        self._minutes.append(minute)
        self._temps.append(temp_c)
        wait = self._drawn_at + PLOT_REDRAW_S - asyncio.get_running_loop().time()
        if wait <= 0:
            self._replot()
        elif not self._scheduled:
            self._scheduled = True
            self.set_timer(wait, self._replot)

    def compose(self) -> ComposeResult:
        from textual_plotext import PlotextPlot

        yield PlotextPlot()

    @property
    def plt(self) -> Plot:
        from textual_plotext import PlotextPlot

        return self.query_one(PlotextPlot).plt

    def on_mount(self) -> None:
        self._replot()

    def _replot(self) -> None:
        self._scheduled = False
        self._drawn_at = asyncio.get_running_loop().time()
        self.drawn = len(self._temps)
        plt = self.plt
        plt.clear_figure()
        latest = f"{self._temps[-1]:.1f} °C" if self._temps else "--.- °C"
        plt.title(f"Pad temperature {latest}")
        plt.xlim(0, self._planned_min)
        plt.ylim(*TEMPERATURE_RANGE)
        plt.yticks([30, 35, 40, 45])
        plt.xticks(
            [0, self._planned_min / 2, self._planned_min],
            ["0", f"{self._planned_min / 2:g}", f"{self._planned_min:g} min"],
        )
        if self._temps:
            plt.plot(self._minutes, self._temps, marker="braille")
        self.query_one("PlotextPlot").refresh()


#: Cells of the sessions-per-week bars on screen (the feedback trend stands beside them).
WEEKLY_BAR_WIDTH: Final = 24


class WeeklyChart(Static):
    """Sessions per week as horizontal bars, with a dotted mark where a week has too many (R9)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def show(self, weeks: Sequence[tuple[str, int]], *, limit: int) -> None:
        """A row per week (label, sessions started); bars past *limit* sessions are drawn in red."""
        self.update(weekly_bars(weeks, limit=limit, width=WEEKLY_BAR_WIDTH, short_title=True), layout=False)


def weekly_bars(weeks: Sequence[tuple[str, int]], *, limit: int, width: int = 48, short_title: bool = False) -> Text:
    """The chart as text, a row per week: `` 05 Oct  ████████    ┊      2``.

    The ``┊`` stands where a week would have one session too many; such weeks are drawn in red.
    """
    top = max([limit + 2, *(count for _, count in weeks)])
    cell = max(1, width // top)
    mark = limit * cell
    title = (
        f"Sessions per week (┊: more than {limit})"
        if short_title
        else f"Sessions per week (week starting) — more than {limit} a week is too many (┊)"
    )
    text = Text(title, style="bold")
    for label, count in weeks:
        style = "red" if count > limit else ""
        row = ("█" * (count * cell)).ljust(top * cell)
        line = Text(f"\n {label:>7}  ")
        line.append(row[:mark], style=style)
        line.append(row[mark] if count > limit else "┊", style=style or "dim")
        line.append(row[mark + 1 :], style=style)
        line.append(f"  {count}")
        text.append_text(line)
    return text


#: Soreness after a session, as a number to average: better -1, same 0, worse +1.
SORENESS_SCORE: Final = {"better": -1, "same": 0, "worse": 1}


@dataclass(frozen=True)
class WeekFeedback:
    """A week's mean relief (0–10) and soreness (−1 better … +1 worse); None: no feedback given."""

    label: str
    relief: float | None
    soreness: float | None


class TrendChart(Static):
    """Relief and soreness over the weeks, a row per week beside the sessions-per-week chart."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def show(self, weeks: Sequence[WeekFeedback]) -> None:
        self.update(trend_rows(weeks), layout=False)


def trend_rows(weeks: Sequence[WeekFeedback]) -> Text:
    """The trend as text: `` 05 Oct  ███·· 6.5  better`` (a block per 2 points of relief)."""
    text = Text("Relief (0–10) and soreness", style="bold")
    for week in weeks:
        line = Text(f"\n {week.label:>6}  ")
        if week.relief is None or week.soreness is None:
            line.append("·····   -   -", style="dim")
        else:
            blocks = round(week.relief / 2)
            line.append("█" * blocks, style="green")
            line.append("·" * (5 - blocks), style="dim")
            line.append(f" {week.relief:4.1f}  ")
            word = soreness_word(week.soreness)
            line.append(word, style={"worse": "red", "better": "green"}.get(word, ""))
        text.append_text(line)
    return text


def soreness_word(score: float) -> str:
    """A week's mean soreness score in a word: mostly better, mostly worse, or about the same."""
    if score <= -1 / 3:
        return "better"
    if score >= 1 / 3:
        return "worse"
    return "same"
