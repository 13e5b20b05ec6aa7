"""The ``medctl`` command line.

Every failure a person can cause or meet (a missing port, a silent device, an
out-of-range level, a damaged history file) ends in one line on stderr and a
non-zero exit code, never a traceback. With no command, ``medctl`` runs a
guided session on the configured device, or on the built-in simulator.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from medctl import __version__
from medctl.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, UsageError, add_db_option, add_device_option
from medctl.errors import MedctlError

COMMANDS = ("session", "status", "history", "feedback", "simulate")
_GLOBAL_OPTIONS = ("-v", "--verbose")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(with_default_command(list(sys.argv[1:] if argv is None else argv)))
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
        parser.exit(2, f"medctl: error: {exc}\n")
    except MedctlError as exc:
        print(f"medctl: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def with_default_command(argv: list[str]) -> list[str]:
    """``medctl`` and ``medctl --device URL ...`` mean ``medctl session ...``."""
    position = 0
    while position < len(argv) and argv[position] in _GLOBAL_OPTIONS:
        position += 1
    rest = argv[position:]
    if rest and (rest[0] in COMMANDS or rest[0] in ("-h", "--help", "--version")):
        return argv
    return [*argv[:position], "session", *rest]


def build_parser() -> argparse.ArgumentParser:
    from medctl.cli import history, session, simulate, status

    parser = argparse.ArgumentParser(
        prog="medctl",
        description="Drive a heated neck massager over BLE or serial, and guide a safe session. "
        "With no command: a guided session (on the built-in simulator unless --device is given).",
    )
    parser.add_argument("--version", action="version", version=f"medctl {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log protocol details to stderr")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in (session, status, history, simulate):
        module.register(sub)
    return parser


__all__ = ["add_db_option", "add_device_option", "build_parser", "main"]
