"""A 10-minute session with heat that climbs gradually to intensity 3, then steps down.

The engine climbs by itself, one level at a time after the warm-up minute and at least
20 s apart; this script only watches, and lowers the heat a level if the pad runs hot.
Lowering the intensity (``session.decrease()`` or ``session.too_much()``) would be final:
the climb never goes back above a level the person chose.

    python examples/climb_with_heat.py "sim://?speed=60"
"""

from __future__ import annotations

import asyncio
import sys

import medctl
from medctl.session import RuleViolation, SafetyCheck, SessionPlan, SessionSummary

SAFETY = SafetyCheck(
    swelling_bruising_or_injury=False,
    underlying_condition=False,
    provider_agreed=False,
    recent_trauma=False,
    arm_symptoms=False,
    severe_headache=False,
    fever=False,
)

#: A comfortable upper bound for the pad (the device itself cuts heat at 45 °C).
COMFORT_LIMIT_C = 41.0


async def main(device: str = "sim://") -> SessionSummary:
    plan = SessionPlan(minutes=10, heat=True, target_intensity=3)
    async with medctl.connect(device) as massager:
        async with massager.session(plan, safety=SAFETY) as session:
            intensity = 0
            async for update in session.updates():
                if update.intensity != intensity:
                    intensity = update.intensity
                    print(f"{update.massage_s:5.0f} s  intensity {intensity}  heat {update.heat}  {update.phase_text}")
                if update.heat > 0 and (update.pad_temp_c or 0) > COMFORT_LIMIT_C:
                    try:
                        await session.set_heat(update.heat - 1)
                    except RuleViolation as refusal:
                        print(f"not now: {refusal}")
        print(f"ended: {session.record.end_reason.value}, highest intensity {session.record.max_intensity}")
        return session.record


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:2]))
