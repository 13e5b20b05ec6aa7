"""Every request and what it does (SPEC §5, §7.4), on one link as one controller."""

from __future__ import annotations

from firmware_protocol import (
    IDENTITY_FIELDS,
    Ack,
    ClearFaults,
    ErrorCode,
    Fault,
    Feature,
    GetInfo,
    Goodbye,
    Heartbeat,
    Hello,
    InfoResult,
    MotorState,
    MsgType,
    SetHeat,
    SetIntensity,
    Start,
    Status,
    StatusFlag,
    Stop,
)
from firmware_protocol.constants import MAX_INFO_LEN, NO_BATTERY, PROTOCOL_VERSION
from medctl.conformance.context import Context
from medctl.conformance.model import Failed, Skipped
from medctl.conformance.probe import Probe, describe
from medctl.conformance.registry import check


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


async def owned_and_idle(ctx: Context) -> Probe:
    """The primary link with a fresh session, the motor stopped."""
    probe = await ctx.link()
    await probe.hello()
    await probe.stop()
    return probe


@check("msg.hello", "§7.4.1", "HELLO opens a session: ACK with a HelloResult, the device owned, a STATUS event")
async def hello(ctx: Context) -> str | None:
    probe = await ctx.link()
    result = await probe.hello()
    expect(
        1 <= result.version <= PROTOCOL_VERSION, f"negotiated version {result.version} is outside 1..{PROTOCOL_VERSION}"
    )
    expect(result.intensity_levels >= 1, f"{result.intensity_levels} intensity levels (N must be at least 1)")
    heater = bool(result.features & Feature.HEAT)
    expect(heater == (result.heat_levels > 0), f"HEAT feature {heater} but {result.heat_levels} heat levels (§5.7)")
    expect(result.watchdog_ms > 0, "watchdog_ms is 0")
    event = await probe.wait_event(lambda e: isinstance(e.message, Status), probe.answer_timeout)
    expect(event is not None, "no STATUS event followed the HELLO's ACK (§7.4.1)")
    status = await probe.status()
    expect(bool(status.flags & StatusFlag.OWNED), "STATUS does not show OWNED after a successful HELLO")
    again = await probe.hello()
    expect(again == result, "a second HELLO on the owner's link did not simply succeed again")
    return f"N={result.intensity_levels}, M={result.heat_levels}, watchdog {result.watchdog_ms} ms, v{result.version}"


@check(
    "msg.version-negotiation", "§6.7", "HELLO picks the highest common version; none in common → UNSUPPORTED_VERSION"
)
async def version_negotiation(ctx: Context) -> str | None:
    probe = await ctx.link()
    highest = (await probe.hello(low=1, high=255)).version
    expect(highest >= 1, f"HELLO 1..255 negotiated version {highest}")
    one = await probe.hello(low=1, high=1)
    expect(one.version == 1, f"HELLO 1..1 negotiated version {one.version}, not 1")
    await probe.goodbye()
    await probe.refused(
        Hello(highest + 1, 255, probe.controller_id),
        ErrorCode.UNSUPPORTED_VERSION,
        highest,
        f"(range above the device's highest version {highest})",
    )
    await probe.refused(Hello(1, 0, probe.controller_id), ErrorCode.UNSUPPORTED_VERSION, highest, "(empty range 1..0)")
    status = await probe.status()
    expect(not status.flags & StatusFlag.OWNED, "a refused HELLO left the device owned")
    return f"highest version {highest}"


@check("msg.get-info", "§7.4.3", "GET_INFO answers MODEL, FIRMWARE and SERIAL as UTF-8 of at most 12 bytes")
async def get_info(ctx: Context) -> str | None:
    probe = await ctx.link()
    texts = []
    for info in IDENTITY_FIELDS:
        ack = await probe.ack(GetInfo(info))
        result = InfoResult.from_bytes(ack.data)
        expect(result.info is info, f"GET_INFO {info.name} answered field {result.info.name}")
        expect(len(ack.data) - 1 <= MAX_INFO_LEN, f"GET_INFO {info.name}: text longer than {MAX_INFO_LEN} bytes")
        texts.append(result.text)
    return " / ".join(repr(t) for t in texts)


