"""The ``medctl`` command line.

Every failure a person can cause or meet (a missing port, a silent device, an
out-of-range level, a damaged history file) ends in one line on stderr and a
non-zero exit code, never a traceback. With no command, ``medctl`` opens the TUI on an
interactive terminal (on the remembered massager, else the built-in simulator) and runs the
headless guided session otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from medctl import __version__
from medctl.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, UsageError, add_db_option, add_device_option
from medctl.errors import MedctlError
from medctl.text import printable

COMMANDS = ("tui", "session", "status", "history", "feedback", "simulate", "scan", "pair", "conformance")
_GLOBAL_OPTIONS = ("-v", "--verbose")
#: Options ``medctl tui`` takes, each with a value; with only these, a terminal gets the TUI.
_TUI_OPTIONS = ("--device", "-d", "--db")


def main(argv: Sequence[str] | None = None) -> int:
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    given = with_default_command(list(sys.argv[1:] if argv is None else argv), interactive=interactive)
    command = next((word for word in given if word not in _GLOBAL_OPTIONS), None)
    parser = build_parser(only=command)
    args = parser.parse_args(given)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = asyncio.run(args.run(args))
        return code
    except BrokenPipeError:
        # the reader went away (``medctl history --json | head``): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("medctl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        parser.exit(2, f"medctl: error: {printable(str(exc))}\n")
    except MedctlError as exc:  # one line, whatever the message quotes (an address, a device's name)
        print(f"medctl: error: {printable(str(exc))}", file=sys.stderr)
        return EXIT_ERROR


def with_default_command(argv: list[str], *, interactive: bool = False) -> list[str]:
    """No command means ``medctl tui`` on a terminal (when only its options are given), else ``medctl session``."""
    position = 0
    while position < len(argv) and argv[position] in _GLOBAL_OPTIONS:
        position += 1
    rest = argv[position:]
    if rest and (rest[0] in COMMANDS or rest[0] in ("-h", "--help", "--version")):
        return argv
    command = "tui" if interactive and _only_tui_options(rest) else "session"
    return [*argv[:position], command, *rest]


def _only_tui_options(args: list[str]) -> bool:
    """Are *args* all ``--device URL`` / ``--db PATH`` (or ``--device=URL``) pairs?"""
    position = 0
    while position < len(args):
        name, has_value, _ = args[position].partition("=")
        if name not in _TUI_OPTIONS:
            return False
        position += 1 if has_value else 2
    return position == len(args)


class _Parser(argparse.ArgumentParser):
    """argparse, with what it quotes from the command line shown on one printable line."""

    def error(self, message: str) -> NoReturn:
        super().error(printable(message))


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with *only* a command's name, just that command's (the others' modules are not
    imported: ``medctl`` opening the TUI does not wait for the history, pairing or transports)."""
    import importlib

    parser = _Parser(
        prog="medctl",
        description="Drive a heated neck massager over BLE or serial, and guide a safe session. "
        "With no command: the TUI on a terminal, else a guided session without it "
        "(on the built-in simulator unless --device is given).",
    )
    parser.add_argument("--version", action="version", version=f"medctl {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log protocol details to stderr")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    names = (
        [_MODULES.get(only, only)] if only in COMMANDS else list(dict.fromkeys(_MODULES.get(c, c) for c in COMMANDS))
    )
    for name in names:
        importlib.import_module(f"medctl.cli.{name}").register(sub)
    return parser


#: The module of each command whose module has another name.
_MODULES = {"feedback": "history"}


__all__ = ["add_db_option", "add_device_option", "build_parser", "main"]
