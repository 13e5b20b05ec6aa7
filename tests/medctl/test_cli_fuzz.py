"""No command-line input ends in a traceback: hypothesis writes the argv, every command and option.

Each run goes through ``medctl.cli.main`` in this process. A command that accepts its input and
would go on running (``simulate``) is given a few seconds and then counted as accepted; anything
that fails must fail in one line on stderr with a non-zero exit code. Only this machine is ever
contacted: TCP addresses are on the loopback interface.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Coroutine
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import medctl.cli
from medctl.cli import main

#: A command that accepted its input and keeps running is stopped after this long (real time).
ACCEPTED_AFTER_S = 2.0
ACCEPTED = -1

numbers = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["nan", "-inf", "inf", "0", "-1", "1e308", "65536", "99999", "", " ", "5", "7.5", "0x10"]),
)
words = st.text(st.characters(exclude_categories=("Cs",)), max_size=24).filter(lambda t: "\x00" not in t)
options = st.dictionaries(
    st.sampled_from(["speed", "intensity_levels", "heat_levels", "watchdog_s", "max_temp_c", "auto_off_s",
                     "battery", "time_constant_s", "name", "timeout", "baud", "hci", "bogus"]),
    st.one_of(numbers, words),
    max_size=3,
)  # fmt: skip


@st.composite
def addresses(draw: st.DrawFn) -> str:
    query = "&".join(f"{k}={v}" for k, v in draw(options).items())
    kind = draw(st.sampled_from(["sim", "tcp", "serial", "ble", "text", "other"]))
    if kind == "sim":
        return f"sim://?{query}"
    if kind == "tcp":
        return f"tcp://127.0.0.1:{draw(numbers)}?{query}"
    if kind == "serial":
        return f"serial:///dev/{draw(words)}?{query}"
    if kind == "ble":
        return f"ble://{draw(words)}?{query}"
    if kind == "other":
        return f"{draw(words)}://{draw(words)}"
    return draw(words.filter(lambda t: not t.lower().startswith("tcp")))


def pick(draw: st.DrawFn, flags: dict[str, st.SearchStrategy[str]]) -> list[str]:
    argv: list[str] = []
    for flag, values in flags.items():
        if draw(st.booleans()):
            argv += [flag, draw(values)]
    return argv


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(["status", "session", "history", "feedback", "simulate", "pair", "tui", "none",
                                    "random"]))  # fmt: skip
    if command == "status":
        return ["status", "--device", draw(addresses()), *draw(st.sampled_from([[], ["--json"]]))]
    if command == "session":
        return ["session", "--device", draw(addresses()),
                *pick(draw, {"--minutes": numbers, "--target": numbers, "--safety-file": words})]  # fmt: skip
    if command == "history":
        return ["history", *pick(draw, {"--db": words, "--limit": numbers}),
                *draw(st.sampled_from([[], ["--json"], ["--csv"]]))]  # fmt: skip
    if command == "feedback":
        return ["feedback", draw(st.one_of(numbers, st.just("last"))), "--relief", draw(numbers),
                "--soreness", draw(st.one_of(st.sampled_from(["better", "same", "worse"]), words)),
                *pick(draw, {"--note": words})]  # fmt: skip
    if command == "simulate":
        return ["simulate", *pick(draw, {"--tcp": numbers, "--speed": numbers, "--intensity-levels": numbers,
                                         "--heat-levels": numbers, "--ble-port": numbers})]  # fmt: skip
    if command == "pair":
        return ["pair", "--device", draw(addresses()), "--code", draw(words)]
    if command == "tui":
        return ["tui", "--device", draw(addresses())]
    if command == "none":
        return ["--device", draw(addresses()), *pick(draw, {"--minutes": numbers})]
    return draw(st.lists(st.one_of(words, numbers, st.sampled_from(["--device", "-d", "--db", "-v", "--json"])),
                         max_size=6))  # fmt: skip


_real_run = asyncio.run


def _bounded_run(coro: Coroutine[Any, Any, int]) -> int:
    """``asyncio.run`` for the fuzz: a command still running after a while has accepted its input."""

    async def bounded() -> int:
        deadline = asyncio.timeout(ACCEPTED_AFTER_S)
        try:
            async with deadline:
                return await coro
        except TimeoutError:
            if deadline.expired():
                return ACCEPTED
            raise

    return _real_run(bounded())


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every file the commands may write lands in a temporary folder; nothing reads a terminal."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEDCTL_DB", str(tmp_path / "history.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(medctl.cli.asyncio, "run", _bounded_run)  # the module is asyncio itself
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    return tmp_path


#: The suite's run is derandomized (the same inputs every time, so CI is repeatable); set
#: MEDCTL_FUZZ_EXAMPLES to search further with fresh random inputs.
EXAMPLES = int(os.environ.get("MEDCTL_FUZZ_EXAMPLES", "0"))


@settings(
    max_examples=EXAMPLES or 150,
    derandomize=not EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(argv=command_lines())
@example(argv=["status", "--device", "sim://?speed=0"])
@example(argv=["status", "--device", "sim://?speed=-5"])
@example(argv=["tui", "--device", "sim://?speed=0"])
@example(argv=["simulate", "--tcp", "99999"])
@example(argv=["simulate", "--tcp", "-1"])
@example(argv=["simulate", "--speed", "inf"])
@example(argv=["session", "--device", "sim://?speed=nan", "--minutes", "5"])
@example(argv=["history", "--limit", "-3"])
def test_no_input_ends_in_a_traceback(sandbox: Path, argv: list[str]) -> None:
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's own usage errors, --help and --version
            code = exit_.code if isinstance(exit_.code, int) else 1
    stderr = err.getvalue()
    assert "Traceback" not in stderr, f"{argv!r}:\n{stderr}"
    if code in (0, ACCEPTED):
        return
    # lines as a terminal shows them (str.splitlines would also split at \x1c-\x1e, which the user typed)
    problems = [line for line in stderr.split("\n") if line and not line.startswith(("usage:", " "))]
    assert len(problems) == 1, f"{argv!r} exited {code} with:\n{stderr}"
