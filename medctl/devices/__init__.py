"""Device drivers: the massager interface (:mod:`.base`), the connected device (:mod:`.device`),
the registry that picks a driver (:mod:`.registry`), and one package per maker or protocol."""

from medctl.devices.base import (
    ALL_FAULTS,
    Capabilities,
    DeviceIdentity,
    DeviceStatus,
    FaultFlag,
    FaultReport,
    Massager,
    fault_names,
)
from medctl.devices.device import Device
from medctl.devices.registry import Advertisement, Driver, drivers, for_advertisement, for_scheme, register

__all__ = [
    "ALL_FAULTS",
    "Advertisement",
    "Capabilities",
    "Device",
    "DeviceIdentity",
    "DeviceStatus",
    "Driver",
    "FaultFlag",
    "FaultReport",
    "Massager",
    "drivers",
    "fault_names",
    "for_advertisement",
    "for_scheme",
    "register",
]
