"""Massage modes (SPEC §7.4.11): the names, SET_MODE's range and ownership, and a device without them."""

from __future__ import annotations

from firmware_protocol import (
    MAX_MODES,
    ErrorCode,
    Feature,
    GetInfo,
    InfoResult,
    MessageError,
    MotorState,
    SetMode,
    Start,
    mode_name_field,
)
from medctl.conformance.checks.messages import expect, owned_and_idle
from medctl.conformance.context import Context
from medctl.conformance.model import Failed, Skipped
from medctl.conformance.probe import Probe
from medctl.conformance.registry import check


async def _name(probe: Probe, mode: int) -> str:
    field = mode_name_field(mode)
    ack = await probe.ack(GetInfo(field))
    try:
        result = InfoResult.from_bytes(ack.data)
    except MessageError as exc:
        raise Failed(f"GET_INFO {field.name}: the ACK data is no InfoResult (SPEC §5.3): {exc}") from None
    expect(result.info is field, f"GET_INFO {field.name} was answered with {result.info.name}")
    return result.text


async def mode_names(ctx: Context) -> list[str]:
    """The names as a controller reads them: MODE_0 upwards to the first empty text; Skipped without modes."""
    facts = await ctx.facts()
    if not facts.features & Feature.MODES:
        raise Skipped("the device has no massage modes (no MODES feature bit)")
    probe = await ctx.link()
    names: list[str] = []
    for mode in range(MAX_MODES):
        name = await _name(probe, mode)
        if not name:
            break
        names.append(name)
    return names


@check("mode.names", "§7.4.11", "a device with MODES names modes 0..K−1 (1 ≤ K ≤ 8, distinct), then empty texts")
async def names(ctx: Context) -> str | None:
    found = await mode_names(ctx)
    expect(bool(found), "the MODES feature bit is set but MODE_0 has an empty name (K must be at least 1)")
    expect(len(set(found)) == len(found), f"two modes share a name: {found}")
    probe = await ctx.link()
    for mode in range(len(found), MAX_MODES):
        name = await _name(probe, mode)
        expect(not name, f"mode {mode} is named {name!r} after an empty name at mode {len(found)}")
    return f"{len(found)} modes: {', '.join(found)}"


@check("mode.needs-session", "§7.2", "SET_MODE needs a session like every request that changes the device")
async def needs_session(ctx: Context) -> str | None:
    await mode_names(ctx)
    probe = await owned_and_idle(ctx)
    await probe.goodbye()
    await probe.refused(SetMode(0), ErrorCode.HELLO_REQUIRED, why="without a session")
    return None


@check("mode.set", "§7.4.11", "SET_MODE accepts 0..K−1 running or not, refuses K and 255 OUT_OF_RANGE (detail K−1)")
async def set_mode(ctx: Context) -> str | None:
    count = len(await mode_names(ctx))
    probe = await owned_and_idle(ctx)
    for mode in range(count):
        await probe.ack(SetMode(mode))
    status = await probe.status()
    expect(status.state is MotorState.IDLE, "SET_MODE started the motor")
    await probe.ack(Start(1))
    await probe.ack(SetMode(0))
    status = await probe.status()
    expect(
        status.state is MotorState.RUNNING and status.intensity == 1, f"SET_MODE changed more than the mode: {status}"
    )
    for mode in sorted({count, 255}):
        await probe.refused(SetMode(mode), ErrorCode.OUT_OF_RANGE, count - 1)
    await probe.stop()
    return None


@check("mode.absent", "§7.4.11", "a device without MODES answers SET_MODE UNKNOWN_TYPE and GET_INFO MODE_0 BAD_VALUE")
async def absent(ctx: Context) -> str | None:
    facts = await ctx.facts()
    if facts.features & Feature.MODES:
        raise Skipped("the device has massage modes")
    probe = await owned_and_idle(ctx)
    await probe.refused(SetMode(0), ErrorCode.UNKNOWN_TYPE)
    await probe.refused(GetInfo(mode_name_field(0)), ErrorCode.BAD_VALUE, mode_name_field(0))
    return None
