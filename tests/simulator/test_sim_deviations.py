"""The simulator's deviation flags: off by default, named one by one, and each hook doing only its one thing."""

from __future__ import annotations

import pytest

from firmware_protocol import ErrorCode, GetStatus, SetHeat, SetIntensity, Start, Stop, crc16
from medctl.address import parse_address
from medctl.errors import AddressError
from medctl.transport.sim import sim_config
from simulator import DeviceConfig
from simulator.deviations import SECTIONS, SLOW_WATCHDOG_EXTRA_S, Deviations, names_of


def test_none_by_default() -> None:
    assert DeviceConfig().deviations == Deviations()
    assert Deviations().active == ()


def test_named_accepts_dashes_and_refuses_unknown_names() -> None:
    assert Deviations.named("no-dedup", "slow_watchdog").active == ("no_dedup", "slow_watchdog")
    with pytest.raises(ValueError, match="unknown deviation 'late_stop'; known: crc_little_endian"):
        Deviations.named("late_stop")


def test_every_flag_names_its_section() -> None:
    assert tuple(SECTIONS) == names_of()
    assert all(section.startswith("§") for section in SECTIONS.values())


def test_sim_address_options() -> None:
    config = sim_config(parse_address("sim://?deviate=no_dedup,wrong_error_code&pairing_code=7KQM-3XHP"))
    assert config.deviations.active == ("no_dedup", "wrong_error_code")
    assert config.pairing_code == "7KQM-3XHP"
    with pytest.raises(AddressError, match="unknown deviation 'x'"):
        sim_config(parse_address("sim://?deviate=x"))


def test_crc_byte_order_is_swapped_only_when_asked() -> None:
    frame = bytes(GetStatus().to_frame(7))
    assert Deviations().outgoing(frame) == frame
    swapped = Deviations(crc_little_endian=True).outgoing(frame)
    assert swapped[:-2] == frame[:-2] and swapped[-2:] == crc16(frame[:-2]).to_bytes(2, "little")


def test_clamping_only_touches_levels() -> None:
    clamp = Deviations(clamp_out_of_range=True)
    assert clamp.level(Start(9), 5, 2) == Start(5)
    assert clamp.level(SetIntensity(0), 5, 2) == SetIntensity(1)
    assert clamp.level(SetHeat(7), 5, 2) == SetHeat(2)
    assert clamp.level(Stop(), 5, 2) == Stop()
    assert Deviations().level(Start(9), 5, 2) == Start(9)


def test_watchdog_and_error_code() -> None:
    assert Deviations(slow_watchdog=True).watchdog_s(3.0) == 3.0 + SLOW_WATCHDOG_EXTRA_S
    assert Deviations().watchdog_s(3.0) == 3.0
    assert Deviations(wrong_error_code=True).error_code(ErrorCode.BAD_LENGTH) is ErrorCode.BAD_VALUE
    assert Deviations(wrong_error_code=True).error_code(ErrorCode.NOT_OWNER) is ErrorCode.NOT_OWNER
