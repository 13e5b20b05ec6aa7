"""``medctl session``: a guided session without the TUI.

Safety questions (or ``--safety-file``), then a live progress line with phase,
time left, intensity, heat and pad temperature; single keys to act; Ctrl-C
stops the device at once and records the session. The exit code says how it
ended (see :mod:`medctl.cli.common`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, TextIO

from medctl.address import parse_address
from medctl.cli.common import (
    EXIT_DEVICE_FAULT,
    EXIT_ENDED_BY_RULE,
    EXIT_LINK_LOST,
    EXIT_NOT_SAFE,
    EXIT_OK,
    EXIT_STOPPED,
    UsageError,
    add_db_option,
    add_device_option,
    history_path,
    int_in,
)
from medctl.cli.terminal import ask_choice, ask_int, ask_yes_no, keypresses
from medctl.connection import connect
from medctl.errors import MedctlError
from medctl.formatting import clock_text, ended_text, heat_target_text, not_now, not_taken
from medctl.history import Feedback, HistoryStore
from medctl.presets import PRESET_NAMES, PresetError, default_presets_path, load_preset, save_preset
from medctl.session import (
    QUESTIONS,
    SAFETY_TIPS,
    EndReason,
    FrequencyOverrideRequired,
    RuleViolation,
    SafetyCheck,
    Session,
    SessionPlan,
    SessionUpdate,
)
from medctl.session.cues import cue_between
from medctl.session.rules.frequency import overdone_advice, unreadable_warning
from medctl.tui.config import default_config_path, load_config

EXIT_BY_REASON: Final = {
    EndReason.COMPLETED: EXIT_OK,
    EndReason.STOPPED: EXIT_STOPPED,
    EndReason.TOO_MUCH: EXIT_ENDED_BY_RULE,
    EndReason.PAUSE_TIMEOUT: EXIT_ENDED_BY_RULE,
    EndReason.FAULT: EXIT_DEVICE_FAULT,
    EndReason.BATTERY_EMPTY: EXIT_DEVICE_FAULT,
    EndReason.LINK_LOST: EXIT_LINK_LOST,
    EndReason.ERROR: EXIT_DEVICE_FAULT,
    EndReason.DEVICE_MISBEHAVED: EXIT_DEVICE_FAULT,
}

KEYS_HELP: Final = (
    "keys: + increase  - decrease  t too much  h heat up  c heat down  p pause/resume  space/s stop"
    "  k continue after a lost link"
)
#: Without a terminal, a progress line is printed this often (session time).
PLAIN_PROGRESS_EVERY_S: Final = 30.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("session", help="run a guided session (the default command)")
    add_device_option(parser)
    parser.add_argument("--minutes", type=float, help="5 to 10 minutes of massage (default 5)")
    parser.add_argument("--heat", action="store_true", default=None, help="use heat (starts at level 1)")
    parser.add_argument(
        "--target", type=int_in(1, 255), metavar="N", help="climb gradually to intensity N after warm-up"
    )
    parser.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        help='start from a saved plan: "usual" (saved in the TUI) or "last"; --minutes, --heat, --target change it',
    )
    parser.add_argument("--safety-file", type=Path, metavar="FILE", help="JSON answers to the safety questions")
    parser.add_argument(
        "--override-frequency", metavar="REASON", help="go ahead despite frequency advice (recorded with REASON)"
    )
    parser.add_argument("--no-feedback", action="store_true", help="do not ask for feedback afterwards")
    parser.add_argument(
        "--no-bell",
        action="store_true",
        help="no terminal bell when increases unlock, at the step-down and at the end (bell = false in config.toml)",
    )
    add_db_option(parser)
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    plan = _plan(args)
    parse_address(args.device)  # a bad address fails before any question is asked
    out = sys.stdout
    with HistoryStore(history_path(args)) as history:
        # frequency advice first: nobody answers the safety questions only to be told "not today"
        warnings = [] if args.override_frequency else _frequency_warnings(history)
        if warnings:
            _refuse_on_frequency(FrequencyOverrideRequired(warnings))
            return EXIT_NOT_SAFE
        safety = load_safety(args.safety_file)
        decision = safety.decision()
        if not decision.allowed:
            print(decision.message, file=sys.stderr)
            return EXIT_NOT_SAFE
        with _CtrlC() as ctrl_c:
            if not args.device_named:
                print("Using the built-in simulator (no massager named: --device URL).", file=out)
            async with connect(args.device) as massager:
                _remember_last(plan, out)
                try:
                    session = massager.session(
                        plan, safety=safety, history=history, override_frequency=args.override_frequency
                    )
                    ctrl_c.session = session  # from here Ctrl-C ends the session, even while it starts
                    async with session:
                        bell = not args.no_bell and load_config(default_config_path()).config.bell
                        await _drive(session, out, bell=bell, heat_targets_c=massager.capabilities.heat_targets_c)
                except FrequencyOverrideRequired as exc:  # a session started elsewhere meanwhile
                    _refuse_on_frequency(exc)
                    return EXIT_NOT_SAFE
        summary = session.record
        _print_summary(summary.end_reason, session, out)
        if summary.session_id is not None and sys.stdin.isatty() and not args.no_feedback:
            _collect_feedback(history, summary.session_id)
    return EXIT_BY_REASON[summary.end_reason]


def _plan(args: argparse.Namespace) -> SessionPlan:
    """The plan from ``--preset`` (if any) with the options given on the command line over it."""
    try:
        base = load_preset(default_presets_path(), args.preset) if args.preset else SessionPlan()
        return replace(
            base,
            minutes=base.minutes if args.minutes is None else args.minutes,
            heat=base.heat if args.heat is None else args.heat,
            target_intensity=base.target_intensity if args.target is None else args.target,
        )
    except (PresetError, RuleViolation, ValueError) as exc:
        raise UsageError(str(exc)) from exc


def _remember_last(plan: SessionPlan, out: TextIO) -> None:
    """Save the plan as "repeat last"; a file that cannot be written is said, never fatal."""
    try:
        save_preset(default_presets_path(), "last", plan)
    except PresetError as exc:
        print(f"Note: {exc}.", file=out)


def _frequency_warnings(history: HistoryStore) -> list[str]:
    """R9 from the history, as the session will check it; an unreadable history needs a reason too."""
    try:
        return [warning.message for warning in history.frequency_warnings()]
    except MedctlError as exc:
        return [unreadable_warning(str(exc)).message]


def _refuse_on_frequency(refusal: FrequencyOverrideRequired) -> None:
    print(f"medctl: {refusal}", file=sys.stderr)
    print("  (medctl session --override-frequency REASON ...)", file=sys.stderr)


def _collect_feedback(history: HistoryStore, session_id: int) -> None:
    """Asked after the massager is off; Ctrl-C or end of input skips it."""
    try:
        feedback = ask_feedback()
    except (KeyboardInterrupt, EOFError):
        print("\nFeedback skipped (medctl feedback can add it later).")
        return
    history.add_feedback(session_id, feedback)
    print("Feedback saved. Thank you.")
    advice = overdone_advice(feedback.overdone, demo=history.session(session_id).simulated)
    if advice is not None:
        print(advice)


class _CtrlC:
    """Ctrl-C stops a running session (device first, then the record); before that it cancels."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self._task = asyncio.current_task()

    def __enter__(self) -> _CtrlC:
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)

    def _interrupt(self) -> None:
        session = self.session
        if session is not None and not session.done and session.session_id is not None:
            # it is recorded (and may be starting the motor): end it properly, device first
            task = asyncio.create_task(session.stop())
            # read its outcome (a failure is the session's own to report); cancelled at exit is fine
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        elif self._task is not None:
            self._task.cancel()