@check("msg.get-status", "§5.5", "GET_STATUS answers a Status consistent with the device's levels and features")
async def get_status(ctx: Context) -> str | None:
    facts = await ctx.facts()
    probe = await ctx.link()
    status = await probe.status()
    expect(1 <= status.intensity <= facts.intensity_levels, f"intensity {status.intensity} outside 1..N")
    expect(0 <= status.heat <= facts.heat_levels, f"heat {status.heat} outside 0..M")
    has_battery = bool(facts.features & Feature.BATTERY)
    expect((status.battery != NO_BATTERY) == has_battery, f"battery {status.battery} but BATTERY feature {has_battery}")
    if status.state is MotorState.IDLE:
        expect(status.run_seconds == 0, f"run_seconds {status.run_seconds} while IDLE (§5.5: 0 while IDLE)")
    return f"pad {status.pad_temp_c:.2f} °C"


@check("msg.start-stop", "§7.4.5", "START runs the motor at the level; STOP stops it and keeps intensity and ownership")
async def start_stop(ctx: Context) -> str | None:
    probe = await owned_and_idle(ctx)
    await probe.ack(Start(1))
    running = await probe.status()
    expect(running.state is MotorState.RUNNING, "START 1 was ACKed but the motor is not RUNNING")
    expect(running.intensity == 1, f"START 1 runs at intensity {running.intensity}")
    await probe.ack(Start(1))
    again = await probe.status()
    expect(again.state is MotorState.RUNNING and again.intensity == 1, "START at the running level changed the state")
    await probe.stop()
    stopped = await probe.status()
    expect(stopped.state is MotorState.IDLE, "STOP was ACKed but the motor still runs")
    expect(stopped.heat == 0, f"STOP left heat at {stopped.heat}")
    expect(stopped.run_seconds == 0, "run_seconds is not 0 after STOP")
    expect(bool(stopped.flags & StatusFlag.OWNED), "STOP released ownership (§7.4.6: ownership unchanged)")
    await probe.ack(Start(1))  # still the owner
    return None


@check("msg.set-intensity", "§7.4.7", "SET_INTENSITY while idle stores the level; while running changes it at once")
async def set_intensity(ctx: Context) -> str | None:
    facts = await ctx.facts()
    probe = await owned_and_idle(ctx)
    top = facts.intensity_levels
    await probe.ack(SetIntensity(top))
    idle = await probe.status()
    expect(idle.state is MotorState.IDLE, "SET_INTENSITY while idle started the motor (§7.1: only START does)")
    expect(idle.intensity == top, f"SET_INTENSITY {top} while idle stored {idle.intensity}")
    await probe.ack(SetIntensity(1))
    await probe.ack(Start(1))
    await probe.ack(SetIntensity(top))
    running = await probe.status()
    expect(
        running.state is MotorState.RUNNING and running.intensity == top,
        f"SET_INTENSITY {top} while running: {running}",
    )
    return None


@check("msg.set-heat", "§7.4.8", "SET_HEAT sets the heat level whether the motor runs or not; STOP turns it off")
async def set_heat(ctx: Context) -> str | None:
    facts = await ctx.facts()
    if facts.heat_levels == 0:
        raise Skipped("the device has no heater (M = 0)")
    probe = await owned_and_idle(ctx)
    await probe.ack(SetHeat(1))
    status = await probe.status()
    expect(status.heat == 1, f"SET_HEAT 1 left heat at {status.heat}")
    expect(status.state is MotorState.IDLE, "SET_HEAT started the motor")
    await probe.ack(SetHeat(0))
    expect((await probe.status()).heat == 0, "SET_HEAT 0 did not turn the heat off")
    await probe.ack(SetHeat(1))
    await probe.stop()
    expect((await probe.status()).heat == 0, "STOP left the heater on")
    return None


