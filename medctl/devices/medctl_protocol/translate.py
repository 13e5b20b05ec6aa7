"""Our protocol's messages in medctl's own types: the only place firmware_protocol's faults,
HELLO result and STATUS become :mod:`medctl.devices.base` values (pure, no I/O)."""

from __future__ import annotations

from firmware_protocol import Fault, FaultEvent, Feature, HelloResult, MotorState, Status, StatusFlag
from medctl.devices.base import Capabilities, DeviceStatus, FaultFlag, FaultReport

#: The session's pad-temperature ceiling for our devices (the firmware's own limit is higher).
PAD_TEMP_CAP_C = 45.0


def capabilities(
    result: HelloResult, *, heat_targets_c: tuple[float, ...] | None = None, modes: tuple[str, ...] = ()
) -> Capabilities:
    return Capabilities(
        heat_targets_c=heat_targets_c,
        modes=modes,
        intensity_levels=result.intensity_levels,
        heat_levels=result.heat_levels,
        battery=bool(result.features & Feature.BATTERY),
        watchdog_s=result.watchdog_ms / 1000,
        reports_pad_temp=True,
        pad_temp_cap_c=PAD_TEMP_CAP_C,
    )


def faults(wire: Fault) -> FaultFlag:
    # the bits are the same by design (SPEC.md §6.5); anything unknown is kept, not dropped
    return FaultFlag(int(wire))


def wire_faults(flags: FaultFlag) -> Fault:
    return Fault(int(flags))


def fault_report(event: FaultEvent) -> FaultReport:
    return FaultReport(faults(event.fault), event.active, event.detail)


def status(message: Status, received_at: float = 0.0) -> DeviceStatus:
    return DeviceStatus(
        running=message.state is MotorState.RUNNING,
        intensity=message.intensity,
        heat=message.heat,
        pad_temp_c=message.pad_temp_c,
        faults=faults(message.faults),
        battery_percent=message.battery_percent,
        charging=bool(message.flags & StatusFlag.CHARGING),
        owned=bool(message.flags & StatusFlag.OWNED),
        run_seconds=message.run_seconds,
        received_at=received_at,
    )
