"""Guided sessions through the TUI with the keyboard alone, on the simulator and the virtual clock.

Each test makes its app inside the test, so the simulated massager, the session and Textual's
workers share looptime's virtual loop clock: a 5-minute session takes a fraction of a second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from medctl.history import HistoryStore
from medctl.session import EndReason, Phase
from medctl.tui.app import MedctlApp
from medctl.tui.live import LiveScreen
from medctl.tui.plan import PlanScreen
from medctl.tui.safety import SafetyScreen
from medctl.tui.summary import SummaryScreen

pytestmark = pytest.mark.looptime

SIZE = (80, 24)
#: The six answers of a person with none of the article's warning signs (the provider question is skipped).
ALL_CLEAR = ("n",) * 6


def text_of(pilot: Pilot[Any], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).content)


async def start_session(pilot: Pilot[Any], tui: Any, *keys: str) -> LiveScreen:
    """Answer the safety check, press *keys* on the plan screen, start; return the live screen."""
    await tui.connected(pilot)
    await pilot.press(*ALL_CLEAR)
    await tui.on_screen(pilot, PlanScreen)
    await pilot.press(*keys, "enter")
    live: LiveScreen = await tui.on_screen(pilot, LiveScreen)
    await tui.until(pilot, lambda: live.last_update is not None, "the first update")
    return live


def phase(live: LiveScreen) -> Phase | None:
    return None if live.last_update is None else live.last_update.phase


async def test_a_whole_session_with_heat_and_a_target_then_feedback(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path
) -> None:
    # the simulator through medctl.connect, its session clock 20× the loop's: 5 minutes in 15 virtual seconds
    app = make_app(device="sim://?speed=20")
    async with app.run_test(size=SIZE) as pilot:
        live = await start_session(pilot, tui, "down", "right", "down", "right", "right")  # heat, climb to 3
        client = app.link.client
        assert client is not None
        seen: list[tuple[Phase | None, str]] = []

        def watch() -> bool:
            """Note what the screen shows on the way (the warm-up may be over before the first look)."""
            if isinstance(app.screen, LiveScreen):
                seen.append((phase(live), text_of(pilot, "#intensity")))
            return isinstance(app.screen, SummaryScreen)

        await tui.until(pilot, watch, "the end of the session", limit=30)
        assert {Phase.MASSAGE, Phase.STEP_DOWN} <= {shown for shown, _ in seen}
        assert any("3 of 5" in meter for _, meter in seen)
        summary = app.screen
        assert isinstance(summary, SummaryScreen)
        assert summary.record.end_reason is EndReason.COMPLETED
        assert summary.record.massage_s == pytest.approx(300, abs=1)
        assert summary.record.max_intensity == 3
        assert client.status is not None and not client.status.running and client.status.heat == 0
        await pilot.press("right", "right", "down", "left", "enter")  # relief 7, soreness better, save
        await tui.on_screen(pilot, PlanScreen)
        assert not app.screen.query_one("#frequency").display  # a demo on the simulator does not count for R9
    with HistoryStore(tmp_path / "history.sqlite3") as history:
        (record,) = history.sessions()
        events = history.events(record.id)
    assert record.end_reason == "completed" and record.heat and record.target_intensity == 3 and record.simulated
    phases = [e.phase for e in events if e.kind == "phase"]
    assert phases == ["warm_up", "massage", "step_down"]
    assert events[-1].kind == "stop" and events[-1].detail == "completed"
    assert [e.heat for e in events if e.kind == "heat"] == [1, 0]
    assert record.feedback is not None
    assert (record.feedback.relief, record.feedback.soreness, record.feedback.sharp_pain) == (7, "better", False)


async def test_sharp_pain_shows_the_advice_at_once_and_every_override_reason_is_typed_afresh(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path
) -> None:
    # a massager at a real address (the simulator stands in for it), so R9 counts its sessions
    app = make_app(connector=tui.SimConnector(speed=20), device="tcp://massager.test:5000")
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot, tui)
        summary = await tui.on_screen(pilot, SummaryScreen, limit=30)
        await pilot.press("down", "down", "right", "enter")  # sharp pain: yes, save
        await pilot.pause()
        assert app.screen is summary  # the advice is shown at once, before anything else
        assert "couple of days" in text_of(pilot, "#advice") and summary.query_one("#advice").display
        await pilot.press("escape")
        plan = await tui.on_screen(pilot, PlanScreen)
        assert "sharp pain" in text_of(pilot, "#frequency-text")
        assert plan.query_one("#override", Input).value == "" and plan.query_one("#override", Input).has_focus
        await pilot.press("l")  # typed into the reason, not the History shortcut
        await pilot.pause()
        assert app.screen is plan and plan.query_one("#override", Input).value == "l"
        await pilot.press("backspace", "enter")  # no reason typed: refused, the override field gets the focus
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen) and "write a reason" in text_of(pilot, "#plan-message")
        await pilot.press(*"physio agreed", "enter")
        live = await tui.on_screen(pilot, LiveScreen)
        await tui.until(pilot, lambda: live.last_update is not None, "the first update")
        await pilot.press("space")
        await tui.on_screen(pilot, SummaryScreen)
        await pilot.press("escape")
        await tui.on_screen(pilot, PlanScreen)
        assert plan.query_one("#override", Input).value == ""  # never the last session's reason
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
    with HistoryStore(tmp_path / "history.sqlite3") as history:
        newest, first = history.sessions()
    assert newest.overrides == ("R9: physio agreed",) and first.feedback is not None and first.feedback.sharp_pain


async def test_a_refused_increase_during_warm_up_shows_its_reason(make_app: Callable[..., MedctlApp], tui: Any) -> None:
    app = make_app(connector=tui.SimConnector())
    async with app.run_test(size=SIZE) as pilot:
        live = await start_session(pilot, tui)
        await pilot.press("plus")
        await tui.until(pilot, lambda: "warm-up" in text_of(pilot, "#message"), "the refusal")
        assert re.fullmatch(
            r"Not now: warm-up: \d+ s left before you can increase intensity", text_of(pilot, "#message")
        )
        assert re.fullmatch(
            r"at the lightest setting — increases unlock in \d:\d\d", text_of(pilot, "#meaning")
        )  # the WARM-UP badge beside it names the phase
        assert text_of(pilot, "#phase") == "WARM-UP"
        assert live.session is not None and live.session.intensity == 1


async def test_a_red_flag_ends_in_advice_and_no_session(
    make_app: Callable[..., MedctlApp], tui: Any, tmp_path: Path
) -> None:
    connector = tui.SimConnector()
    app = make_app(connector=connector)
    async with app.run_test(size=SIZE) as pilot:
        await tui.connected(pilot)
        await pilot.press("n", "y")  # an underlying condition: the provider question follows
        await pilot.pause()
        assert "provider" in text_of(pilot, "#safety-question")
        await pilot.press("n", *("n",) * 4)
        await pilot.pause()
        assert "healthcare provider" in text_of(pilot, "#safety-advice")
        await pilot.press(*("backspace",) * 6, "n", "n", "y", "n", "n")  # no condition; numbness in an arm
        await pilot.pause()
        advice = text_of(pilot, "#safety-advice")
        assert "doctor" in advice
        assert isinstance(app.screen, SafetyScreen)
        await pilot.press("enter", "y", "n")
        await pilot.pause()
        assert isinstance(app.screen, SafetyScreen) and text_of(pilot, "#safety-advice") == advice
        assert not connector.device.state.running
    with HistoryStore(tmp_path / "history.sqlite3") as history:
        assert history.sessions() == []


class _NoWatchdog:
    """The simulated massager as a device that declares no watchdog of its own (as some makers' do)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @property
    def capabilities(self) -> Any:
        return dataclasses.replace(self._inner.capabilities, watchdog_s=None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_the_plan_screen_says_plainly_when_the_massager_has_no_watchdog(
    make_app: Callable[..., MedctlApp], tui: Any
) -> None:
    plain = tui.SimConnector()

    @contextlib.asynccontextmanager
    async def no_watchdog(url: str) -> AsyncIterator[Any]:
        async with plain(url) as client:
            yield _NoWatchdog(client)

    for connector, told in ((plain, False), (no_watchdog, True)):
        app = make_app(connector=connector)
        async with app.run_test(size=SIZE) as pilot:
            await tui.connected(pilot)
            await pilot.press(*ALL_CLEAR)
            await tui.on_screen(pilot, PlanScreen)
            notes = [str(note.content) for note in app.screen.query("#device-note").results(Static)]
            assert bool(notes) is told
            if told:
                assert "no safety timer" in notes[0] and "switch it off at its button" in notes[0]