@check("msg.goodbye", "§7.4.2", "GOODBYE from the owner: motor off, heat 0, ownership released, session ended")
async def goodbye(ctx: Context) -> str | None:
    probe = await owned_and_idle(ctx)
    await probe.ack(Start(1))
    await probe.goodbye()
    status = await probe.status()
    expect(status.state is MotorState.IDLE, "the motor still runs after GOODBYE")
    expect(status.heat == 0, "heat is on after GOODBYE")
    expect(not status.flags & StatusFlag.OWNED, "the device is still owned after GOODBYE")
    await probe.refused(Start(1), ErrorCode.HELLO_REQUIRED, why="after GOODBYE")
    again = await probe.request(Goodbye())
    expect(isinstance(again, Ack), f"GOODBYE without a session: {describe(again)} (§7.4.2: always ACK)")
    return None


@check("msg.heartbeat", "§7.4.9", "HEARTBEAT is ACKed on any link, with or without a session")
async def heartbeat(ctx: Context) -> str | None:
    probe = await ctx.link()
    expect(isinstance(await probe.request(Heartbeat()), Ack), "HEARTBEAT without a session was refused")
    await probe.hello()
    expect(isinstance(await probe.request(Heartbeat()), Ack), "HEARTBEAT in a session was refused")
    return None


@check(
    "msg.clear-faults", "§7.4.10", "CLEAR_FAULTS is always ACKed for the owner and clears nothing that is not latched"
)
async def clear_faults(ctx: Context) -> str | None:
    probe = await owned_and_idle(ctx)
    before = await probe.status()
    await probe.ack(ClearFaults(Fault.LINK_LOST | Fault.AUTO_OFF))
    await probe.ack(ClearFaults(Fault.NONE))
    after = await probe.status()
    expect(
        after.faults == before.faults & ~(Fault.LINK_LOST | Fault.AUTO_OFF), f"faults {after.faults!r} after clearing"
    )
    return None


@check(
    "msg.ack-data-empty", "§5.3", "the ACK of GOODBYE, START, STOP, SET_*, HEARTBEAT and CLEAR_FAULTS carries no data"
)
async def ack_data_empty(ctx: Context) -> str | None:
    probe = await owned_and_idle(ctx)
    requests = [Start(1), SetIntensity(1), SetHeat(0), Heartbeat(), ClearFaults(Fault.NONE), Stop(), Goodbye()]
    for request in requests:
        answer = await probe.request(request)
        expect(isinstance(answer, Ack), f"{request.TYPE.name}: {describe(answer)}")
        assert isinstance(answer, Ack)
        expect(answer.data == b"", f"the ACK of {request.TYPE.name} carries data {answer.data.hex(' ')}")
    probe.in_session = False
    return None


@check("msg.answer-before-events", "§7.8", "the answer to a request comes before the STATUS event it causes")
async def answer_before_events(ctx: Context) -> str | None:
    probe = await owned_and_idle(ctx)
    await probe.listen(0.2)
    probe.take_events()
    seq = probe.next_seq()
    await probe.send(bytes(Start(1).to_frame(seq)))
    answer = await probe.answer(seq, MsgType.START)
    expect(isinstance(answer, Ack), f"START 1: {describe(answer) if answer else 'no answer'}")
    early = [e for e in probe.take_events() if isinstance(e.message, Status) and e.message.running]
    expect(not early, "a STATUS showing the motor running arrived before START's ACK")
    event = await probe.wait_event(lambda e: isinstance(e.message, Status) and e.message.running, probe.answer_timeout)
    expect(event is not None, "no STATUS event followed START (§7.8: at once on every change)")
    return None
