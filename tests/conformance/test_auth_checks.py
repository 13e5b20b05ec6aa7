"""The pairing checks (SPEC §11) with the code given, and a run against a device that is paired already."""

from __future__ import annotations

import pytest

from medctl.conformance import Outcome, SuiteOptions, link_source, run_suite

CODE = "7KQM-3XHP"


def outcomes(report: object) -> dict[str, Outcome]:
    return {r.id: r.outcome for r in report.results}  # type: ignore[attr-defined]


@pytest.mark.looptime
async def test_pairing_checks_pass_with_the_code_and_leave_the_device_paired() -> None:
    async with link_source(f"sim://?pairing_code={CODE}") as source:
        report = await run_suite(source, SuiteOptions(only=("11",), pairing_code=CODE, destructive=True))
        assert report.ok, [r.line() for r in report.results if r.outcome is Outcome.FAILED]
        got = outcomes(report)
        assert got["auth.session"] is got["auth.replay"] is got["auth.lockout"] is Outcome.PASSED

        again = await run_suite(source)  # the same device, now paired: session checks skip, none fail
    assert again.ok, [r.line() for r in again.results if r.outcome is Outcome.FAILED]
    skipped = {r.id: r.reason for r in again.results if r.outcome is Outcome.SKIPPED}
    assert "msg.start-stop" in skipped and "the device is paired" in skipped["msg.start-stop"]
    assert outcomes(again)["frame.bad-payload"] is Outcome.PASSED


@pytest.mark.looptime
async def test_without_the_code_nothing_is_paired() -> None:
    async with link_source("sim://") as source:
        report = await run_suite(source, SuiteOptions(only=("11",)))
        assert report.ok
        assert outcomes(report)["auth.session"] is Outcome.SKIPPED
        again = await run_suite(source, SuiteOptions(only=("7.4.1",)))
    assert outcomes(again)["msg.hello"] is Outcome.PASSED  # still unpaired: a plain HELLO works


@pytest.mark.looptime
async def test_a_wrong_code_fails_the_pairing_check() -> None:
    async with link_source(f"sim://?pairing_code={CODE}") as source:
        report = await run_suite(source, SuiteOptions(only=("11.5",), pairing_code="2222-2222"))
    failed = {r.id: r.reason for r in report.results if r.outcome is Outcome.FAILED}
    assert "is the code right?" in failed["auth.session"]
