from __future__ import annotations

import pytest

from medctl.cli import build_parser, with_default_command


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
def test_no_command_means_a_session(argv: list[str], expected: list[str]) -> None:
    assert with_default_command(argv) == expected


def test_session_defaults() -> None:
    args = build_parser().parse_args(with_default_command([]))
    assert args.device == "sim://" and args.minutes == 5.0 and not args.heat and args.target is None
