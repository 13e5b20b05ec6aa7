"""Faults injected into the simulated device, on demand from tests and demos.

Device faults (a stalled motor, an overheating pad, an empty battery, refusals) are passed
to the :class:`~simulator.firmware.Firmware`. Link faults are applied in the byte path of
every endpoint, like pymodbus's null-modem manipulator: each connection's port asks
:meth:`FaultInjector.mangle` what to do with every frame it carries, and endpoints register
as :class:`FaultTarget` so that drops and garbage reach all of them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Literal, Protocol

from firmware_protocol import ErrorCode
from simulator.firmware import Firmware

#: "in" is controller → device, "out" is device → controller.
Direction = Literal["in", "out", "both"]
Way = Literal["in", "out"]


class FaultTarget(Protocol):
    """An endpoint (or a single in-process link) that link faults act on."""

    def drop(self) -> None:
        """Make every current connection vanish, as seen from the controller."""

    def restore(self) -> None:
        """Undo :meth:`drop` where the endpoint stays silent until told (pseudo-terminals)."""

    def inject(self, data: bytes) -> None:
        """Write *data* raw into every outgoing stream (one message on frame links)."""


class FaultInjector:
    """Switches for every fault the simulator can produce. All of them take effect immediately."""

    def __init__(self, firmware: Firmware, *, seed: int = 0) -> None:
        self._firmware = firmware
        self._random = random.Random(seed)
        self._targets: list[FaultTarget] = []
        self._corrupt: dict[Way, int] = {"in": 0, "out": 0}
        self._duplicate: dict[Way, int] = {"in": 0, "out": 0}
        self._reorder: dict[Way, int] = {"in": 0, "out": 0}
        self._held: dict[Way, bytes | None] = {"in": None, "out": None}
        self._delay_s = 0.0
        self._dropped = False

    # --- device faults ---------------------------------------------------------------------

    def stall_motor(self) -> None:
        """Block the motor: a running motor stops with MOTOR_STALL at the next poll."""
        self._firmware.inject_stall(True)

    def release_motor(self) -> None:
        """Free the motor again (MOTOR_STALL stays latched until CLEAR_FAULTS)."""
        self._firmware.inject_stall(False)

    def force_over_temperature(self) -> None:
        """Heat the pad past ``max_temp_c`` at the next poll."""
        self._firmware.inject_over_temperature()

    def drain_battery(self) -> None:
        """Empty the battery: BATTERY_EMPTY at the next poll. Needs ``DeviceConfig(battery=True)``."""
        self._firmware.set_battery(0.0)

    def charge_battery(self, percent: float = 100.0) -> None:
        """Put *percent* of charge back into the battery."""
        self._firmware.set_battery(percent)

    def exhaust_run_budget(self) -> None:
        """Use up the motor's run budget: auto-off at once (events at the next poll), as after 15 minutes."""
        self._firmware.exhaust_run_budget()

    def exhaust_heat_budget(self) -> None:
        """Use up the heater's budget: its time limit switches the heat off at once (events at the next poll)."""
        self._firmware.exhaust_heat_budget()

    def power_cycle(self) -> None:
        """The device restarts: every connection drops and the firmware comes back at its power-on
        settings (mode 0 included); the links stay down until :meth:`restore_links`."""
        self.drop_links()
        self._firmware.power_cycle()

    def refuse(self, code: ErrorCode = ErrorCode.BUSY) -> None:
        """NACK every request except STOP with *code*."""
        self._firmware.inject_refusal(code)

    def stop_refusing(self) -> None:
        self._firmware.inject_refusal(None)

    # --- link faults -----------------------------------------------------------------------

    def drop_links(self) -> None:
        """Every endpoint drops its current connections; pseudo-terminals stay silent until restored."""
        self._dropped = True
        for target in list(self._targets):
            target.drop()

    def restore_links(self) -> None:
        """End a :meth:`drop_links`: silent pseudo-terminals answer again, on a fresh link."""
        self._dropped = False
        for target in list(self._targets):
            target.restore()

    def corrupt_next(self, n: int = 1, direction: Direction = "out") -> None:
        """Flip one bit in each of the next *n* frames travelling in *direction* (per direction for "both")."""
        for way in _ways(direction):
            self._corrupt[way] = _count(n)

    def duplicate_next(self, n: int = 1, direction: Direction = "out") -> None:
        """Deliver each of the next *n* frames travelling in *direction* twice."""
        for way in _ways(direction):
            self._duplicate[way] = _count(n)

    def reorder_next(self, n: int = 1, direction: Direction = "out") -> None:
        """Swap each of the next *n* frames travelling in *direction* with the frame after it."""
        for way in _ways(direction):
            self._reorder[way] = _count(n)

    def delay(self, seconds: float) -> None:
        """Hold every outgoing frame for *seconds* of loop time, keeping their order (0 ends it)."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"delay must be a non-negative number of seconds, got {seconds}")
        self._delay_s = seconds

    def inject_garbage(self, data: bytes) -> None:
        """Write *data* into every outgoing stream, as if noise were on the line."""
        for target in list(self._targets):
            target.inject(bytes(data))

    def clear(self) -> None:
        """Switch every injected fault off and restore the links. Latched firmware faults stay latched."""
        self.release_motor()
        self.stop_refusing()
        self._corrupt = {"in": 0, "out": 0}
        self._duplicate = {"in": 0, "out": 0}
        self._reorder = {"in": 0, "out": 0}
        self._held = {"in": None, "out": None}
        self._delay_s = 0.0
        self.restore_links()

    # --- for endpoints ---------------------------------------------------------------------

    @property
    def delay_s(self) -> float:
        return self._delay_s

    @property
    def links_dropped(self) -> bool:
        """True between :meth:`drop_links` and :meth:`restore_links`."""
        return self._dropped

    def register(self, target: FaultTarget) -> Callable[[], None]:
        """Let link faults reach *target*; returns the function that unregisters it."""
        self._targets.append(target)

        def unregister() -> None:
            if target in self._targets:
                self._targets.remove(target)

        return unregister

    def mangle(self, frame: bytes, way: Way) -> list[bytes]:
        """What arrives of *frame* travelling *way*: itself, corrupted, twice, or held back one frame."""
        pieces = [frame]
        if self._corrupt[way] > 0:
            self._corrupt[way] -= 1
            pieces = [self._flip_bit(frame)]
        if self._duplicate[way] > 0:
            self._duplicate[way] -= 1
            pieces = pieces * 2
        held, self._held[way] = self._held[way], None
        if held is not None:
            return [*pieces, held]
        if self._reorder[way] > 0:
            self._reorder[way] -= 1
            self._held[way] = pieces[0]
            return pieces[1:]
        return pieces

    def _flip_bit(self, frame: bytes) -> bytes:
        if not frame:
            return frame
        corrupted = bytearray(frame)
        corrupted[self._random.randrange(len(frame))] ^= 1 << self._random.randrange(8)
        return bytes(corrupted)


def _ways(direction: Direction) -> tuple[Way, ...]:
    if direction == "both":
        return ("in", "out")
    if direction not in ("in", "out"):
        raise ValueError(f"direction must be 'in', 'out' or 'both', got {direction!r}")
    return (direction,)


def _count(n: int) -> int:
    if n < 0:
        raise ValueError(f"frame count must be ≥ 0, got {n}")
    return n
