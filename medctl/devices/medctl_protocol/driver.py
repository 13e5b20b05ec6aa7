"""The registry entry for massagers speaking medctl's own protocol (SPEC.md)."""

from __future__ import annotations

from typing import Any

from firmware_protocol.constants import SERVICE_UUID
from medctl.address import DeviceAddress
from medctl.devices.device import Device
from medctl.devices.registry import Advertisement

NAME = "medctl"


class MedctlProtocolDriver:
    name = NAME
    schemes = frozenset({"sim", "serial", "tcp", "ble"})

    def matches_advertisement(self, adv: Advertisement) -> bool:
        return SERVICE_UUID.lower() in (uuid.lower() for uuid in adv.service_uuids)

    def url_for(self, adv: Advertisement, *, hci: str | None = None) -> str:
        return f"ble://{adv.address}" + (f"?hci={hci}" if hci else "")

    async def open(self, address: DeviceAddress, **options: Any) -> Device:
        from medctl.devices.medctl_protocol.connect import open_client

        return await open_client(address, **options)


DRIVER = MedctlProtocolDriver()
