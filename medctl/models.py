"""What the controller knows about a massager: frozen snapshots, safe to share.

The types live with the massager interface (:mod:`medctl.devices.base`); this module keeps
their old import path working.
"""

from medctl.devices.base import Capabilities, DeviceIdentity, DeviceStatus, FaultFlag, FaultReport, fault_names

__all__ = ["Capabilities", "DeviceIdentity", "DeviceStatus", "FaultFlag", "FaultReport", "fault_names"]
