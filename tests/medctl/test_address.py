from __future__ import annotations

import re

import pytest

from medctl.address import parse_address
from medctl.errors import AddressError


def test_sim_with_options() -> None:
    address = parse_address("sim://?speed=60&intensity_levels=3")
    assert address.scheme == "sim"
    assert address.option_float("speed", 1) == 60
    assert address.option_int("intensity_levels", 5) == 3


def test_serial_url_and_bare_path() -> None:
    assert parse_address("serial:///dev/ttyUSB0?baud=9600").location == "/dev/ttyUSB0"
    assert parse_address("serial:///dev/ttyUSB0?baud=9600").option_int("baud", 0) == 9600
    assert parse_address("/dev/pts/4").location == "/dev/pts/4"


def test_tcp() -> None:
    assert parse_address("tcp://127.0.0.1:7000").location == "127.0.0.1:7000"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("bluetooth://x", "unknown device address"),
        ("serial://", "name the serial port"),
        ("tcp://localhost", "give a host and port"),
        ("tcp://localhost:notaport", "give a host and port"),
        ("tcp://localhost:99999", "give a host and port"),
    ],
)
def test_bad_addresses_say_what_to_do(url: str, fragment: str) -> None:
    with pytest.raises(AddressError, match=fragment):
        parse_address(url)


def test_bad_option_value() -> None:
    with pytest.raises(AddressError, match="not a number"):
        parse_address("sim://?speed=fast").option_float("speed", 1)


@pytest.mark.parametrize(
    ("url", "location", "options"),
    [
        ("ble://aa:bb:cc:dd:ee:ff", "AA:BB:CC:DD:EE:FF", {}),
        ("ble://AA:BB:CC:DD:EE:FF?timeout=3", "AA:BB:CC:DD:EE:FF", {"timeout": "3"}),
        ("ble://0a1b2c3d-0000-4000-8000-00aabbccddee", "0A1B2C3D-0000-4000-8000-00AABBCCDDEE", {}),  # macOS
        ("ble://?name=NeckEase", "", {"name": "NeckEase"}),
        ("ble://?name=Neck&hci=tcp-client:127.0.0.1:9000", "", {"name": "Neck", "hci": "tcp-client:127.0.0.1:9000"}),
    ],
)
def test_ble_by_address_or_name(url: str, location: str, options: dict[str, str]) -> None:
    address = parse_address(url)
    assert (address.scheme, address.location, address.options) == ("ble", location, options)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ble://", "name the massager"),
        ("ble://?hci=usb:0", "name the massager"),
        ("ble://neckease", "is not a Bluetooth address"),
        ("ble://AA:BB:CC:DD:EE", "is not a Bluetooth address"),
        ("ble://AA:BB:CC:DD:EE:FF?name=x", "not both"),
        ("ble://AA:BB:CC:DD:EE:FF?adapter=hci1", "unknown option(s) adapter"),
    ],
)
def test_bad_ble_addresses_say_what_to_do(url: str, fragment: str) -> None:
    with pytest.raises(AddressError, match=re.escape(fragment)):
        parse_address(url)


@pytest.mark.parametrize("url", ["ble://[?", "tcp://[::1:7000", "sim://]"])
def test_a_malformed_url_is_an_address_error(url: str) -> None:
    with pytest.raises(AddressError):
        parse_address(url)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_numeric_options_must_be_finite(value: str) -> None:
    with pytest.raises(AddressError, match="not a finite number"):
        parse_address(f"sim://?speed={value}").option_float("speed", 1.0)
