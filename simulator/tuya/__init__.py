"""A Tuya BLE neck massager, as Tuya's reference firmware behaves, for tests and demos.

- :class:`NeckMassager` (device.py): the device's state — power, gear 0..15, heat on/off,
  pattern 0..4 — with the reference firmware's data points, and an optional countdown that
  switches it off. There is no link watchdog: a controller that vanishes leaves it running.
- wire.py: the device side of the Tuya BLE wire format, written apart from medctl's driver
  (the simulator never imports medctl), so the two check each other.
- :class:`TuyaPeripheral` (peripheral.py): the device as a bumble GATT peripheral with Tuya's
  advertisement, handshake, pairing and encrypted data points; :func:`virtual_tuya` puts it on
  an in-process virtual link with a central radio beside it.
"""

from simulator.tuya.device import NeckMassager, TuyaIdentity
from simulator.tuya.peripheral import TuyaPeripheral, VirtualTuya, virtual_tuya

__all__ = ["NeckMassager", "TuyaIdentity", "TuyaPeripheral", "VirtualTuya", "virtual_tuya"]
