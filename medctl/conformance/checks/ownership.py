"""Sessions, ownership, takeover and STOP from anyone (SPEC §7.2, §7.4.1, §7.4.6)."""

from __future__ import annotations

from firmware_protocol import (
    Ack,
    ClearFaults,
    ErrorCode,
    Fault,
    GetInfo,
    GetStatus,
    Goodbye,
    Heartbeat,
    Hello,
    InfoField,
    MotorState,
    SetHeat,
    SetIntensity,
    Start,
    Status,
    StatusFlag,
    Stop,
)
from medctl.conformance.checks.messages import expect, owned_and_idle
from medctl.conformance.context import Context
from medctl.conformance.probe import describe
from medctl.conformance.registry import check

#: How long a link without a session listens for events it must not get (a STATUS is due every 1 s).
QUIET_S = 1.5


@check(
    "own.hello-required",
    "§7.2",
    "without a session START, SET_INTENSITY, SET_HEAT and CLEAR_FAULTS are refused HELLO_REQUIRED",
)
async def hello_required(ctx: Context) -> str | None:
    probe = await ctx.link()
    for request in (Start(1), SetIntensity(1), SetHeat(0), ClearFaults(Fault.NONE)):
        await probe.refused(request, ErrorCode.HELLO_REQUIRED, 0, "without a session")
    expect((await probe.status()).state is MotorState.IDLE, "a refused START started the motor")
    for open_request in (GetInfo(InfoField.MODEL), GetStatus(), Heartbeat(), Stop()):
        answer = await probe.request(open_request)
        expect(isinstance(answer, Ack), f"{open_request.TYPE.name} without a session: {describe(answer)}")
    return None


@check("own.other-controller", "§7.4.1", "HELLO from another controller_id while the device is owned → NOT_OWNER")
async def other_controller(ctx: Context) -> str | None:
    probe = await owned_and_idle(ctx)
    await probe.refused(
        Hello(1, 2, probe.controller_id ^ 0x5A5A5A5A), ErrorCode.NOT_OWNER, 0, "from another controller"
    )
    await probe.ack(Start(1))  # the owner keeps its ownership
    return None


@check("own.no-events-without-session", "§7.8", "a link without a session gets no events; with one it does")
async def no_events_without_session(ctx: Context) -> str | None:
    probe = await ctx.link()
    await probe.listen(0.1)
    probe.take_events()
    await probe.listen(QUIET_S)
    events = probe.take_events()
    expect(not events, f"{len(events)} event(s) arrived on a link without a session")
    return None


@check("own.takeover", "§7.2", "the same controller_id on a second link takes ownership; the old link's session ends")
async def takeover(ctx: Context) -> str | None:
    first = await owned_and_idle(ctx)
    await first.ack(Start(1))
    second = await ctx.second_link()
    second.controller_id = first.controller_id
    await second.hello()
    status = await second.status()
    expect(status.state is MotorState.RUNNING, "a takeover changed the motor state (§7.4.1: unchanged)")
    await first.refused(SetIntensity(1), ErrorCode.HELLO_REQUIRED, 0, "on the link that was taken over")
    first.in_session = False
    await first.listen(0.1)
    first.take_events()
    await second.ack(SetIntensity(1))
    await first.listen(QUIET_S)
    expect(not first.take_events(), "the link that was taken over still gets events")
    await second.ack(SetIntensity(1))
    return None


@check("own.other-link", "§7.2", "another controller on a second link is refused NOT_OWNER, and cannot start the motor")
async def other_link(ctx: Context) -> str | None:
    owner = await owned_and_idle(ctx)
    other = await ctx.second_link()
    await other.refused(Hello(1, 2, other.controller_id), ErrorCode.NOT_OWNER, 0, "while another controller owns it")
    await other.refused(Start(1), ErrorCode.HELLO_REQUIRED, 0, "from a link without a session")
    goodbye = await other.request(Goodbye())
    expect(isinstance(goodbye, Ack), f"GOODBYE from another link: {describe(goodbye)} (§7.4.2: always ACK)")
    status = await owner.status()
    expect(bool(status.flags & StatusFlag.OWNED), "GOODBYE from another link released the ownership")
    expect(status.state is MotorState.IDLE, "the other link changed the motor state")
    return None


@check("own.stop-from-anyone", "§7.4.6", "STOP from a link without a session stops the motor; ownership stays")
async def stop_from_anyone(ctx: Context) -> str | None:
    facts = await ctx.facts()
    owner = await owned_and_idle(ctx)
    await owner.ack(Start(1))
    if facts.heat_levels:
        await owner.ack(SetHeat(1))
    stranger = await ctx.second_link()
    await stranger.stop()
    status = await stranger.status()
    expect(status.state is MotorState.IDLE, "STOP from another link did not stop the motor")
    expect(status.heat == 0, "STOP from another link left the heater on")
    expect(bool(status.flags & StatusFlag.OWNED), "STOP from another link released the ownership")
    event = await owner.wait_event(
        lambda e: isinstance(e.message, Status) and e.message.state is MotorState.IDLE, owner.answer_timeout
    )
    expect(event is not None, "the owner got no STATUS event when another link stopped the motor")
    await owner.ack(Start(1))
    return None
