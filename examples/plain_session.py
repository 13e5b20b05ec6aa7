"""A plain 5-minute session at the lightest setting, printing what happens.

python examples/plain_session.py                     # the built-in simulator, real time
python examples/plain_session.py "sim://?speed=60"   # five seconds
python examples/plain_session.py serial:///dev/ttyUSB0

The session is recorded in the default history (``medctl history``), which is what R9 checks:
a second session today asks for a reason to override.
"""

from __future__ import annotations

import asyncio
import sys

import medctl
from medctl.session import SafetyCheck, SessionPlan, SessionSummary

#: Answer these honestly for yourself; every one is required.
SAFETY = SafetyCheck(
    swelling_bruising_or_injury=False,
    underlying_condition=False,
    provider_agreed=False,
    recent_trauma=False,
    arm_symptoms=False,
    severe_headache=False,
    fever=False,
)


async def main(device: str = "sim://") -> SessionSummary:
    async with medctl.connect(device) as massager:
        async with massager.session(SessionPlan(minutes=5), safety=SAFETY) as session:
            last_phase = None
            async for update in session.updates():
                if update.phase is not last_phase:
                    last_phase = update.phase
                    print(f"{update.massage_s:5.0f} s  {update.phase_text}  ({update.next_action})")
        print(f"ended: {session.record.end_reason.value} after {session.record.massage_s:.0f} s")
        return session.record


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:2]))
