"""The driver registry: a URL's scheme, or a Bluetooth advertisement, picks the driver."""

from __future__ import annotations

from typing import Any

import pytest

import medctl
from firmware_protocol.constants import SERVICE_UUID
from medctl.address import DeviceAddress, parse_address
from medctl.devices import Advertisement, Device, registry
from medctl.errors import AddressError

#: The Bluetooth SIG's company id for tests (0xFFFF): no real driver claims it (Tuya's 0x07D0 is the Tuya driver's).
TOY_COMPANY = 0xFFFF


class _Toy:
    """A second driver with its own scheme, as a maker's package would register it."""

    name = "toy"
    schemes = frozenset({"toy"})

    def __init__(self) -> None:
        self.opened: list[tuple[DeviceAddress, dict[str, Any]]] = []

    def matches_advertisement(self, adv: Advertisement) -> bool:
        return adv.manufacturer_data.get(TOY_COMPANY, b"")[:2] == b"TY"

    def url_for(self, adv: Advertisement, *, hci: str | None = None) -> str:
        return f"toy://{adv.address}"

    async def open(self, address: DeviceAddress, **options: Any) -> Device:
        self.opened.append((address, options))
        raise medctl.TransportError(f"{address.url}: toy devices are not reachable here")


@pytest.fixture
def toy() -> Any:
    driver = _Toy()
    registry.register(driver)
    yield driver
    registry.unregister(driver)


def test_our_schemes_pick_our_protocol_driver() -> None:
    for scheme in ("sim", "serial", "tcp", "ble"):
        assert registry.for_scheme(scheme).name == "medctl"


def test_an_unknown_scheme_is_refused_with_the_known_ones() -> None:
    with pytest.raises(AddressError, match=r"unknown device address .nope://x.: use one of .*sim://"):
        parse_address("nope://x")


def test_a_taken_scheme_cannot_be_registered_twice(toy: _Toy) -> None:
    class Clash(_Toy):
        name = "clash"
        schemes = frozenset({"tcp"})

    with pytest.raises(ValueError, match="tcp already have a driver"):
        registry.register(Clash())
    assert registry.for_scheme("tcp").name == "medctl"


def test_a_registered_drivers_scheme_parses_and_reaches_it(toy: _Toy) -> None:
    address = parse_address("toy://AA:BB:CC:DD:EE:FF?key=1")
    assert (address.scheme, address.location, address.options) == ("toy", "AA:BB:CC:DD:EE:FF", {"key": "1"})
    assert registry.for_scheme("toy") is toy


async def test_connect_opens_through_the_driver_of_the_scheme(toy: _Toy) -> None:
    with pytest.raises(medctl.TransportError, match="not reachable"):
        async with medctl.connect("toy://AA:BB:CC:DD:EE:FF", retries=2, pin="1234"):
            pass
    assert [(a.url, o) for a, o in toy.opened] == [("toy://AA:BB:CC:DD:EE:FF", {"retries": 2, "pin": "1234"})]


def test_advertisements_pick_the_driver_that_recognises_them(toy: _Toy) -> None:
    ours = Advertisement("AA:BB:CC:DD:EE:01", "NeckEase", -50, service_uuids=(SERVICE_UUID.upper(),))
    theirs = Advertisement("AA:BB:CC:DD:EE:02", "TY", -60, manufacturer_data={TOY_COMPANY: b"TY\x01"})
    battery_service = "0000180f-0000-1000-8000-00805f9b34fb"
    other = Advertisement("AA:BB:CC:DD:EE:03", "Headphones", -40, service_uuids=(battery_service,))
    assert registry.for_advertisement(ours) is registry.for_scheme("ble")
    assert registry.for_advertisement(theirs) is toy
    assert registry.for_advertisement(other) is None
    assert registry.for_scheme("ble").url_for(ours, hci="tcp-client:127.0.0.1:9000") == (
        "ble://AA:BB:CC:DD:EE:01?hci=tcp-client:127.0.0.1:9000"
    )
