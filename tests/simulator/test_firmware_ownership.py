"""One controller at a time: HELLO, NOT_OWNER, takeover by the same id, GOODBYE, detach."""

from __future__ import annotations

from firmware_protocol import (
    Ack,
    ErrorCode,
    GetStatus,
    Goodbye,
    Hello,
    MotorState,
    MsgType,
    Nack,
    SetHeat,
    SetIntensity,
    Start,
    Status,
    StatusFlag,
    Stop,
)
from simulator.testing import Bench


def test_second_controller_is_refused_but_may_read(bench: Bench) -> None:
    a, b = bench.link("a"), bench.link("b")
    bench.hello(a, controller_id=1)
    assert bench.request(b, Hello(1, 1, 2)) == Nack(MsgType.HELLO, ErrorCode.NOT_OWNER)
    answer = bench.request(b, GetStatus())
    assert isinstance(answer, Ack) and Status.from_payload(answer.data).flags == StatusFlag.OWNED
    assert bench.request(b, Start(1)) == Nack(MsgType.START, ErrorCode.HELLO_REQUIRED)
    assert bench.firmware.state.owner == 1


def test_non_owner_stop_still_stops(bench: Bench) -> None:
    a, b = bench.link("a"), bench.link("b")
    bench.hello(a, controller_id=1)
    bench.request(a, Start(1))
    assert bench.request(b, Stop()) == Ack(MsgType.STOP)
    assert bench.firmware.state.state is MotorState.IDLE
    assert bench.firmware.state.owner == 1


def test_same_controller_takes_over_on_a_new_link(bench: Bench) -> None:
    old, new = bench.link("old"), bench.link("new")
    bench.hello(old, controller_id=7)
    bench.request(old, Start(1))
    bench.hello(new, controller_id=7)
    assert bench.request(new, SetIntensity(3)) == Ack(MsgType.SET_INTENSITY)
    assert bench.request(old, SetIntensity(4)) == Nack(MsgType.SET_INTENSITY, ErrorCode.HELLO_REQUIRED)
    old.take()
    bench.request(new, SetHeat(1))
    assert old.take() == [], "the old link no longer gets events"
    assert bench.firmware.state.intensity == 3 and bench.firmware.state.running


def test_goodbye_from_the_owner_stops_and_releases(bench: Bench) -> None:
    a, b = bench.link("a"), bench.link("b")
    bench.hello(a, controller_id=1)
    bench.request(a, Start(1))
    bench.request(a, SetHeat(2))
    assert bench.request(a, Goodbye()) == Ack(MsgType.GOODBYE)
    state = bench.firmware.state
    assert (state.state, state.heat, state.owner) == (MotorState.IDLE, 0, None)
    a.take()
    bench.advance(2)
    assert a.take() == [], "unsubscribed"
    assert bench.request(a, Start(1)) == Nack(MsgType.START, ErrorCode.HELLO_REQUIRED)
    bench.hello(b, controller_id=2)
    assert bench.firmware.state.owner == 2


def test_goodbye_from_a_non_owner_does_nothing(bench: Bench) -> None:
    a, b = bench.link("a"), bench.link("b")
    bench.hello(a, controller_id=1)
    bench.request(a, Start(1))
    assert bench.request(b, Goodbye()) == Ack(MsgType.GOODBYE)
    assert bench.firmware.state.running and bench.firmware.state.owner == 1


def test_detach_keeps_ownership_until_the_watchdog(bench: Bench) -> None:
    a, b, c = bench.link("a"), bench.link("b"), bench.link("c")
    bench.hello(a, controller_id=1)
    bench.request(a, Start(1))
    bench.firmware.detach(a)
    assert bench.firmware.state.owner == 1 and bench.firmware.state.running
    assert bench.request(b, Hello(1, 1, 2)) == Nack(MsgType.HELLO, ErrorCode.NOT_OWNER)
    bench.advance(3.1)
    assert bench.firmware.state.owner is None and not bench.firmware.state.running
    bench.hello(c, controller_id=2)
    assert bench.firmware.state.owner == 2


def test_reconnect_with_the_same_id_after_detach(bench: Bench) -> None:
    a, b = bench.link("a"), bench.link("b")
    bench.hello(a, controller_id=9)
    bench.request(a, Start(1))
    bench.firmware.detach(a)
    bench.advance(1)
    bench.hello(b, controller_id=9)
    bench.advance(2.5)
    assert bench.firmware.state.running, "the new link fed the watchdog"
    assert bench.request(b, Stop()) == Ack(MsgType.STOP)


def test_hello_again_on_the_owner_link_is_fine(bench: Bench) -> None:
    a = bench.link()
    bench.hello(a, controller_id=1)
    bench.hello(a, controller_id=1)
    assert bench.request(a, Start(1)) == Ack(MsgType.START)


def test_owned_flag_follows_ownership(bench: Bench) -> None:
    a = bench.link()
    assert bench.firmware.status().flags == StatusFlag.NONE
    bench.hello(a)
    assert bench.firmware.status().flags == StatusFlag.OWNED
    bench.request(a, Goodbye())
    assert bench.firmware.status().flags == StatusFlag.NONE
