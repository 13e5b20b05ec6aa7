"""Options, exit codes and small helpers shared by the commands."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Final

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


class _DeviceNamed(argparse.Action):
    """Keeps the URL and notes that one was named, so "no massager named" is said only then."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object, option: str | None = None
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.device_named = True


#: medctl.connection.DEFAULT_DEVICE, without importing the transports before the TUI's first paint.
DEFAULT_DEVICE = "sim://"


def add_device_option(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(device_named=False)
    parser.add_argument(
        "--device",
        "-d",
        action=_DeviceNamed,
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


def history_path(args: argparse.Namespace) -> Path:
    """``--db`` (or the default); a folder is refused in one line rather than read as "no history yet"."""
    from medctl.history import default_db_path

    path: Path = args.db or default_db_path()
    if path.is_dir():
        raise UsageError(f"--db {path} is a folder; name the history file in it, e.g. {path / 'history.sqlite3'}")
    return path


def check_address(url: str) -> None:
    """Refuse a malformed address (and, for ``sim://``, a bad simulator option) in one line, before any I/O."""
    from medctl.address import parse_address

    address = parse_address(url)
    if address.scheme == "sim":
        from medctl.transport.sim import sim_config

        sim_config(address)


def positive_float(text: str) -> float:
    """A finite number above 0 (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number above 0")
    return value


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from *low* to *high*."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


#: A TCP port to listen on (0: any free one).
port_number = int_in(0, 65_535)