def load_safety(path: Path | None) -> SafetyCheck:
    """From ``--safety-file`` or, on a terminal, by asking each question."""
    if path is not None:
        try:
            answers = json.loads(path.read_text())
        except OSError as exc:
            raise UsageError(f"cannot read safety file {path}: {exc.strerror or exc}") from exc
        except json.JSONDecodeError as exc:
            raise UsageError(f"safety file {path} is not valid JSON: {exc}") from exc
        if not isinstance(answers, dict):
            raise UsageError(f"safety file {path} must hold one JSON object of true/false answers")
        try:
            return SafetyCheck.from_answers(answers)
        except ValueError as exc:
            raise UsageError(f"safety file {path}: {exc}") from exc
    if not sys.stdin.isatty():
        raise UsageError("answer the safety questions in a terminal, or pass --safety-file FILE")
    print("Before the first start, a short safety check (the massager stays off):")
    given: dict[str, Any] = {}
    for question in QUESTIONS:
        if not question.applies(given):
            given[question.field] = False
            continue
        given[question.field] = ask_yes_no(question.text)
    return SafetyCheck.from_answers(given)


def ask_feedback() -> Feedback:
    print("How was it?")
    relief = ask_int("Relief, from 0 (none) to 10", 0, 10)
    soreness = ask_choice("Soreness compared with before", ("better", "same", "worse"))
    sharp = ask_yes_no("Any sharp pain?")
    inflamed = ask_yes_no("Any inflammation (swelling, heat, redness)?")  # the same four answers as the TUI
    return Feedback(relief=relief, soreness=soreness, sharp_pain=sharp, inflammation=inflamed)  # type: ignore[arg-type]


