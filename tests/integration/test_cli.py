"""The ``medctl`` command as a user runs it: real processes, one-line errors, exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_protocol import Fault
from medctl.history import HistoryStore
from simulator import SimulatedDevice

#: Real-time waits are bounded only to catch a hang: timing is proven on the virtual clock.
HANG_S = 30.0

pytestmark = pytest.mark.realtime

SAFE_ANSWERS = {
    "swelling_bruising_or_injury": False,
    "underlying_condition": False,
    "provider_agreed": False,
    "recent_trauma": False,
    "arm_symptoms": False,
    "severe_headache": False,
    "fever": False,
}


def medctl(*args: str, db: Path | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEDCTL_DB": str(db)} if db else dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "medctl", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def safety_file(tmp_path: Path) -> Path:
    path = tmp_path / "safety.json"
    path.write_text(json.dumps(SAFE_ANSWERS))
    return path


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str, code: int = 1) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]


def test_status_of_the_simulator() -> None:
    result = medctl("status", "--device", "sim://?intensity_levels=3", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["capabilities"]["intensity_levels"] == 3
    assert document["status"]["running"] is False


def test_missing_port_is_one_line() -> None:
    assert_one_line_error(medctl("status", "--device", "serial:///dev/ttyNOPE0"), "cannot open serial port")


def test_unknown_scheme_is_one_line() -> None:
    assert_one_line_error(medctl("status", "--device", "bluetooth://x"), "unknown device address")


def test_device_that_never_answers_is_one_line() -> None:
    controller_fd, device_fd = os.openpty()
    try:
        result = medctl("status", "--device", f"serial://{os.ttyname(device_fd)}")
    finally:
        os.close(controller_fd)
        os.close(device_fd)
    assert_one_line_error(result, "no answer from serial port")


def test_out_of_range_plan_is_a_usage_error(safety_file: Path, tmp_path: Path) -> None:
    result = medctl("session", "--minutes", "12", "--safety-file", str(safety_file), db=tmp_path / "h.db")
    assert_one_line_error(result, "5 to 10 minutes", code=2)


def test_unsafe_answers_give_advice_and_no_session(tmp_path: Path) -> None:
    answers = tmp_path / "unsafe.json"
    answers.write_text(json.dumps({**SAFE_ANSWERS, "arm_symptoms": True}))
    result = medctl("session", "--safety-file", str(answers), db=tmp_path / "h.db")
    assert result.returncode == 7
    assert "doctor" in result.stderr and "Traceback" not in result.stderr


def test_no_terminal_and_no_safety_file_is_a_usage_error(tmp_path: Path) -> None:
    assert_one_line_error(medctl("session", db=tmp_path / "h.db"), "--safety-file", code=2)


def test_corrupt_history_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    db.write_bytes(b"this is not a database" * 100)
    assert_one_line_error(medctl("history", db=db), str(db))
    assert db.read_bytes() == b"this is not a database" * 100


def test_accelerated_session_completes_and_is_in_the_history(safety_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    result = medctl(
        "session", "--device", "sim://?speed=60", "--minutes", "5", "--safety-file", str(safety_file), db=db
    )
    assert result.returncode == 0, result.stderr
    assert "Session complete — well done, after 5:00 of massage." in result.stdout
    assert "no massager named" not in result.stdout  # one was named: sim://?speed=60
    assert json.loads(medctl("history", "--json", db=db).stdout) == []  # a demo on the simulator
    history = json.loads(medctl("history", "--json", "--all", db=db).stdout)
    assert len(history) == 1 and history[0]["simulated"]
    assert history[0]["end_reason"] == "completed" and history[0]["massage_s"] == pytest.approx(300, abs=1)
    with HistoryStore(db) as store:  # a real session earlier today: R9 now asks for a reason
        store.begin_session(device="serial:///dev/ttyUSB0", device_model="M", planned_s=300.0, heat=False,
                            target_intensity=None)  # fmt: skip
    second = medctl("session", "--device", "sim://?speed=60", "--safety-file", str(safety_file), db=db)
    assert second.returncode == 7 and "already started a session today" in second.stderr
    # before any safety question: without a terminal and without answers it is still the frequency advice
    unasked = medctl("session", "--device", "sim://?speed=60", db=db)
    assert unasked.returncode == 7 and "already started a session today" in unasked.stderr
    assert "safety" not in unasked.stderr + unasked.stdout
    third = medctl(
        "session", "--device", "sim://?speed=60", "--safety-file", str(safety_file),
        "--override-frequency", "physio said twice today is fine", db=db,
    )  # fmt: skip
    assert third.returncode == 0, third.stderr
    newest = json.loads(medctl("history", "--json", "--all", "--limit", "1", db=db).stdout)[0]
    assert newest["overrides"] == ["R9: physio said twice today is fine"]


async def test_killed_controller_leaves_device_stopped_and_record_interrupted(
    safety_file: Path, tmp_path: Path
) -> None:
    """SIGKILL mid-session over a pseudo-terminal: the watchdog stops the device, the record survives."""
    db = tmp_path / "history.sqlite3"
    async with SimulatedDevice() as device:
        pty = await device.serve_pty()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "medctl", "session", "--device", f"serial://{pty.path}", "--heat",
            "--safety-file", str(safety_file), "--no-feedback",
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, "MEDCTL_DB": str(db)},
        )  # fmt: skip
        try:
            await device.wait_for(lambda s: s.running and s.heat == 1, timeout=15)
            await asyncio.sleep(0.3)  # let a few events reach the history
        finally:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        # the watchdog's timing is proven on the virtual clock; here a generous bound only catches a hang
        state = await device.wait_for(lambda s: not s.running, timeout=HANG_S)
        assert state.heat == 0 and state.faults & Fault.LINK_LOST
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with HistoryStore(db) as history:
        (record,) = history.sessions()
        assert record.state == "interrupted" and record.end_reason == "interrupted"
        events = history.events(record.id)
        assert [e.kind for e in events][:3] == ["phase", "intensity", "heat"]  # warm-up began, heat went on
        assert "stop" not in {e.kind for e in events}  # it never ended cleanly


async def test_ctrl_c_stops_the_device_and_records_the_session(safety_file: Path, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    async with SimulatedDevice() as device:
        pty = await device.serve_pty()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "medctl", "session", "--device", f"serial://{pty.path}",
            "--safety-file", str(safety_file), "--no-feedback",
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "MEDCTL_DB": str(db)},
        )  # fmt: skip
        await device.wait_for(lambda s: s.running, timeout=15)
        process.send_signal(signal.SIGINT)
        state = await device.wait_for(lambda s: not s.running, timeout=2)
        out, err = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 3, err.decode()
    assert "Traceback" not in err.decode()
    assert "You stopped the session" in out.decode()
    assert not state.faults  # stopped by the controller, not by the watchdog
    with HistoryStore(db) as history:
        (record,) = history.sessions()
    assert record.state == "ended" and record.end_reason == "stopped"
