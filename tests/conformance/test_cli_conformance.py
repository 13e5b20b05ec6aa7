"""``medctl conformance`` and ``medctl simulate --deviate`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medctl.cli import main
from medctl.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE


def test_a_passing_run_exits_0_and_writes_the_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    assert main(["conformance", "--device", "sim://", "--only", "7.4.1", "--json", str(report)]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "conformance of the built-in simulator (sim://)"
    assert any(line.startswith("PASS msg.hello ") and "§7.4.1" in line for line in out)
    assert out[-1].startswith("3 checks: 3 passed, 0 failed, 0 skipped in ")
    written = json.loads(report.read_text())
    assert written["ok"] is True and written["failed"] == 0
    assert {c["id"] for c in written["checks"]} == {"frame.answer-valid", "msg.hello", "own.other-controller"}
    assert written["device_facts"]["intensity_levels"] == 5


def test_a_deviating_device_fails_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "--device", "sim://?deviate=clamp_out_of_range", "--only", "range"]) == EXIT_ERROR
    out = capsys.readouterr().out
    assert "FAIL range.start" in out and "§7.1" in out
    assert "3 failed" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["conformance", "--device", "sim://?deviate=bogus"], "unknown deviation 'bogus'"),
        (["conformance", "--device", "nowhere://x"], "unknown device address"),
    ],
)
def test_a_bad_address_is_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["conformance", "--device", "sim://", "--pairing-code", "0000"], "is not a pairing code"),
        (["simulate", "--deviate", "late_stop"], "unknown deviation 'late_stop'"),
        (["conformance", "--device", "sim://", "--only", "13.2"], "no check matches --only 13.2"),
    ],
)
def test_bad_options_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
