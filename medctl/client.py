"""The client for our protocol moved to :mod:`medctl.devices.medctl_protocol`; this keeps its import path."""

from medctl.devices.medctl_protocol.client import (
    HEARTBEAT_INTERVAL_S,
    REQUEST_RETRIES,
    REQUEST_TIMEOUT_S,
    STOP_RETRIES,
    STOP_TIMEOUT_S,
    DeviceClient,
    RawMassager,
)

__all__ = [
    "HEARTBEAT_INTERVAL_S",
    "REQUEST_RETRIES",
    "REQUEST_TIMEOUT_S",
    "STOP_RETRIES",
    "STOP_TIMEOUT_S",
    "DeviceClient",
    "RawMassager",
]
