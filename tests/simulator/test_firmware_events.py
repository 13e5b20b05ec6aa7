"""STATUS and FAULT events (on change, periodic, device seq) and request de-duplication."""

from __future__ import annotations

import itertools

from firmware_protocol import (
    Ack,
    Fault,
    FaultEvent,
    Frame,
    GetStatus,
    Hello,
    MotorState,
    MsgType,
    SetIntensity,
    Start,
    Status,
    StatusFlag,
    Stop,
    encode_message,
)
from simulator.testing import Bench, RecordingLink


def statuses(link: RecordingLink) -> list[Status]:
    return [m for _, m in link.take() if isinstance(m, Status)]


def test_hello_is_followed_by_an_owned_status(bench: Bench) -> None:
    link = bench.link()
    bench.send(link, Hello(1, 1, 5), seq=10)
    (seq_ack, ack), (_, status) = link.take()
    assert seq_ack == 10 and isinstance(ack, Ack)
    assert isinstance(status, Status) and status.flags == StatusFlag.OWNED


def test_status_immediately_on_every_reportable_change(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    link.take()
    bench.request(link, Start(1))
    [running] = statuses(link)
    assert (running.state, running.intensity) == (MotorState.RUNNING, 1)
    bench.request(link, SetIntensity(1))
    assert statuses(link) == [], "no change, no event"
    bench.request(link, GetStatus())
    assert statuses(link) == []
    bench.firmware.inject_stall(True)
    bench.advance(0.05)
    events = [m for _, m in link.take()]
    assert events == [FaultEvent(Fault.MOTOR_STALL, active=True), bench.firmware.status()]


def test_answer_comes_before_the_event(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    link.take()
    bench.send(link, Start(1), seq=3)
    kinds = [type(m) for _, m in link.take()]
    assert kinds == [Ack, Status]


def test_status_every_interval(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    link.take()
    bench.advance(0.95, link=False)
    assert statuses(link) == []
    bench.advance(9.55, link=False)
    assert len(statuses(link)) == 10


def test_a_change_restarts_the_period(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    bench.advance(0.5, link=False)
    link.take()
    bench.request(link, Start(1))
    assert len(statuses(link)) == 1
    bench.advance(0.9, link=False)
    assert statuses(link) == []
    bench.advance(0.15, link=False)
    assert len(statuses(link)) == 1


def test_events_only_reach_links_that_said_hello(bench: Bench) -> None:
    owner, reader = bench.link("owner"), bench.link("reader")
    bench.hello(owner)
    bench.request(reader, GetStatus())
    bench.request(reader, Stop())
    bench.advance(2.0, link=False)
    assert reader.take() == []
    assert statuses(owner)


def test_events_use_the_device_seq_wrapping_at_256(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    link.take()
    bench.advance(300, step=1.0, link=False)
    seqs = [Frame.loads(f).seq for f in link.frames]
    assert len(seqs) == 300
    assert all(b == (a + 1) % 256 for a, b in itertools.pairwise(seqs))


def test_periodic_status_carries_live_values(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    bench.request(link, Start(1))
    link.take()
    bench.advance(5.0, link=False)
    last = statuses(link)[-1]
    assert last.run_seconds == 5 and last.state is MotorState.RUNNING


# --- de-duplication ----------------------------------------------------------------------------


def test_identical_frame_is_answered_without_executing_again(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    link.take()
    frame = encode_message(Start(1), 42)
    bench.firmware.receive(link, frame)
    executed = bench.firmware.state.requests_executed
    first = link.frames[0]
    link.take()
    bench.firmware.receive(link, frame)
    assert link.frames == [first]
    state = bench.firmware.state
    assert (state.requests_executed, state.duplicates) == (executed, 1)


def test_duplicate_gets_the_remembered_answer_even_if_state_moved_on(bench: Bench) -> None:
    link, other = bench.link(), bench.link("other")
    bench.hello(link)
    bench.request(link, Start(1))
    query = encode_message(GetStatus(), 99)
    bench.firmware.receive(link, query)
    first = link.frames[-1]
    bench.request(other, Stop())
    link.frames.clear()
    bench.firmware.receive(link, query)
    assert link.frames == [first]
    assert bench.firmware.state.state is MotorState.IDLE


def test_a_new_seq_is_a_new_request(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    before = bench.firmware.state.requests_executed
    bench.request(link, Stop(), seq=1)
    bench.request(link, Stop(), seq=2)
    assert bench.firmware.state.requests_executed == before + 2


def test_duplicate_from_the_owner_still_feeds_the_watchdog(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link)
    beat = encode_message(GetStatus(), 7)
    for t in (1.0, 2.0, 3.0, 4.0):
        bench.set_time(t)
        bench.firmware.receive(link, beat)
    assert bench.firmware.state.owner == 1


def test_hello_is_executed_again_after_the_watchdog(bench: Bench) -> None:
    link = bench.link()
    hello = encode_message(Hello(1, 1, 4), 0)
    bench.firmware.receive(link, hello)
    bench.set_time(3.5)
    assert bench.firmware.state.owner is None
    bench.firmware.receive(link, hello)
    assert bench.firmware.state.owner == 4
    assert bench.firmware.state.duplicates == 0


def test_each_link_remembers_its_own_last_request(bench: Bench) -> None:
    a, b = bench.link("a"), bench.link("b")
    frame = encode_message(Stop(), 5)
    bench.firmware.receive(a, frame)
    bench.firmware.receive(b, frame)
    assert bench.firmware.state.duplicates == 0
    assert [m for _, m in b.take()] == [Ack(MsgType.STOP)]
