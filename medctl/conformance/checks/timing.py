"""Time-driven behaviour: periodic STATUS and the watchdog (SPEC §7.5, §7.8).

Tolerances are SPEC's (§2): the watchdog fires no earlier than ``watchdog_ms`` and at most
250 ms later; periodic STATUS events are 0.75–1.25 s apart. Measured from this side of the
link, each bound gets a little more room for the link's own delay (:data:`LINK_S`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Final

from firmware_protocol import (
    STATUS_INTERVAL_S,
    ClearFaults,
    ErrorCode,
    Fault,
    FaultEvent,
    MotorState,
    SetIntensity,
    Start,
    Status,
    StatusFlag,
)
from medctl.conformance.checks.messages import expect, owned_and_idle
from medctl.conformance.context import Context
from medctl.conformance.model import Failed
from medctl.conformance.probe import Event
from medctl.conformance.registry import check

#: SPEC §7.5: the watchdog fires at most this long after ``watchdog_ms``.
WATCHDOG_LATE_S: Final = 0.25
#: SPEC §7.8: periodic STATUS events are ``STATUS_INTERVAL_S`` ± this apart.
STATUS_TOLERANCE_S: Final = 0.25
#: Room for the link between us and the device: a frame we time was sent a little before the
#: device got it, an event arrives a little after the device sent it.
LINK_S: Final = 0.1
#: Seen from here, a watchdog may seem to fire this much early (our last frame was still on its way).
EARLY_S: Final = 0.05
LATE_S: Final = WATCHDOG_LATE_S + LINK_S
#: Periodic STATUS events are watched for this long.
STATUS_WATCH_S: Final = 3.5


@check("status.periodic", "§7.8", "a subscribed link gets a STATUS event every second")
async def periodic_status(ctx: Context) -> str | None:
    probe = await owned_and_idle(ctx)
    await probe.listen(0.1)
    probe.take_events()
    await ctx.keep_alive(probe, STATUS_WATCH_S, every=0.5)
    times = [e.at for e in probe.take_events() if isinstance(e.message, Status)]
    expect(len(times) >= 2, f"{len(times)} STATUS event(s) in {STATUS_WATCH_S:g} s without any change of state")
    gaps = [b - a for a, b in itertools.pairwise(times)]
    low = STATUS_INTERVAL_S - STATUS_TOLERANCE_S - LINK_S
    high = STATUS_INTERVAL_S + STATUS_TOLERANCE_S + LINK_S
    wrong = [g for g in gaps if not low <= g <= high]
    expect(not wrong, f"STATUS events {', '.join(f'{g:.2f}' for g in gaps)} s apart; expected 0.75..1.25 s")
    return f"{len(times)} events, {min(gaps):.2f}..{max(gaps):.2f} s apart"


def _is(fault: Fault) -> Callable[[Event], bool]:
    """Matches the FAULT event raising *fault*."""
    return lambda e: isinstance(e.message, FaultEvent) and e.message.fault is fault and e.message.active


def _idle_status(event: Event) -> bool:
    return isinstance(event.message, Status) and event.message.state is MotorState.IDLE


@check(
    "watchdog.fires",
    "§7.5",
    "silent owner: after watchdog_ms the motor stops, LINK_LOST, ownership released",
    slow=True,
)
async def watchdog_fires(ctx: Context) -> str | None:
    facts = await ctx.facts()
    probe = await owned_and_idle(ctx)
    await probe.ack(Start(1))
    await probe.listen(0.1)
    probe.take_events()
    silent_from = probe.last_sent
    loop = asyncio.get_running_loop()
    fault = await probe.wait_event(_is(Fault.LINK_LOST), facts.watchdog_s + LATE_S + 1.0)
    if fault is None:
        waited = loop.time() - silent_from
        raise Failed(f"no FAULT LINK_LOST {waited:.2f} s after the last frame (watchdog_ms {facts.watchdog_ms})")
    after = fault.at - silent_from
    expect(
        facts.watchdog_s - EARLY_S <= after <= facts.watchdog_s + LATE_S,
        f"the watchdog fired {after:.2f} s after the last frame; watchdog_ms says {facts.watchdog_s:g} s "
        f"(tolerance -{EARLY_S:g}/+{LATE_S:g} s)",
    )
    status = await probe.wait_event(_idle_status, probe.answer_timeout)
    expect(status is not None, "no STATUS event showing the motor stopped followed the FAULT event (§7.5)")
    assert status is not None and isinstance(status.message, Status)
    expect(bool(status.message.faults & Fault.LINK_LOST), "the STATUS after the watchdog does not show LINK_LOST")
    expect(not status.message.flags & StatusFlag.OWNED, "the device is still owned after the watchdog fired")
    expect(status.message.heat == 0, "the heater is on after the watchdog fired")
    await probe.refused(SetIntensity(1), ErrorCode.NOT_OWNER, 0, "on the former owner's link after the watchdog")
    await probe.hello()
    await probe.ack(ClearFaults(Fault.LINK_LOST))
    expect(not (await probe.status()).faults & Fault.LINK_LOST, "CLEAR_FAULTS did not clear LINK_LOST")
    return f"fired {after:.2f} s after the last frame"


@check(
    "watchdog.fed-by-requests",
    "§7.5",
    "requests at least every second keep the motor running past the watchdog",
    slow=True,
)
async def watchdog_fed(ctx: Context) -> str | None:
    facts = await ctx.facts()
    probe = await owned_and_idle(ctx)
    await probe.ack(Start(1))
    await ctx.keep_alive(probe, facts.watchdog_s * 2, every=0.5)
    status = await probe.status()
    expect(status.state is MotorState.RUNNING, "the motor stopped although a request came every 0.5 s")
    expect(not any(_is(Fault.LINK_LOST)(e) for e in probe.events), "LINK_LOST although the owner kept talking")
    return None


@check("watchdog.not-fed-by-invalid", "§7.5", "frames dropped as invalid do not feed the watchdog", slow=True)
async def watchdog_not_fed_by_invalid(ctx: Context) -> str | None:
    facts = await ctx.facts()
    probe = await owned_and_idle(ctx)
    await probe.ack(Start(1))
    silent_from = probe.last_sent
    bad = bytes.fromhex("010609004cfa")  # STOP with its CRC little-endian: a bad_crc frame
    loop = asyncio.get_running_loop()
    while loop.time() - silent_from < facts.watchdog_s + LATE_S + 1.0:
        await probe.wire.send(bad)
        fault = await probe.wait_event(_is(Fault.LINK_LOST), 0.4)
        if fault is not None:
            return f"fired {fault.at - silent_from:.2f} s after the last valid frame"
    raise Failed("frames with a bad CRC kept the watchdog from firing")


@check("watchdog.not-fed-by-other-link", "§7.5", "requests on another link do not feed the owner's watchdog", slow=True)
async def watchdog_other_link(ctx: Context) -> str | None:
    facts = await ctx.facts()
    probe = await owned_and_idle(ctx)
    await probe.ack(Start(1))
    silent_from = probe.last_sent
    other = await ctx.second_link()
    loop = asyncio.get_running_loop()
    while loop.time() - silent_from < facts.watchdog_s + LATE_S + 1.0:
        await other.heartbeat()
        fault = await probe.wait_event(_is(Fault.LINK_LOST), 0.5)
        if fault is not None:
            return f"fired {fault.at - silent_from:.2f} s after the owner's last frame"
    raise Failed("HEARTBEATs from another link kept the owner's watchdog from firing")
