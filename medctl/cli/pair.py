"""``medctl pair``: pair this computer with a massager, using the code printed on it (SPEC.md §11)."""

from __future__ import annotations

import argparse
import sys

from firmware_protocol.auth import format_code
from medctl.cli.common import EXIT_OK, UsageError
from medctl.keys import KeyStore
from medctl.pairing import pair


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "pair",
        help="pair with a massager using the code printed on it (press its pairing button first);"
        " afterwards every command to it is signed",
    )
    parser.add_argument(
        "--device", "-d", required=True, metavar="URL", help="serial:///dev/ttyUSB0, tcp://HOST:PORT or ble://ADDRESS"
    )
    parser.add_argument("--code", metavar="CODE", help="the pairing code, e.g. 7KQM-3XHP (asked for when not given)")
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    code = _pairing_code(args.code)
    keys = KeyStore()
    record = await pair(args.device, code, keys=keys)
    name = record.model or "the massager"
    print(f"paired with {name} (serial {record.serial}); key stored in {keys.path}")
    return EXIT_OK


def _pairing_code(given: str | None) -> str:
    """The code from ``--code``, else asked for on the terminal; a malformed code is a usage error."""
    if given is None:
        if not sys.stdin.isatty():
            raise UsageError("give --code CODE: there is no terminal to ask for the pairing code on")
        given = input("pairing code (printed on the massager): ")
    try:
        return format_code(given)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
