"""The reference Tuya neck massager's state and data points (tuya_massage_func_logic.c).

Data points: 0x69 power (bool), 0x67 gear (enum 0..15, 0 the lightest), 0x66 heat (enum,
0 = on "strong", 1 = off), 0x68 pattern (enum 0..4: relieve, vitality, hammering, scraping,
intelligent). As in the reference firmware, settings written while the power is off are
ignored, and only the first record of a write is acted on. Unlike it, the report after a
write says the device's actual state (the reference echoes the written bytes back even when
it ignored them), and an out-of-range value is ignored rather than half-applied.

There is no link watchdog. ``auto_off_s`` models the device's own timer: running that long
switches it off, whoever is connected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

DP_HEAT: Final = 0x66
DP_GEAR: Final = 0x67
DP_PATTERN: Final = 0x68
DP_POWER: Final = 0x69
T_BOOL: Final = 1
T_ENUM: Final = 4
HEAT_ON: Final = 0
HEAT_OFF: Final = 1
MAX_GEAR: Final = 15
PATTERNS: Final = 5

Record = tuple[int, int, bytes]


@dataclass(frozen=True)
class TuyaIdentity:
    """What the device knows itself by: product id, the 16-character uuid, cloud device id, local key."""

    product_id: str = "nkmsg001"
    uuid: str = "tuya290051fdb1de"
    device_id: str = "bf0123456789abcdefghij"
    local_key: str = "Xy7#pQ2!aB9$kL4m"
    name: str = "NeckTY"


class NeckMassager:
    """Power, gear, heat and pattern; ``on_report`` hears every change the device reports by itself."""

    def __init__(self, *, auto_off_s: float | None = None) -> None:
        self.power = False
        self.gear = 0
        self.heat_on = False
        self.pattern = 0
        self.auto_off_s = auto_off_s
        self.on_report: Callable[[list[Record]], None] = lambda records: None
        #: Data point writes received so far, and a hook called with that count after each one
        #: (tests inject an event between two writes with it).
        self.writes_seen = 0
        self.after_write: Callable[[int], None] = lambda count: None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        return self.power

    def records(self) -> list[Record]:
        """Every data point, as the device reports them."""
        return [self._record(dp) for dp in (DP_POWER, DP_GEAR, DP_HEAT, DP_PATTERN)]

    def write(self, records: list[Record]) -> list[Record]:
        """Act on the first record of a write; return what to report (the state of that data point)."""
        self.writes_seen += 1
        try:
            return self._apply(records)
        finally:
            self.after_write(self.writes_seen)

    def _apply(self, records: list[Record]) -> list[Record]:
        if not records:
            return []
        dp, kind, raw = records[0]
        if dp not in (DP_POWER, DP_GEAR, DP_HEAT, DP_PATTERN):
            return []
        value = int.from_bytes(raw, "big") if raw else -1
        if dp == DP_POWER and kind == T_BOOL and len(raw) == 1:
            self._set_power(value != 0)
        elif self.power and kind == T_ENUM and len(raw) == 1:
            if dp == DP_GEAR and 0 <= value <= MAX_GEAR:
                self.gear = value
            elif dp == DP_HEAT and value in (HEAT_ON, HEAT_OFF):
                self.heat_on = value == HEAT_ON
            elif dp == DP_PATTERN and 0 <= value < PATTERNS:
                self.pattern = value
        return [self._record(dp)]

    def press_power(self) -> None:
        """The power key on the device: toggles, and the device reports it."""
        self._set_power(not self.power)
        self.on_report(self.records() if self.power else [self._record(DP_POWER)])

    def _set_power(self, on: bool) -> None:
        self.power = on
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not on:
            self.heat_on = False
        elif self.auto_off_s is not None:
            self._timer = asyncio.get_running_loop().call_later(self.auto_off_s, self._timed_out)

    def _timed_out(self) -> None:
        self._timer = None
        self._set_power(False)
        self.on_report([self._record(DP_POWER), self._record(DP_HEAT)])

    def _record(self, dp: int) -> Record:
        if dp == DP_POWER:
            return (DP_POWER, T_BOOL, bytes([int(self.power)]))
        if dp == DP_GEAR:
            return (DP_GEAR, T_ENUM, bytes([self.gear]))
        if dp == DP_HEAT:
            return (DP_HEAT, T_ENUM, bytes([HEAT_ON if self.heat_on else HEAT_OFF]))
        return (DP_PATTERN, T_ENUM, bytes([self.pattern]))
