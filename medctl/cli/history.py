"""``medctl history`` and ``medctl feedback``: the recorded sessions, and how they felt."""

from __future__ import annotations

import argparse
import sys

from medctl.cli.common import EXIT_OK, UsageError, add_db_option, history_path, int_in
from medctl.cli.terminal import ask_yes_no
from medctl.formatting import clock_text, ended_short, feedback_text
from medctl.history import Feedback, HistoryStore, SessionRecord
from medctl.session.rules.frequency import overdone_advice


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    history = sub.add_parser("history", help="list recorded sessions (table, --json or --csv)")
    form = history.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="all sessions with their events, as JSON")
    form.add_argument("--csv", action="store_true", help="one row per session, as CSV")
    history.add_argument("--limit", type=int_in(1, 1_000_000), metavar="N", help="only the newest N sessions")
    history.add_argument(
        "--all", action="store_true", help="also sessions on the built-in simulator (demos; left out of R9)"
    )
    add_db_option(history)
    history.set_defaults(run=run_history)

    feedback = sub.add_parser("feedback", help="record how a session felt (for the frequency advice)")
    feedback.add_argument("session", nargs="?", default="last", help="session id (default: the last one)")
    feedback.add_argument("--relief", type=int_in(0, 10), required=True, metavar="0-10")
    feedback.add_argument("--soreness", choices=("better", "same", "worse"), required=True)
    feedback.add_argument("--sharp-pain", action="store_true")
    feedback.add_argument("--inflammation", action="store_true")
    feedback.add_argument("--note", default="")
    feedback.add_argument("--yes", "-y", action="store_true", help="replace earlier feedback without asking")
    add_db_option(feedback)
    feedback.set_defaults(run=run_feedback)


async def run_history(args: argparse.Namespace) -> int:
    path = history_path(args)
    if not path.exists():
        if args.json:
            print("[]")
        elif not args.csv:
            print(f"No sessions recorded yet ({path}).")
        return EXIT_OK
    with HistoryStore(path, read_only=True) as store:
        sessions = store.sessions(limit=args.limit, include_simulated=args.all)
        if args.json:
            print(store.export_json(sessions))
        elif args.csv:
            print(store.export_csv(sessions), end="")
        else:
            print(format_table(sessions))
    return EXIT_OK


def format_table(sessions: list[SessionRecord]) -> str:
    if not sessions:
        return "No sessions recorded yet."
    rows = ["  id  started (local)   length  max  heat  ended            feedback"]
    for record in sessions:
        started = record.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
        rows.append(
            f"{record.id:>4}  {started}  {clock_text(record.massage_s):>6}  {record.max_intensity:>3}  "
            f"{'yes' if record.heat else 'no':>4}  {ended_short(record.end_reason or record.state):<15}  "
            f"{feedback_text(record.feedback)}"
        )
    return "\n".join(rows)


def _replace(session_id: int, earlier: Feedback) -> bool:
    """Ask before replacing feedback; without a terminal to ask on, refuse (``--yes`` replaces)."""
    question = f"Session {session_id} already has feedback ({feedback_text(earlier)}). Replace it?"
    if not sys.stdin.isatty():
        raise UsageError(f"session {session_id} already has feedback ({feedback_text(earlier)}); --yes replaces it")
    try:
        return ask_yes_no(question)
    except (KeyboardInterrupt, EOFError):
        return False


async def run_feedback(args: argparse.Namespace) -> int:
    try:
        feedback = Feedback(
            relief=args.relief,
            soreness=args.soreness,
            sharp_pain=args.sharp_pain,
            inflammation=args.inflammation,
            note=args.note,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    with HistoryStore(history_path(args)) as store:
        if args.session == "last":
            newest = store.sessions(limit=1)
            if not newest:
                raise UsageError("no sessions recorded yet")
            session_id = newest[0].id
        elif args.session.isdigit():
            session_id = int(args.session)
        else:
            raise UsageError(f"session must be a number or 'last', not {args.session!r}")
        earlier = store.session(session_id).feedback
        if earlier is not None and not args.yes and not _replace(session_id, earlier):
            print(f"Session {session_id} keeps its earlier feedback ({feedback_text(earlier)}).")
            return EXIT_OK
        store.add_feedback(session_id, feedback)
        demo = store.session(session_id).simulated
    print(f"Feedback for session {session_id} saved.")
    advice = overdone_advice(feedback.overdone, demo=demo)
    if advice is not None:
        print(advice)
    return EXIT_OK
