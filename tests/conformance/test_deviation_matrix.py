"""The conformance suite catches every documented deviation, and passes the correct simulator on every link.

Each deviation flag of ``simulator/deviations.py`` makes the simulated firmware break one
SPEC rule; the suite run against it must fail at least one check of that SPEC section, and
no check of an unrelated one. On the virtual clock (in-process and BLE) the whole suite,
slow checks included, runs in little wall time; over a real pseudo-terminal and TCP the
default checks run on real time.
"""

from __future__ import annotations

import pytest

from medctl.address import parse_address
from medctl.conformance import LinkSource, Outcome, Report, SuiteOptions, all_checks, link_source, run_suite
from medctl.transport.ble import BleBackend, BleTransport
from medctl.transport.serial import SerialTransport
from medctl.transport.tcp import TcpTransport
from simulator import SimulatedDevice
from simulator.ble import virtual_ble
from simulator.bleak_backend import BumbleClient, BumbleScanner
from simulator.deviations import SECTIONS, names_of

#: Sections a deviation may also break, besides its own: an ignored ownership also lets a
#: link START after its GOODBYE (§7.4.2); without de-duplication a signed retry is refused as a
#: replay, which §11.3 rules out in so many words.
ALSO: dict[str, set[str]] = {"ignore_ownership": {"§7.4.2"}, "no_dedup": {"§11.3"}}
CODE = "7KQM-3XHP"
#: Why a check may be skipped on a link when the run was not given the code or --destructive.
NOT_ASKED = ("slow:", "destructive:", "pairing code", "paired by auth.session")
#: The one deviation only a slow check sees.
SLOW = {"slow_watchdog"}


def failures(report: Report) -> dict[str, str]:
    return {r.id: f"{r.section}: {r.reason}" for r in report.results if r.outcome is Outcome.FAILED}


def test_every_deviation_is_in_the_matrix() -> None:
    assert set(SECTIONS) == set(names_of())


@pytest.mark.looptime
@pytest.mark.parametrize("deviation", names_of())
async def test_deviation_is_reported_with_its_section(deviation: str) -> None:
    options = SuiteOptions(
        slow=deviation in SLOW, only=("7.5",) if deviation in SLOW else (), pairing_code=CODE, destructive=True
    )
    async with link_source(f"sim://?deviate={deviation}&pairing_code={CODE}") as source:
        report = await run_suite(source, options)
    failed = report.failed_sections()
    assert SECTIONS[deviation] in failed, failures(report)
    assert failed <= {SECTIONS[deviation], *ALSO.get(deviation, set())}, failures(report)
    assert not report.ok


@pytest.mark.looptime
async def test_correct_simulator_passes_everything_in_process() -> None:
    """Every check: slow ones (the auto-off check runs the motor 900 virtual seconds), destructive ones, pairing."""
    async with link_source(f"sim://?pairing_code={CODE}") as source:
        report = await run_suite(source, SuiteOptions(slow=True, destructive=True, pairing_code=CODE))
    assert report.ok, failures(report)
    skipped = {r.id for r in report.results if r.outcome is Outcome.SKIPPED}
    # frames travel whole in process; the simulator has modes, so the checks of a device without them skip
    assert all(check_id.startswith("stream.") or check_id == "mode.absent" for check_id in skipped), skipped
    assert len(report.results) == len(all_checks())


@pytest.mark.looptime
async def test_a_simulator_without_modes_passes_and_skips_only_the_mode_checks() -> None:
    async with link_source("sim://?modes=") as source:
        report = await run_suite(source, SuiteOptions(only=("7.4.11",)))
    outcomes = {r.id: r.outcome for r in report.results}
    assert outcomes["mode.absent"] is Outcome.PASSED, failures(report)
    assert outcomes["mode.names"] is Outcome.SKIPPED and outcomes["mode.set"] is Outcome.SKIPPED
    assert report.ok, failures(report)


@pytest.mark.realtime
async def test_correct_simulator_passes_over_a_pty() -> None:
    async with SimulatedDevice() as device:
        pty = await device.serve_pty()
        source = LinkSource(lambda: SerialTransport(pty.path), f"serial port {pty.path}", multi_link=False)
        report = await run_suite(source)
    assert report.ok, failures(report)
    skipped = {r.id: r.reason for r in report.results if r.outcome is Outcome.SKIPPED}
    assert all(
        why.startswith(NOT_ASKED) or "single link" in why or "pairing" in why or i == "mode.absent"
        for i, why in skipped.items()
    ), skipped
    assert not device.state.running and not device.state.owned


@pytest.mark.realtime
async def test_correct_simulator_passes_over_tcp() -> None:
    async with SimulatedDevice() as device:
        tcp = await device.serve_tcp()
        source = LinkSource(lambda: TcpTransport(tcp.host, tcp.port), f"tcp://{tcp.host}:{tcp.port}")
        report = await run_suite(source)
    assert report.ok, failures(report)
    skipped = {r.id: r.reason for r in report.results if r.outcome is Outcome.SKIPPED}
    assert all(why.startswith(NOT_ASKED) or "pairing" in why or i == "mode.absent" for i, why in skipped.items()), (
        skipped
    )
    assert not device.state.running and not device.state.owned


@pytest.mark.looptime
async def test_correct_simulator_passes_over_the_virtual_ble_link() -> None:
    async with SimulatedDevice() as device, virtual_ble(device) as air:
        backend = BleBackend(BumbleScanner, BumbleClient, {"radio": air.central})
        address = parse_address(f"ble://{air.address}")
        source = LinkSource(lambda: BleTransport(address, backend=backend), f"ble://{air.address}")
        report = await run_suite(source, SuiteOptions(slow=True, only=()))
    assert report.ok, failures(report)
    skipped = {r.id: r.reason for r in report.results if r.outcome is Outcome.SKIPPED}
    assert all(
        i.startswith("stream.")
        or why.startswith(NOT_ASKED)
        or "second link" in why
        or "pairing" in why
        or i == "mode.absent"
        for i, why in skipped.items()
    ), skipped
    assert not device.state.running and not device.state.owned
