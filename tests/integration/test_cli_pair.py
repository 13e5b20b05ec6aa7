"""``medctl pair`` and the commands after it, as a user runs them: real processes on a pseudo-terminal."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulator import DeviceConfig, SimulatedDevice

pytestmark = pytest.mark.realtime

CODE = "7KQM-3XHP"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Served:
    device: SimulatedDevice
    url: str
    keys: Path

    async def medctl(self, *args: str) -> Result:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "medctl", *args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "MEDCTL_KEYS": str(self.keys)},
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with SimulatedDevice(DeviceConfig(pairing_code=CODE)) as device:
        pty = await device.serve_pty()
        device.firmware.open_pairing_window()  # the pairing button
        yield Served(device, f"serial://{pty.path}", tmp_path / "config" / "keys.json")


def assert_one_line_error(result: Result, fragment: str, code: int = 1) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]


async def test_pair_then_status_is_signed(served: Served) -> None:
    paired = await served.medctl("pair", "--device", served.url, "--code", CODE.lower().replace("-", " "))
    assert paired.returncode == 0, paired.stderr
    assert paired.stdout.strip() == f"paired with NeckEase 2 (serial NE2-000001); key stored in {served.keys}"
    assert served.keys.stat().st_mode & 0o777 == 0o600
    assert served.keys.parent.stat().st_mode & 0o777 == 0o700
    status = await served.medctl("status", "--device", served.url, "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["protocol_version"] == 3
    state = served.device.state
    assert len(served.device.firmware.auth.controllers) == 1
    assert (state.auth_required, state.auth_failed, state.replayed) == (0, 0, 0)


async def test_a_wrong_code_is_one_line_and_stores_nothing(served: Served) -> None:
    result = await served.medctl("pair", "--device", served.url, "--code", "ZZZZ-2222")
    assert_one_line_error(result, "the massager refused the pairing code")
    assert not served.keys.exists() and not served.device.firmware.auth.paired


async def test_a_malformed_code_is_a_usage_error(served: Served) -> None:
    result = await served.medctl("pair", "--device", served.url, "--code", "7KQM-3XH0")
    assert_one_line_error(result, "is not a pairing code", code=2)


async def test_without_a_code_or_a_terminal_pair_asks_for_one(served: Served) -> None:
    result = await served.medctl("pair", "--device", served.url)
    assert_one_line_error(result, "give --code CODE", code=2)


async def test_a_paired_massager_refuses_a_controller_without_its_key(served: Served, tmp_path: Path) -> None:
    assert (await served.medctl("pair", "--device", served.url, "--code", CODE)).returncode == 0
    served.keys = tmp_path / "another-computer" / "keys.json"
    result = await served.medctl("status", "--device", served.url)
    assert_one_line_error(result, f"pair with it first (medctl pair --device {served.url}")


async def test_a_key_file_others_can_read_is_refused(served: Served) -> None:
    assert (await served.medctl("pair", "--device", served.url, "--code", CODE)).returncode == 0
    served.keys.chmod(0o644)
    result = await served.medctl("status", "--device", served.url)
    assert_one_line_error(result, "can be read or changed by other users (mode 0644)")
    assert not served.device.state.owned


async def test_simulate_prints_its_pairing_code_and_pairs(tmp_path: Path) -> None:
    env = {**os.environ, "MEDCTL_KEYS": str(tmp_path / "keys.json")}
    simulator = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "medctl", "simulate", "--pairing-window",
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        assert simulator.stdout is not None
        serial_line = (await asyncio.wait_for(simulator.stdout.readline(), 10)).decode()
        code_line = (await asyncio.wait_for(simulator.stdout.readline(), 10)).decode()
        assert re.fullmatch(r"serial: /dev/\S+\n", serial_line)
        match = re.fullmatch(r"pairing code: ([2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4})\n", code_line)
        assert match is not None, code_line
        url = f"serial://{serial_line.split()[1]}"
        pair = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "medctl", "pair", "--device", url, "--code", match.group(1),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )  # fmt: skip
        out, err = await asyncio.wait_for(pair.communicate(), 20)
        assert pair.returncode == 0, err.decode()
        assert re.fullmatch(r"paired with NeckEase 2 \(serial NE2-\d{6}\); key stored in .*\n", out.decode())
    finally:
        simulator.send_signal(signal.SIGINT)
        await asyncio.wait_for(simulator.wait(), 10)


async def test_pairing_without_the_button_is_one_line_that_says_to_press_it(served: Served) -> None:
    served.device.firmware.auth.close_window()
    result = await served.medctl("pair", "--device", served.url, "--code", CODE)
    assert_one_line_error(result, "press its pairing button")
    assert not served.keys.exists() and not served.device.firmware.auth.paired
