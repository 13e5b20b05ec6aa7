"""The device's own time limits (SPEC §7.6): the run budget (auto-off) and the heater budget.

Both budgets count across STOP and START, and rest refills them only slowly, so a run
cannot know how much of them earlier use has taken: it checks the upper bounds a device
must keep — the motor stops at the latest when the run budget is spent since START, even
with a STOP and START half-way; the heater goes off at the latest when the heater budget is
spent — and what the device refuses afterwards. These checks run last: a spent budget stays
locked until 30 minutes of rest, and the device refuses START (or SET_HEAT) until then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from firmware_protocol import ClearFaults, ErrorCode, Fault, FaultEvent, MotorState, SetHeat, Start, Status
from medctl.clock import seconds_until
from medctl.conformance.checks.messages import expect, owned_and_idle
from medctl.conformance.context import Context
from medctl.conformance.model import Failed, Skipped
from medctl.conformance.probe import Event, Probe
from medctl.conformance.registry import check

#: How late a budget may run out, seen from here: the device's polling plus the link.
BUDGET_LATE_S: Final = 1.0
#: FAULT AUTO_OFF ``detail`` (SPEC §5.6): which budget ran out.
RUN_BUDGET, HEATER_BUDGET = 0, 1


async def _heartbeat_until(ctx: Context, probe: Probe, done: Callable[[Event], bool], seconds: float) -> Event | None:
    """Keep the session fed (§6.8) for up to *seconds*; the first event *done* accepts, or None."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := seconds_until(deadline, loop.time())) > 0:
        await probe.heartbeat()
        event = await probe.wait_event(done, min(0.5, left))
        if event is not None:
            return event
    return None


def _status(predicate: Callable[[Status], bool]) -> Callable[[Event], bool]:
    return lambda e: isinstance(e.message, Status) and predicate(e.message)


@check(
    "limits.run-budget",
    "§7.6",
    "the motor stops when the run budget is spent, counted across STOP/START; then START is refused",
    slow=True,
)
async def run_budget(ctx: Context) -> str | None:
    budget = ctx.options.auto_off_s
    probe = await owned_and_idle(ctx)
    await probe.ack(Start(1))
    probe.take_events()  # events before START's answer tell of earlier changes (§7.8)
    half = await _heartbeat_until(ctx, probe, _status(lambda s: s.state is MotorState.IDLE), budget / 2)
    if half is None:  # the budget was not spent yet: STOP and START again at once
        await probe.stop()
        await probe.ack(Start(1))
    restarted = probe.last_sent
    probe.take_events()
    stopped = await _heartbeat_until(
        ctx, probe, _status(lambda s: s.state is MotorState.IDLE), budget / 2 + BUDGET_LATE_S
    )
    if stopped is None:
        raise Failed(
            f"the motor ran {budget:g} s in all (with a STOP and START half-way) and did not stop: the run budget "
            "must count across STOP/START"
        )
    assert isinstance(stopped.message, Status)
    expect(stopped.message.heat == 0, "auto-off left the heater on")
    expect(bool(stopped.message.faults & Fault.AUTO_OFF), "the motor stopped but AUTO_OFF is not latched")
    raised = [e for e in probe.events if isinstance(e.message, FaultEvent) and e.message.fault is Fault.AUTO_OFF]
    if raised:
        assert isinstance(raised[0].message, FaultEvent)
        expect(raised[0].message.detail == RUN_BUDGET, f"FAULT AUTO_OFF detail {raised[0].message.detail}, not 0")
    await probe.refused(Start(1), ErrorCode.FAULT_ACTIVE, int(Fault.AUTO_OFF), "from IDLE with the run budget spent")
    await probe.ack(ClearFaults(Fault.AUTO_OFF))
    expect(bool((await probe.status()).faults & Fault.AUTO_OFF), "CLEAR_FAULTS cleared AUTO_OFF with a spent budget")
    return f"stopped {stopped.at - restarted:.1f} s after the restart; START refused until the budget refills"


@check(
    "limits.heater-budget",
    "§7.6",
    "heat alone goes off when the heater budget is spent; then SET_HEAT > 0 is refused",
    slow=True,
)
async def heater_budget(ctx: Context) -> str | None:
    facts = await ctx.facts()
    if facts.heat_levels == 0:
        raise Skipped("the device has no heater (M = 0)")
    budget = ctx.options.auto_off_s
    probe = await owned_and_idle(ctx)
    await probe.ack(SetHeat(1))  # with the motor stopped: allowed, and limited by the heater budget
    probe.take_events()
    started = probe.last_sent
    off = await _heartbeat_until(ctx, probe, _status(lambda s: s.heat == 0), budget + BUDGET_LATE_S)
    if off is None:
        raise Failed(f"the heater was still on {budget + BUDGET_LATE_S:g} s after SET_HEAT 1")
    assert isinstance(off.message, Status)
    expect(bool(off.message.faults & Fault.AUTO_OFF), "the heater went off but AUTO_OFF is not latched")
    await probe.refused(SetHeat(1), ErrorCode.FAULT_ACTIVE, int(Fault.AUTO_OFF), "with the heater budget spent")
    return f"heat off {off.at - started:.1f} s after SET_HEAT 1"
