"""Software massager: the firmware side of the protocol, and the endpoints that expose it.

``SimulatedDevice`` is the entry point; ``Firmware`` is the pure state machine underneath,
usable on its own with explicit clocks.
"""

from simulator.clock import Clock, LoopClock, ScaledClock
from simulator.config import DeviceConfig
from simulator.device import SimulatedDevice
from simulator.errors import LinkClosed, SimulatorError
from simulator.faults import FaultInjector
from simulator.firmware import DeviceState, Firmware, Link
from simulator.inprocess import InProcessLink
from simulator.pty import PtyEndpoint
from simulator.tcp import TcpEndpoint

__all__ = [
    "Clock",
    "DeviceConfig",
    "DeviceState",
    "FaultInjector",
    "Firmware",
    "InProcessLink",
    "Link",
    "LinkClosed",
    "LoopClock",
    "PtyEndpoint",
    "ScaledClock",
    "SimulatedDevice",
    "SimulatorError",
    "TcpEndpoint",
]