async def _drive(
    session: Session, out: TextIO, *, bell: bool = True, heat_targets_c: Sequence[float] | None = None
) -> None:
    """Show progress and turn keys into actions until the session ends."""
    actions: asyncio.Queue[str] = asyncio.Queue()
    with keypresses(lambda key: actions.put_nowait(_ACTION_KEYS.get(key, ""))) as interactive:
        print("Tips: " + " ".join(SAFETY_TIPS[3:]), file=out)
        if interactive:
            print(KEYS_HELP + ("  o next mode" if session.modes else ""), file=out)
        view = _ProgressView(out, live=interactive and out.isatty(), bell=bell, heat_targets_c=heat_targets_c)
        worker = asyncio.create_task(_act(session, actions, view))
        try:
            async for update in session.updates():
                view.show(update)
        finally:
            worker.cancel()
            view.close()


_ACTION_KEYS: Final = {
    "+": "increase",
    "=": "increase",
    "-": "decrease",
    "t": "too_much",
    "h": "heat_up",
    "c": "heat_down",
    "p": "pause",
    "o": "next_mode",
    "k": "continue",
    " ": "stop",
    "s": "stop",
    "q": "stop",
    "\x1b": "stop",
}


async def _act(session: Session, actions: asyncio.Queue[str], view: _ProgressView) -> None:
    while True:
        action = await actions.get()
        try:
            if action == "stop":
                await session.stop()
            elif action == "increase":
                await session.increase()
            elif action == "decrease":
                await session.decrease()
            elif action == "too_much":
                await session.too_much()
            elif action == "heat_up":
                await session.set_heat(session.heat + 1)
            elif action == "heat_down":
                await session.set_heat(max(0, session.heat - 1))
            elif action == "next_mode" and session.modes:
                await session.set_mode(session.next_mode())
            elif action == "continue":
                await session.continue_after_link_loss()
            elif action == "pause":
                await (session.resume() if session.phase.value in ("paused", "interrupted") else session.pause())
        except RuleViolation as refusal:
            view.say(not_now(refusal))
        except MedctlError as exc:
            view.say(not_taken(exc))


