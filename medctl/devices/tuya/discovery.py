"""Recognising a Tuya BLE device by what it advertises, without connecting.

A Tuya BLE device advertises the 16-bit service 0xA201 (in the service list, or as service data
carrying its product id) and, often in the scan response, manufacturer data under company id
0x07D0 with its encrypted uuid. Any one of these is enough to list it; the product id and uuid
are decoded when both parts were heard (real radios deliver scan responses; bumble's virtual
one does not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from medctl.devices.tuya.protocol import (
    MANUFACTURER_ID,
    SERVICE_UUID,
    Advertisement,
    TuyaProtocolError,
    decode_advertisement,
)


def recognises(
    service_uuids: Sequence[str], service_data: Mapping[str, bytes], manufacturer_data: Mapping[int, bytes]
) -> bool:
    """Whether an advertisement (in bleak's terms) comes from a Tuya BLE device."""
    return (
        SERVICE_UUID in (u.lower() for u in service_uuids)
        or SERVICE_UUID in (u.lower() for u in service_data)
        or MANUFACTURER_ID in manufacturer_data
    )


def identify(service_data: Mapping[str, bytes], manufacturer_data: Mapping[int, bytes]) -> Advertisement | None:
    """Product id and uuid, when both advertisement parts were heard and decode; ``None`` otherwise."""
    service = {u.lower(): v for u, v in service_data.items()}.get(SERVICE_UUID)
    manufacturer = manufacturer_data.get(MANUFACTURER_ID)
    if service is None or manufacturer is None:
        return None
    try:
        return decode_advertisement(service, manufacturer)
    except TuyaProtocolError:
        return None
