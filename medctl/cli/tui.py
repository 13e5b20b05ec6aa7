"""``medctl tui``: the full-screen guided interface (also what ``medctl`` opens on a terminal).

With no ``--device`` it connects to the remembered massager, else to the built-in simulator
(and says so on screen). Textual is imported only here, so the other commands start fast.
"""

from __future__ import annotations

import argparse
import sys

from medctl.cli.common import EXIT_OK, UsageError, add_db_option, check_address


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("tui", help="the full-screen guided interface (the default on a terminal)")
    parser.add_argument(
        "--device",
        "-d",
        metavar="URL",
        help="sim://[?speed=60], serial:///dev/ttyUSB0, tcp://HOST:PORT "
        "(default: the remembered massager, else the built-in simulator)",
    )
    add_db_option(parser)
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the TUI needs an interactive terminal; without one, use 'medctl session'")
    if args.device is not None:
        check_address(args.device)  # a bad address fails here, in one line, before the screen opens
    from medctl.tui.app import MedctlApp

    app = MedctlApp(device=args.device, db_path=args.db)
    await app.run_async()
    # Textual sets a non-zero return code when the app could not run (an unhandled error)
    return app.return_code or EXIT_OK
