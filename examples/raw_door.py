"""The raw door: level control with no session rules, for firmware and bench work only.

python examples/raw_door.py "sim://"

``massager.raw()`` skips the warm-up, the gradual climb and the record: it is how a bench
drives a board to a level at once. The device still applies its own rules (START only at level
1 from standstill, auto-off, the heater's time limit), STOP always goes through, and the door is
shut (``medctl.SessionRunning``) while a guided session runs on the connection. Never use it on
a person: a massage goes through ``massager.session()``.
"""

from __future__ import annotations

import asyncio
import sys

import medctl
from medctl.devices import DeviceStatus


async def main(device: str = "sim://") -> DeviceStatus:
    async with medctl.connect(device) as massager:  # leaving the block stops the massager
        bench = massager.raw()
        await bench.start(1)  # from standstill the device takes level 1 only
        await bench.set_intensity(3)  # then any level at once: no warm-up here
        await bench.set_heat(1)  # heat only after a START since the last STOP
        status = await massager.wait_for_status(lambda s: s.intensity == 3 and s.heat == 1, timeout=5)
        print(f"running at {status.intensity}, heat {status.heat}, pad {status.pad_temp_c:.1f} °C")
        await bench.stop()
        return status


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:2]))
