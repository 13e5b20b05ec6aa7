"""``medctl tui`` never exits 0 when the interface could not run, and a bad address stops it before the screen."""

from __future__ import annotations

import argparse
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from medctl.cli import tui as tui_command
from medctl.cli.common import EXIT_OK


class _BrokenApp(App[None]):
    def __init__(self, **_: object) -> None:
        super().__init__()

    def compose(self) -> ComposeResult:
        raise RuntimeError("cannot draw")

    async def run_async(self, **options: object) -> None:  # type: ignore[override]
        await super().run_async(headless=True)


async def test_an_interface_that_fails_to_start_exits_non_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("medctl.tui.app.MedctlApp", _BrokenApp)
    monkeypatch.setattr(tui_command.sys, "stdin", type("Tty", (), {"isatty": staticmethod(lambda: True)})())
    monkeypatch.setattr(tui_command.sys, "stdout", type("Tty", (), {"isatty": staticmethod(lambda: True)})())
    code = await tui_command.run(argparse.Namespace(device=None, db=None))
    assert code != EXIT_OK


def test_a_bad_simulator_option_is_one_line_before_the_screen_opens(tmp_path: Path) -> None:
    """On a real terminal (a pseudo-terminal): no screen, no traceback, exit 1."""
    main, child = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "medctl", "tui", "--device", "sim://?speed=0"],
            stdin=child, stdout=child, stderr=subprocess.PIPE, timeout=60, check=False,
            env={**os.environ, "MEDCTL_DB": str(tmp_path / "h.sqlite3"), "XDG_CONFIG_HOME": str(tmp_path)},
        )  # fmt: skip
    finally:
        os.close(main)
        os.close(child)
    assert done.returncode == 1
    assert done.stderr.decode().strip().splitlines() == [
        "medctl: error: sim://?speed=0: speed must be above 0 and at most 10000"
    ]
