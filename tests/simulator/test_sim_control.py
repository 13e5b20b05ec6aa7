"""The control port (SPEC.md Appendix A): every device-side fault can be triggered from outside.

The commands are checked against the firmware on fake time (:class:`Bench`); one test speaks
them over a real TCP connection, on real time with a generous bound that only catches a hang.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import pytest

from firmware_protocol import ErrorCode, Fault, GetStatus, MotorState, MsgType, Nack, SetHeat, SetIntensity, Start
from simulator import DeviceConfig, SimulatedDevice
from simulator.control import Controller
from simulator.faults import FaultInjector
from simulator.testing import Bench, RecordingLink


def running(bench: Bench) -> tuple[Controller, RecordingLink]:
    link = bench.link()
    bench.hello(link)
    bench.request(link, Start(1))
    bench.request(link, SetIntensity(2))
    bench.request(link, SetHeat(1))
    return Controller(bench.firmware, FaultInjector(bench.firmware)), link


def test_auto_off(bench: Bench) -> None:
    control, _ = running(bench)
    assert control.execute("auto-off") == "ok auto-off"
    bench.advance(0.1, link=False)
    state = bench.firmware.state
    assert (state.state, state.heat, state.faults, state.run_locked) == (MotorState.IDLE, 0, Fault.AUTO_OFF, True)


def test_heat_limit(bench: Bench) -> None:
    control, _ = running(bench)
    assert control.execute("heat-limit\n") == "ok heat-limit"
    bench.advance(0.1, link=False)
    state = bench.firmware.state
    assert (state.state, state.heat, state.faults) == (MotorState.RUNNING, 0, Fault.AUTO_OFF)


def test_over_temperature(bench: Bench) -> None:
    control, _ = running(bench)
    assert control.execute("OVER-TEMPERATURE") == "ok over-temperature"
    bench.advance(0.1, link=False)
    assert bench.firmware.state.faults == Fault.OVER_TEMPERATURE and bench.firmware.state.heat == 0


def test_stall_and_release(bench: Bench) -> None:
    control, _ = running(bench)
    assert control.execute("stall") == "ok stall"
    bench.advance(0.1, link=False)
    assert bench.firmware.state.faults == Fault.MOTOR_STALL and not bench.firmware.state.running
    assert control.execute("release") == "ok release"
    assert not bench.firmware.stall_injected


@pytest.mark.parametrize(("percent", "fault"), [("4", Fault.NONE), ("0", Fault.BATTERY_EMPTY)])
def test_battery_low_and_empty(make_bench: Callable[..., Bench], percent: str, fault: Fault) -> None:
    bench = make_bench(battery=True)
    control, _ = running(bench)
    assert control.execute(f"battery {percent}") == "ok battery"
    bench.advance(0.1, link=False)
    assert bench.firmware.state.battery == int(percent) and bench.firmware.state.faults == fault


def test_busy_on_and_off(bench: Bench) -> None:
    control, link = running(bench)
    assert control.execute("busy on") == "ok busy"
    assert bench.request(link, GetStatus()) == Nack(MsgType.GET_STATUS, ErrorCode.BUSY)
    assert control.execute("busy off") == "ok busy"
    assert not isinstance(bench.request(link, GetStatus()), Nack)


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ("", "error: empty command; try help"),
        ("explode", "error: unknown command 'explode'; try help"),
        ("stall now", "error: stall: this command takes no argument"),
        ("battery", "error: battery: give the charge in percent, 0..100"),
        ("battery lots", "error: battery: 'lots' is not a number"),
        ("battery nan", "error: battery: nan is not a charge in 0..100"),
        ("battery 101", "error: battery: 101 is not a charge in 0..100"),
        ("battery 50", "error: battery: this device has no battery (DeviceConfig.battery is False)"),
        ("busy maybe", "error: busy: say 'busy on' or 'busy off'"),
    ],
)
def test_bad_commands_get_one_line_and_change_nothing(bench: Bench, line: str, answer: str) -> None:
    control, _ = running(bench)
    before = bench.firmware.state
    assert control.execute(line) == answer
    bench.advance(0.1, link=False)
    after = bench.firmware.state
    assert (after.state, after.heat, after.faults) == (before.state, before.heat, before.faults)


def test_help_and_state_name_every_command(bench: Bench) -> None:
    control, _ = running(bench)
    text = control.execute("help")
    for command in ("auto-off", "heat-limit", "over-temperature", "stall", "release", "battery", "busy", "state"):
        assert command in text
    assert control.execute("state").startswith("ok state=RUNNING intensity=2 heat=1 ")


async def test_the_control_port_over_tcp() -> None:
    async with SimulatedDevice(DeviceConfig(battery=True)) as device:
        endpoint = await device.serve_control()
        reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
        try:
            answers = []
            for line in (b"busy on\n", b"battery 3\n", b"nonsense\n", b"busy off\n"):
                writer.write(line)
                answers.append(await asyncio.wait_for(reader.readline(), 5.0))
            unknown = b"error: unknown command 'nonsense'; try help\n"
            assert answers == [b"ok busy\n", b"ok battery\n", unknown, b"ok busy\n"]
            assert device.state.battery == 3
            writer.write(b"x" * 300 + b"\n")
            assert (await asyncio.wait_for(reader.readline(), 5.0)).startswith(b"error:")
            assert await asyncio.wait_for(reader.read(), 5.0) == b"", "the connection is closed"
        finally:
            writer.close()


async def test_medctl_simulate_control_opens_the_documented_port() -> None:
    """SPEC.md Appendix A end to end: ``medctl simulate --control 0`` prints the port; commands work on it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "medctl", "simulate", "--tcp", "0", "--control", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(30):  # generous: only catches a hang
            while not (line := (await process.stdout.readline()).decode()).startswith("control: "):
                assert line, "medctl simulate ended without opening the control port"
            host, port = line.split()[1].rsplit(":", 1)
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"busy on\nstate\n")
            assert await reader.readline() == b"ok busy\n"
            assert (await reader.readline()).startswith(b"ok state=IDLE intensity=1 heat=0 ")
            writer.close()
    finally:
        process.terminate()
        await process.wait()


async def test_medctl_simulate_has_no_control_port_unless_asked() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "medctl", "simulate", "--tcp", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        lines = []
        async with asyncio.timeout(30):
            while not (line := (await process.stdout.readline()).decode()).startswith("pairing code: "):
                assert line, "medctl simulate ended early"
                lines.append(line)
        assert not [line for line in lines if line.startswith("control: ")]
    finally:
        process.terminate()
        await process.wait()
