"""A fleet of simulated massagers on pseudo-terminals, in a process of its own.

    python -m bench.fleet 50      # prints one pty path per device, then "ready"

It serves until its standard input closes, then prints how many devices saw their
watchdog fire (``watchdog N``) and exits. Used by :mod:`bench.scale`, so that the
controller's CPU is measured apart from the devices'.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack

from firmware_protocol import Fault
from simulator import SimulatedDevice


async def serve(count: int) -> int:
    async with AsyncExitStack() as stack:
        devices = [await stack.enter_async_context(SimulatedDevice()) for _ in range(count)]
        for device in devices:
            print((await device.serve_pty()).path)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.read)
        tripped = sum(1 for d in devices if d.state.faults & Fault.LINK_LOST)
        print(f"watchdog {tripped}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(serve(int(sys.argv[1]))))
