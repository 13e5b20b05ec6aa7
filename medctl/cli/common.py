"""Options, exit codes and small helpers shared by the commands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from medctl.connection import DEFAULT_DEVICE
from medctl.errors import MedctlError

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_USAGE: Final = 2
EXIT_STOPPED: Final = 3
EXIT_ENDED_BY_RULE: Final = 4
EXIT_DEVICE_FAULT: Final = 5
EXIT_LINK_LOST: Final = 6
EXIT_NOT_SAFE: Final = 7
EXIT_INTERRUPTED: Final = 130


class UsageError(MedctlError):
    """Bad command-line input; reported like argparse's own errors (exit 2)."""


def add_device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        "-d",
        default=DEFAULT_DEVICE,
        metavar="URL",
        help="sim://[?speed=60], ble://AA:BB:CC:DD:EE:FF, ble://?name=NeckEase, serial:///dev/ttyUSB0, "
        "tcp://HOST:PORT (default: the built-in simulator)",
    )


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="history database (default: $MEDCTL_DB, else the user data directory)",
    )


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def clock_text(seconds: float) -> str:
    whole = max(0, int(seconds + 0.5))
    return f"{whole // 60}:{whole % 60:02d}"
