"""What the controller knows about a massager: frozen snapshots, safe to share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from firmware_protocol import Fault, Feature, HelloResult, MotorState, Status, StatusFlag


@dataclass(frozen=True)
class Capabilities:
    intensity_levels: int
    heat_levels: int
    battery: bool
    watchdog_s: float

    @classmethod
    def from_hello(cls, result: HelloResult) -> Capabilities:
        return cls(
            intensity_levels=result.intensity_levels,
            heat_levels=result.heat_levels,
            battery=bool(result.features & Feature.BATTERY),
            watchdog_s=result.watchdog_ms / 1000,
        )


@dataclass(frozen=True)
class DeviceIdentity:
    model: str
    firmware: str
    serial_number: str
    protocol_version: int
    capabilities: Capabilities
    address: str = ""


def fault_names(faults: Fault) -> tuple[str, ...]:
    return tuple(f.name.lower() for f in Fault if f and f in faults and f.name)


@dataclass(frozen=True)
class DeviceStatus:
    """The device's own report of its state, with the controller's receive time."""

    running: bool
    intensity: int
    heat: int
    pad_temp_c: float
    faults: Fault = Fault.NONE
    battery_percent: int | None = None
    charging: bool = False
    owned: bool = False
    run_seconds: int = 0
    received_at: float = field(default=0.0, compare=False)

    @classmethod
    def from_status(cls, status: Status, received_at: float = 0.0) -> DeviceStatus:
        return cls(
            running=status.state is MotorState.RUNNING,
            intensity=status.intensity,
            heat=status.heat,
            pad_temp_c=status.pad_temp_c,
            faults=status.faults,
            battery_percent=status.battery_percent,
            charging=bool(status.flags & StatusFlag.CHARGING),
            owned=bool(status.flags & StatusFlag.OWNED),
            run_seconds=status.run_seconds,
            received_at=received_at,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "intensity": self.intensity,
            "heat": self.heat,
            "pad_temp_c": round(self.pad_temp_c, 2),
            "faults": list(fault_names(self.faults)),
            "battery_percent": self.battery_percent,
            "charging": self.charging,
            "owned": self.owned,
            "run_seconds": self.run_seconds,
        }
