"""The layers hold: checked on the source's import statements, so a new import that breaks one fails here.

firmware_protocol is pure (nothing of ours, no I/O); the simulator never imports medctl; the
session engine drives only the massager interface (no transport, driver, TUI or CLI); the TUI
uses medctl's public API and the interface, never the CLI or a concrete client or driver.
No module in medctl/ is longer than 500 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500

#: Modules that do I/O or run an event loop: the wire protocol's code must not need any of them.
IO_MODULES = frozenset(
    {
        "asyncio",
        "socket",
        "selectors",
        "ssl",
        "serial",
        "serial_asyncio_fast",
        "bleak",
        "bumble",
        "sqlite3",
        "subprocess",
        "threading",
        "multiprocessing",
        "http",
        "urllib",
        "textual",
        "termios",
        "tty",
    }
)


def imports_of(path: Path) -> set[str]:
    """Every module *path* imports, at any depth (inside functions too), as dotted names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def offending(paths: list[Path], banned: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path in paths
        for name in imports_of(path)
        if any(name == ban or name.startswith(ban + ".") for ban in banned)
    )


def test_the_check_sees_imports_inside_functions_and_under_type_checking(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import textual\n"
        "def f():\n    from medctl.cli import main\n    import asyncio.tasks\n"
    )
    assert {"textual", "medctl.cli", "medctl.cli.main", "asyncio.tasks"} <= imports_of(module)


def test_firmware_protocol_imports_nothing_of_ours_and_no_io() -> None:
    assert offending(sources("firmware_protocol"), ("medctl", "simulator", *sorted(IO_MODULES))) == []


def test_the_simulator_never_imports_medctl() -> None:
    assert offending(sources("simulator"), ("medctl",)) == []


def test_the_session_engine_drives_only_the_interface() -> None:
    banned = (
        "medctl.transport",
        "medctl.client",
        "medctl.connection",
        "medctl.tui",
        "medctl.cli",
        "textual",
        "firmware_protocol",
        "medctl.devices.medctl_protocol",
        "medctl.devices.registry",
        "medctl.devices.discovery",
    )
    assert offending(sources("medctl/session"), banned) == []


def test_the_tui_uses_no_cli_and_no_concrete_client_or_driver() -> None:
    banned = (
        "medctl.cli",
        "medctl.client",
        "medctl.transport",
        "medctl.devices.medctl_protocol",
        "firmware_protocol",
    )
    assert offending(sources("medctl/tui"), banned) == []


@pytest.mark.parametrize("path", sources("medctl"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_in_medctl_is_longer_than_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by responsibility"


def test_the_first_screen_is_drawn_before_the_protocol_the_history_or_the_engine_is_imported() -> None:
    """What ``medctl`` imports before its first paint (the app module and its first screen): none of
    the wire protocol, sqlite, the device drivers, the session engine or the other screens. They
    load once connecting or on first use; bench/tui_tmux measures what this buys."""
    import subprocess
    import sys

    code = "import sys, medctl.cli, medctl.cli.tui, medctl.tui.app\nprint('\\n'.join(sorted(sys.modules)))\n"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    late = {
        "firmware_protocol",
        "sqlite3",
        "medctl.history",
        "medctl.devices",
        "medctl.session.engine",
        "medctl.tui.live",
        "medctl.tui.plan",
        "medctl.tui.connect",
        "medctl.tui.history",
        "medctl.tui.summary",
        "medctl.tui.techniques",
        "textual_plotext",
    }
    assert not late & loaded, sorted(late & loaded)