class _ProgressView:
    """One redrawn line on a terminal; occasional plain lines otherwise."""

    def __init__(
        self, out: TextIO, *, live: bool, bell: bool = True, heat_targets_c: Sequence[float] | None = None
    ) -> None:
        self._out = out
        self._live = live
        self._bell = bell
        self._heat_targets_c = heat_targets_c
        self._previous: SessionUpdate | None = None
        self._last_phase: str | None = None
        self._last_plain_s = -PLAIN_PROGRESS_EVERY_S
        self._last_notice: str | None = None

    def show(self, update: SessionUpdate) -> None:
        previous, self._previous = self._previous, update
        if self._bell and cue_between(previous, update) is not None:
            self._out.write("\a")
        if update.notice and update.notice != self._last_notice:
            self._last_notice = update.notice
            self.say(update.notice)
        if self._live and update.phase.value != self._last_phase:
            self._last_phase = update.phase.value
            self.say(f"— {update.phase_text}")
        if self._live:
            width = shutil.get_terminal_size().columns - 1  # a wrapped line cannot be redrawn in place
            line = format_progress(update, heat_targets_c=self._heat_targets_c, columns=width)
            self._out.write("\r\x1b[2K" + line)
            self._out.flush()
            return
        if update.phase.value != self._last_phase or update.massage_s - self._last_plain_s >= PLAIN_PROGRESS_EVERY_S:
            self._last_phase = update.phase.value
            self._last_plain_s = update.massage_s
            print(format_progress(update, heat_targets_c=self._heat_targets_c), file=self._out, flush=True)

    def say(self, text: str) -> None:
        prefix = "\r\x1b[2K" if self._live else ""
        print(f"{prefix}{text}", file=self._out, flush=True)

    def close(self) -> None:
        if self._live:
            print(file=self._out)


def format_progress(
    update: SessionUpdate,
    width: int = 12,
    *,
    heat_targets_c: Sequence[float] | None = None,
    columns: int | None = None,
) -> str:
    """``[warm-up] ███░░ 4:12 left  increases unlock in 0:42  intensity 1  heat 0  31.0 °C``.

    With *columns* the line fits them without cutting a word: the least needed parts go first
    (the mode, the temperature, heat, intensity, then the bar); the phase, the time left and the
    next action stay, and only a terminal narrower than those shortens the next action with "…".
    """
    filled = round(update.progress * width)
    bar = "█" * filled + "░" * (width - filled)
    temp = "--.-" if update.pad_temp_c is None else f"{update.pad_temp_c:4.1f}"
    phase = f"[{update.phase.value.replace('_', '-')}]"
    left = f"{clock_text(update.time_left_s)} left"
    extras = [
        f"intensity {update.intensity}",
        f"heat {update.heat}{heat_target_text(update.heat, heat_targets_c)}",
        f"{temp} °C",
        *([f"mode {update.mode}"] if update.mode else []),
    ]
    line = "  ".join([f"{phase} {bar} {left}", update.next_action, *extras])
    if columns is None or len(line) <= columns:
        return line
    while extras:
        extras.pop()
        line = "  ".join([f"{phase} {bar} {left}", update.next_action, *extras])
        if len(line) <= columns:
            return line
    line = f"{phase} {left}  {update.next_action}"
    if len(line) <= columns:
        return line
    return _shorten(line, columns)


def _shorten(text: str, columns: int) -> str:
    """*text* cut at a word boundary to fit *columns*, with "…" where it was cut."""
    if columns <= 1:
        return text[: max(columns, 0)]
    cut = text[: columns - 1]
    if " " in cut and not text[columns - 1 : columns].isspace():
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


def _print_summary(reason: EndReason, session: Session, out: TextIO) -> None:
    record = session.record
    print(
        f"{ended_text(reason.value, record.massage_s)} Highest intensity {record.max_intensity}.",
        file=out,
    )
    if record.advice:
        print(record.advice, file=out)
    if record.session_id is not None:
        print(f"Recorded as session {record.session_id} (medctl history).", file=out)
