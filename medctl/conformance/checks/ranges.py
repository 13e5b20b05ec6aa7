"""Out-of-range levels are refused, never clamped (SPEC §7.1, §7.4.5, §7.4.7, §7.4.8, §8)."""

from __future__ import annotations

from firmware_protocol import ErrorCode, MotorState, SetHeat, SetIntensity, Start
from medctl.conformance.checks.messages import expect, owned_and_idle
from medctl.conformance.context import Context
from medctl.conformance.model import Skipped
from medctl.conformance.registry import check


@check("range.start", "§7.1", "START 0, N+1 and 255 are refused OUT_OF_RANGE (detail N) and change nothing")
async def start_range(ctx: Context) -> str | None:
    facts = await ctx.facts()
    probe = await owned_and_idle(ctx)
    n = facts.intensity_levels
    before = await probe.status()
    for level in sorted({0, n + 1, 255} - set(range(1, n + 1))):
        await probe.refused(Start(level), ErrorCode.OUT_OF_RANGE, n)
    after = await probe.status()
    expect(after.state is MotorState.IDLE, "a refused START started the motor")
    expect(after.intensity == before.intensity, f"a refused START changed the intensity to {after.intensity}")
    return None


@check("range.set-intensity", "§7.1", "SET_INTENSITY 0 and N+1 are refused OUT_OF_RANGE (detail N), never clamped")
async def intensity_range(ctx: Context) -> str | None:
    facts = await ctx.facts()
    probe = await owned_and_idle(ctx)
    n = facts.intensity_levels
    await probe.ack(Start(1))
    for level in sorted({0, n + 1, 255} - set(range(1, n + 1))):
        await probe.refused(SetIntensity(level), ErrorCode.OUT_OF_RANGE, n)
    status = await probe.status()
    expect(status.intensity == 1, f"a refused SET_INTENSITY changed the intensity to {status.intensity}")
    return None


@check("range.set-heat", "§7.1", "SET_HEAT M+1 and 255 are refused OUT_OF_RANGE (detail M), never clamped")
async def heat_range(ctx: Context) -> str | None:
    facts = await ctx.facts()
    probe = await owned_and_idle(ctx)
    m = facts.heat_levels
    for level in sorted({m + 1, 255}):
        await probe.refused(SetHeat(level), ErrorCode.OUT_OF_RANGE, m)
    status = await probe.status()
    expect(status.heat == 0, f"a refused SET_HEAT changed the heat to {status.heat}")
    return None


@check(
    "range.start-lightest",
    "§7.4.5",
    "from standstill START runs only at level 1: START 2 → OUT_OF_RANGE (detail 1); once running any level",
)
async def start_lightest(ctx: Context) -> str | None:
    facts = await ctx.facts()
    if facts.intensity_levels < 2:
        raise Skipped("the device has one intensity level")
    probe = await owned_and_idle(ctx)
    for level in range(2, facts.intensity_levels + 1):
        await probe.refused(Start(level), ErrorCode.OUT_OF_RANGE, 1, "from standstill")
    status = await probe.status()
    expect(status.state is MotorState.IDLE, "a refused START started the motor")
    await probe.ack(Start(1))
    await probe.ack(Start(facts.intensity_levels))
    status = await probe.status()
    expect(status.intensity == facts.intensity_levels, f"START {facts.intensity_levels} while running: {status}")
    return None
