from __future__ import annotations

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
