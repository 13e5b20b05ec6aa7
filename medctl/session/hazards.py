"""The device is trusted only as far as it does what was asked: the checks on each status.

Pure functions of a status and of what the session last asked for; the engine acts on their
answers (stops the device and ends the session, or ends it as the device's own decision).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from medctl.devices.base import Capabilities, DeviceStatus, FaultFlag

#: A report this far above the cap means the device's own cut-off failed: the controller stops it.
PAD_TEMP_MARGIN_C: Final = 5.0
#: Faults that explain a motor that stopped by itself.
EXPLAINED_STOPS: Final = FaultFlag.LINK_LOST | FaultFlag.MOTOR_STALL | FaultFlag.BATTERY_EMPTY | FaultFlag.AUTO_OFF
#: Faults a session may not start with (they do not clear by asking).
BLOCKING: Final = FaultFlag.MOTOR_STALL | FaultFlag.BATTERY_EMPTY


@dataclass(frozen=True)
class Allowed:
    """What the device may report while commands are on their way (the most recent asked for)."""

    running: bool
    intensity: int
    heat: int


def untrusted(status: DeviceStatus, allowed: Allowed, caps: Capabilities) -> str | None:
    """Why *status* shows a device doing what nobody asked for, or None."""
    if caps.reports_pad_temp and status.pad_temp_c > caps.pad_temp_cap_c + PAD_TEMP_MARGIN_C:
        cap = caps.pad_temp_cap_c
        return f"the massager reports a pad at {status.pad_temp_c:.0f} °C, above its {cap:.0f} °C cap"
    if status.faults & FaultFlag.OVER_TEMPERATURE and status.heat > 0:
        return f"the massager reports over-temperature with its heater still at {status.heat}"
    if status.heat > allowed.heat:
        return f"the massager reports heat {status.heat}; this session asked for {allowed.heat}"
    if status.running and not allowed.running:
        return "the massager runs although this session stopped it"
    if status.running and status.intensity > allowed.intensity:
        return f"the massager runs at intensity {status.intensity}; this session asked for {allowed.intensity}"
    return None


def switched_itself_off(status: DeviceStatus | None, commanded_at: float) -> bool:
    """The device reports its motor off with AUTO_OFF latched although we run it."""
    return (
        status is not None
        and status.received_at > commanded_at
        and not status.running
        and bool(status.faults & FaultFlag.AUTO_OFF)
    )


def stopped_elsewhere(status: DeviceStatus | None, commanded_at: float) -> bool:
    """The device reports its motor off although we run it, and no fault or link loss explains it."""
    return (
        status is not None
        and status.received_at > commanded_at
        and not status.running
        and status.owned
        and not status.faults & EXPLAINED_STOPS
    )
