"""Massage modes on the simulated firmware (SPEC.md §7.4.11): names, SET_MODE, and a device without them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from firmware_protocol import (
    Ack,
    ErrorCode,
    Feature,
    Frame,
    GetInfo,
    Hello,
    HelloResult,
    InfoField,
    InfoResult,
    MsgType,
    Nack,
    SetMode,
    Start,
    Stop,
    mode_name_field,
)
from simulator.config import DEFAULT_MODES, DeviceConfig
from simulator.testing import Bench


def assert_nack(answer: Ack | Nack, code: ErrorCode, detail: int = 0) -> None:
    assert isinstance(answer, Nack), answer
    assert (answer.code, answer.detail) == (code, detail)


def names(bench: Bench) -> list[str]:
    """Read the names as SPEC.md §7.4.11 tells a controller to: from MODE_0 up to the first empty text."""
    found = []
    for mode in range(8):
        answer = bench.request(bench.link(f"reader-{mode}"), GetInfo(mode_name_field(mode)))
        assert isinstance(answer, Ack), answer
        text = InfoResult.from_bytes(answer.data).text
        if not text:
            break
        found.append(text)
    return found


def test_the_default_device_offers_a_few_modes_and_says_so_in_hello(bench: Bench) -> None:
    features = HelloResult.from_bytes(bench.hello(bench.link()).data).features
    assert features & Feature.MODES
    assert names(bench) == list(DEFAULT_MODES) and len(DEFAULT_MODES) >= 3


def test_a_mode_past_the_last_has_an_empty_name(bench: Bench) -> None:
    answer = bench.request(bench.link(), GetInfo(InfoField.MODE_7))
    assert isinstance(answer, Ack) and InfoResult.from_bytes(answer.data) == InfoResult(InfoField.MODE_7, "")


def test_set_mode_changes_the_mode_whether_running_or_not_and_stop_keeps_it(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    assert bench.request(link, SetMode(2)) == Ack(MsgType.SET_MODE)
    assert bench.firmware.state.mode == 2 and not bench.firmware.state.running
    bench.request(link, Start(1))
    assert bench.request(link, SetMode(1)) == Ack(MsgType.SET_MODE)
    assert bench.firmware.state.mode == 1 and bench.firmware.state.intensity == 1  # a pattern, not a strength
    bench.request(link, Stop())
    assert bench.firmware.state.mode == 1


def test_set_mode_out_of_range_names_the_highest_mode_and_changes_nothing(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    bench.request(link, SetMode(1))
    assert_nack(bench.request(link, SetMode(len(DEFAULT_MODES))), ErrorCode.OUT_OF_RANGE, len(DEFAULT_MODES) - 1)
    assert_nack(bench.request(link, SetMode(255)), ErrorCode.OUT_OF_RANGE, len(DEFAULT_MODES) - 1)
    assert bench.firmware.state.mode == 1


def test_set_mode_needs_a_session_and_ownership(bench: Bench) -> None:
    owner, stranger = bench.link("owner"), bench.link("stranger")
    assert_nack(bench.request(stranger, SetMode(1)), ErrorCode.HELLO_REQUIRED)
    bench.hello(owner, controller_id=1)
    refused = bench.request(stranger, Hello(1, 1, 2))  # another controller owns the device
    assert_nack(refused, ErrorCode.NOT_OWNER)
    assert_nack(bench.request(stranger, SetMode(1)), ErrorCode.HELLO_REQUIRED)
    assert bench.firmware.state.mode == 0


def test_the_watchdog_leaves_the_mode(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    bench.request(link, Start(1))
    bench.request(link, SetMode(2))
    bench.advance(bench.firmware.config.watchdog_s + 0.5)
    state = bench.firmware.state
    assert not state.running and state.mode == 2


@pytest.fixture
def plain_bench(make_bench: Callable[..., Bench]) -> Bench:
    return make_bench(modes=())


def test_a_device_without_modes_has_no_feature_bit_and_refuses_as_an_older_firmware(plain_bench: Bench) -> None:
    link = plain_bench.link()
    assert not HelloResult.from_bytes(plain_bench.hello(link).data).features & Feature.MODES
    assert_nack(plain_bench.request(link, SetMode(0)), ErrorCode.UNKNOWN_TYPE)
    assert_nack(plain_bench.request(link, GetInfo(InfoField.MODE_0)), ErrorCode.BAD_VALUE, InfoField.MODE_0)


def test_a_device_without_modes_decides_on_the_type_before_the_length(plain_bench: Bench) -> None:
    """SPEC.md §7.3 step 5 before step 6: an unknown type is unknown whatever its payload."""
    link = plain_bench.link()
    plain_bench.hello(link)
    plain_bench.firmware.receive(link, bytes(Frame(msg_type=MsgType.SET_MODE, seq=9, payload=b"\x01\x02")))
    answers = [m for _, m in link.take() if isinstance(m, Ack | Nack)]
    assert answers == [Nack(MsgType.SET_MODE, ErrorCode.UNKNOWN_TYPE, 0)]


@pytest.mark.parametrize(
    ("modes", "problem"),
    [
        (tuple(f"m{i}" for i in range(9)), "at most 8"),
        (("a", "a"), "must differ"),
        (("",), "1..12"),
        (("thirteen-byte",), "1..12"),
    ],
)
def test_mode_names_are_checked_when_the_device_is_configured(modes: tuple[str, ...], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        DeviceConfig(modes=modes)
