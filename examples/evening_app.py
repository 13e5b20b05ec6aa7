"""A tiny app built on medctl: a warm evening session, and one sentence on how it went.

Its tests (``examples/test_evening_app.py``) use only the fixtures of medctl's pytest plugin.
The app takes a connected massager, so a test can hand it a simulated one:

    python examples/evening_app.py "sim://?speed=60"
"""

from __future__ import annotations

import asyncio
import sys

import medctl
from medctl.client import DeviceClient
from medctl.history import HistoryStore
from medctl.session import EndReason, SafetyCheck, SessionPlan, SessionSummary

PLAN = SessionPlan(minutes=5, heat=True)


async def evening_session(
    massager: DeviceClient, safety: SafetyCheck, history: HistoryStore | None = None
) -> tuple[SessionSummary, str]:
    """Run the evening plan; return the record and the sentence the app shows at the end."""
    options = {} if history is None else {"history": history}
    async with massager.session(PLAN, safety=safety, **options) as session:
        hottest = 0.0
        async for update in session.updates():
            hottest = max(hottest, update.pad_temp_c or 0.0)
    record = session.record
    return record, _sentence(record, hottest)


def _sentence(record: SessionSummary, hottest_c: float) -> str:
    minutes = record.massage_s / 60
    if record.end_reason is EndReason.COMPLETED and any("overheated" in notice for notice in record.notices):
        return f"{minutes:.0f} minutes; the pad got too hot, so the massager turned the heat off."
    if record.end_reason is EndReason.COMPLETED:
        return f"A warm {minutes:.0f} minutes, the pad at most {hottest_c:.0f} °C. Good night."
    if record.end_reason is EndReason.LINK_LOST:
        return f"The massager went out of reach after {minutes:.1f} minutes; it stopped by itself."
    return f"Ended early after {minutes:.1f} minutes ({record.end_reason.value}): the massager is stopped."


async def main(device: str = "sim://") -> str:
    safety = SafetyCheck.from_answers(
        {name: False for name in SafetyCheck.__dataclass_fields__}  # answer these honestly for yourself
    )
    async with medctl.connect(device) as massager:
        _, sentence = await evening_session(massager, safety)
    print(sentence)
    return sentence


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:2]))
