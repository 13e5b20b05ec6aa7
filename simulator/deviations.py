"""Documented ways for the simulator to break SPEC.md on purpose, one flag per deviation.

A conformance suite is only worth something if it catches the mistakes it claims to catch.
Each flag below makes the simulated firmware commit one such mistake, the kind a firmware
author could really make; ``medctl conformance`` run against it must report a failure naming
the SPEC section in :data:`SECTIONS`. All flags are off by default and never switched on by
anything but an explicit request: ``DeviceConfig(deviations=Deviations(no_dedup=True))``,
``sim://?deviate=no_dedup`` or ``medctl simulate --deviate no_dedup``.

=========================  =======  ============================================================
flag                       SPEC     what the device then does wrong
=========================  =======  ============================================================
``crc_little_endian``      §4.1     sends its frames' CRC low byte first
``no_dedup``               §6.5     executes an identical retry again instead of answering it
                                    from memory
``slow_watchdog``          §7.5     stops a silent owner's motor 2 s later than ``watchdog_ms``
``clamp_out_of_range``     §7.1     clamps an out-of-range level into range and ACKs it
``start_above_lightest``   §7.4.5   starts the motor from standstill at any level, not only at 1
``ignore_ownership``       §7.2     accepts START, SET_* and CLEAR_FAULTS from any link, with or
                                    without a session
``no_periodic_status``     §7.8     sends STATUS only on a change, never every second
``wrong_error_code``       §8       answers a bad payload length with BAD_VALUE, not BAD_LENGTH
``replay_accepted``        §11.3    executes an authenticated request whose counter it has seen
=========================  =======  ============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Final

from firmware_protocol import ErrorCode, SetHeat, SetIntensity, Start
from firmware_protocol.messages import Request

#: The SPEC section a conformance run must name for each deviation.
SECTIONS: Final = {
    "crc_little_endian": "§4.1",
    "no_dedup": "§6.5",
    "slow_watchdog": "§7.5",
    "clamp_out_of_range": "§7.1",
    "start_above_lightest": "§7.4.5",
    "ignore_ownership": "§7.2",
    "no_periodic_status": "§7.8",
    "wrong_error_code": "§8",
    "replay_accepted": "§11.3",
}
#: How much later than ``watchdog_ms`` the slow watchdog fires.
SLOW_WATCHDOG_EXTRA_S: Final = 2.0


@dataclass(frozen=True, slots=True)
class Deviations:
    """Which mistakes the simulated firmware makes; all off unless asked for."""

    crc_little_endian: bool = False
    no_dedup: bool = False
    slow_watchdog: bool = False
    clamp_out_of_range: bool = False
    start_above_lightest: bool = False
    ignore_ownership: bool = False
    no_periodic_status: bool = False
    wrong_error_code: bool = False
    replay_accepted: bool = False

    @classmethod
    def named(cls, *names: str) -> Deviations:
        """The deviations called *names* (``"no_dedup"`` or ``"no-dedup"``); ValueError for an unknown one."""
        known = names_of()
        flags: dict[str, bool] = {}
        for name in names:
            key = name.strip().replace("-", "_")
            if key not in known:
                raise ValueError(f"unknown deviation {name!r}; known: {', '.join(known)}")
            flags[key] = True
        return replace(cls(), **flags)

    @property
    def active(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if getattr(self, f.name))

    # --- hooks the firmware and the framing call ------------------------------------------

    def outgoing(self, frame: bytes) -> bytes:
        """A device frame as it leaves the firmware (``crc_little_endian`` swaps the CRC bytes)."""
        if self.crc_little_endian and len(frame) >= 2:
            return frame[:-2] + frame[-1:] + frame[-2:-1]
        return frame

    def level(self, request: Request, intensity_levels: int, heat_levels: int) -> Request:
        """*request* as the firmware will execute it (``clamp_out_of_range`` clamps its level)."""
        if not self.clamp_out_of_range:
            return request
        if isinstance(request, SetHeat):
            return SetHeat(min(request.level, heat_levels))
        if isinstance(request, Start | SetIntensity):
            return type(request)(min(max(request.level, 1), intensity_levels))
        return request

    def watchdog_s(self, watchdog_s: float) -> float:
        """How long the firmware's watchdog really waits (``slow_watchdog`` adds 2 s)."""
        return watchdog_s + (SLOW_WATCHDOG_EXTRA_S if self.slow_watchdog else 0.0)

    def error_code(self, code: ErrorCode) -> ErrorCode:
        """The NACK code the firmware sends for *code*."""
        if self.wrong_error_code and code is ErrorCode.BAD_LENGTH:
            return ErrorCode.BAD_VALUE
        return code

    def accepts(self, refusal: ErrorCode) -> bool:
        """Does the firmware let a request through that its authentication step refused with *refusal*?"""
        return self.replay_accepted and refusal is ErrorCode.REPLAYED


def names_of() -> tuple[str, ...]:
    """Every deviation's name, in the order of the table above."""
    return tuple(f.name for f in fields(Deviations))
