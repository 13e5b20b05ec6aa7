from __future__ import annotations

import pytest

from medctl.cli import COMMANDS, build_parser, main, with_default_command
from medctl.cli.session import _plan as session_plan
from medctl.session import SessionPlan


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["session"]),
        (["--device", "sim://"], ["session", "--device", "sim://"]),
        (["-v"], ["-v", "session"]),
        (["-v", "--minutes", "7"], ["-v", "session", "--minutes", "7"]),
        (["status", "--json"], ["status", "--json"]),
        (["-v", "history"], ["-v", "history"]),
        (["--help"], ["--help"]),
        (["--version"], ["--version"]),
    ],
)
def test_no_command_without_a_terminal_means_a_session(argv: list[str], expected: list[str]) -> None:
    assert with_default_command(argv) == expected
    assert with_default_command(argv, interactive=False) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["tui"]),
        (["--device", "sim://?speed=60"], ["tui", "--device", "sim://?speed=60"]),
        (["-d", "/dev/ttyUSB0", "--db", "h.sqlite3"], ["tui", "-d", "/dev/ttyUSB0", "--db", "h.sqlite3"]),
        (["--device=tcp://h:1"], ["tui", "--device=tcp://h:1"]),
        (["-v"], ["-v", "tui"]),
        (["--minutes", "7"], ["session", "--minutes", "7"]),  # session options mean the headless session
        (["--device", "sim://", "--heat"], ["session", "--device", "sim://", "--heat"]),
        (["--device"], ["session", "--device"]),  # incomplete: let the session's parser say so
        (["session"], ["session"]),
        (["history"], ["history"]),
    ],
)
def test_no_command_on_a_terminal_opens_the_tui(argv: list[str], expected: list[str]) -> None:
    assert with_default_command(argv, interactive=True) == expected


def test_session_defaults() -> None:
    args = build_parser().parse_args(with_default_command([]))
    assert args.device == "sim://" and args.preset is None and not args.no_bell
    assert session_plan(args) == SessionPlan(minutes=5.0, heat=False, target_intensity=None)


def test_tui_defaults_to_the_remembered_device() -> None:
    args = build_parser().parse_args(with_default_command([], interactive=True))
    assert args.device is None and args.db is None


def test_tui_is_a_command() -> None:
    assert "tui" in COMMANDS
    args = build_parser().parse_args(["tui", "--device", "sim://?speed=60"])
    assert args.device == "sim://?speed=60"


def test_the_tui_without_a_terminal_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["tui"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == (
        "medctl: error: the TUI needs an interactive terminal; without one, use 'medctl session'\n"
    )
