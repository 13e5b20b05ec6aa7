"""The simulator over Bluetooth LE, on bumble: a GATT peripheral, virtual radios and how to join them.

- :class:`BleEndpoint` (peripheral.py): the simulated massager as a GATT server, one
  firmware link per BLE connection (SPEC.md §9.2).
- :class:`Radio` (radio.py): a bumble host on a controller — a virtual one in this process,
  or any bumble HCI transport (``tcp-client:HOST:PORT``, ``usb:0``, ...).
- :class:`VirtualLink` (link.py): the virtual radio medium, which other processes join over
  HCI-over-TCP (:meth:`VirtualLink.serve_hci`).
- :class:`VirtualController` (controller.py): bumble's virtual controller, fixed to end a
  cancelled connection attempt as real controllers do.
- :func:`ble_peripheral`, :func:`virtual_ble` (serve.py): all of the above for one simulated
  device, in one call: served to other processes, or in-process for tests.

This package needs bumble (``pip install 'medctl[ble-sim]'``); nothing else in the
simulator imports it.
"""

from simulator.ble.controller import VirtualController
from simulator.ble.link import HciServer, VirtualLink
from simulator.ble.peripheral import MAX_ADVERTISED_NAME, BleEndpoint, advertising_data
from simulator.ble.radio import Radio, RadioError
from simulator.ble.serve import SIMULATOR_ADDRESS, BlePeripheral, VirtualBle, ble_peripheral, virtual_ble

__all__ = [
    "MAX_ADVERTISED_NAME",
    "SIMULATOR_ADDRESS",
    "BleEndpoint",
    "BlePeripheral",
    "HciServer",
    "Radio",
    "RadioError",
    "VirtualBle",
    "VirtualController",
    "VirtualLink",
    "advertising_data",
    "ble_peripheral",
    "virtual_ble",
]
