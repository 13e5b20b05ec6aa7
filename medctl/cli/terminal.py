"""Single-key input for the headless session: cbreak mode on a terminal, restored on exit.

``termios``/``tty`` exist on POSIX only: they are imported when keys are read, so the module
(and ``medctl``) imports everywhere; without them keys are simply not read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def keypresses(handler: Callable[[str], None]) -> Iterator[bool]:
    """Call *handler* with each key typed; yields False (and does nothing) when stdin is not a terminal."""
    try:
        import termios
        import tty
    except ImportError:  # Windows: no cbreak mode; the session runs, Ctrl-C still stops it
        termios = tty = None  # type: ignore[assignment]
    if termios is None or tty is None or not sys.stdin.isatty():
        yield False
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()

    def on_readable() -> None:
        data = os.read(fd, 32).decode(errors="ignore")
        for key in data:
            handler(key)

    tty.setcbreak(fd)
    loop.add_reader(fd, on_readable)
    try:
        yield True
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def ask_yes_no(question: str) -> bool:
    while True:
        answer = input(f"{question} [y/n] ").strip().lower()
        if answer in ("y", "yes"):
            return True
        if answer in ("n", "no"):
            return False
        print("  please answer y or n")


def ask_choice(question: str, choices: tuple[str, ...]) -> str:
    while True:
        answer = input(f"{question} [{'/'.join(choices)}] ").strip().lower()
        if answer in choices:
            return answer
        print(f"  please answer one of: {', '.join(choices)}")


def ask_int(question: str, low: int, high: int) -> int:
    while True:
        answer = input(f"{question} [{low}-{high}] ").strip()
        if answer.isdigit() and low <= int(answer) <= high:
            return int(answer)
        print(f"  please give a whole number from {low} to {high}")
