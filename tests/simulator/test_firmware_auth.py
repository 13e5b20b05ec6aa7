"""The firmware's authentication step (SPEC.md §11): pairing, refused and replayed frames, STOP, watchdog."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_protocol import (
    AUTH_FRAME_VERSION,
    Ack,
    AuthFailure,
    ClearFaults,
    ErrorCode,
    Fault,
    Frame,
    GetInfo,
    GetStatus,
    Goodbye,
    Heartbeat,
    Hello,
    HelloResult,
    InfoField,
    MotorState,
    Nack,
    PairBegin,
    PairBeginResult,
    PairConfirm,
    Replay,
    Request,
    SetHeat,
    SetIntensity,
    Start,
    Stop,
    crc16,
)
from firmware_protocol.auth import seal
from firmware_protocol.constants import MAX_PAYLOAD_LEN
from simulator import DeviceConfig, Firmware
from simulator.auth import MAX_PAIRED, MAX_PAIRING_FAILURES
from simulator.testing import Bench, FakeTime, RecordingLink

CODE = "7KQM-3XHP"
OWNER = 0x0A0B0C0D


def assert_nack(answer: Ack | Nack, code: ErrorCode, detail: int = 0) -> None:
    assert isinstance(answer, Nack), answer
    assert (answer.code, answer.detail) == (code, detail)


class Controller:
    """A paired controller on one link of a bench: signs with its key and a counter it moves on."""

    def __init__(self, bench: Bench, link: RecordingLink, controller_id: int, key: bytes) -> None:
        self.bench, self.link, self.controller_id, self.key = bench, link, controller_id, key
        self.counter = 0

    def request(self, message: Request, seq: int | None = None, counter: int | None = None) -> Ack | Nack:
        if counter is None:
            self.counter += 1
            counter = self.counter
        return self.bench.request(self.link, message, seq, key=self.key, counter=counter)

    def hello(self) -> Ack:
        answer = self.request(Hello(2, 2, self.controller_id))
        assert isinstance(answer, Ack), answer
        return answer


@pytest.fixture
def paired() -> Controller:
    bench = Bench(DeviceConfig(pairing_code=CODE))
    link = bench.link("owner")
    return Controller(bench, link, OWNER, bench.pair(link, OWNER))


@pytest.fixture
def owner(paired: Controller) -> Controller:
    paired.hello()
    return paired


# --- pairing ---------------------------------------------------------------------------------------


def test_the_device_prints_its_own_random_code() -> None:
    codes = {Bench().firmware.pairing_code for _ in range(5)}
    assert len(codes) == 5 and all(len(code) == 9 and code[4] == "-" for code in codes)
    assert Bench(DeviceConfig(pairing_code="7kqm 3xhp")).firmware.pairing_code == CODE


def test_pairing_stores_one_key(paired: Controller) -> None:
    state = paired.bench.firmware.state
    assert state.paired_controllers == 1 and paired.bench.firmware.auth.controllers == (OWNER,)


def test_pair_begin_answers_a_fresh_nonce_each_time(bench: Bench) -> None:
    link = bench.link()
    nonces = set()
    for _ in range(3):
        answer = bench.request(link, PairBegin(7, bytes(8)))
        assert isinstance(answer, Ack)
        nonces.add(PairBeginResult.from_bytes(answer.data).nonce)
    assert len(nonces) == 3


def test_a_wrong_code_stores_nothing(bench: Bench) -> None:
    link = bench.link()
    wrong = "ZZZZ-2222" if bench.firmware.pairing_code != "ZZZZ-2222" else "ZZZZ-3333"
    with pytest.raises(AssertionError, match="PAIR_CONFIRM refused.*AUTH_FAILED"):
        bench.pair(link, 7, code=wrong)
    assert not bench.firmware.auth.paired and bench.firmware.state.auth_failed == 1
    bench.hello(link, 7)  # still an open, unpaired device
    assert isinstance(bench.request(link, Start(1)), Ack)


def test_confirm_without_begin_is_refused(bench: Bench) -> None:
    assert_nack(bench.request(bench.link(), PairConfirm(bytes(8))), ErrorCode.AUTH_FAILED, AuthFailure.NO_PAIRING)


def test_pairing_locks_after_too_many_wrong_codes(bench: Bench) -> None:
    link = bench.link()
    for _ in range(MAX_PAIRING_FAILURES):
        bench.request(link, PairBegin(7, bytes(8)))
        assert_nack(bench.request(link, PairConfirm(bytes(8))), ErrorCode.AUTH_FAILED, AuthFailure.BAD_TAG)
    answer = bench.request(link, PairBegin(7, bytes(8)))
    assert_nack(answer, ErrorCode.AUTH_FAILED, AuthFailure.PAIRING_LOCKED)


def test_pairing_again_replaces_the_key(paired: Controller) -> None:
    old = Controller(paired.bench, paired.link, OWNER, paired.key)
    new_key = paired.bench.pair(paired.link, OWNER)
    assert new_key != old.key
    assert_nack(old.request(Hello(2, 2, OWNER)), ErrorCode.AUTH_FAILED, AuthFailure.BAD_TAG)
    Controller(paired.bench, paired.link, OWNER, new_key).hello()


def test_the_least_recently_used_key_makes_room(paired: Controller) -> None:
    bench = paired.bench
    for controller_id in range(100, 100 + MAX_PAIRED):
        bench.pair(bench.link(), controller_id)
    assert OWNER not in bench.firmware.auth.controllers
    assert_nack(paired.request(Hello(2, 2, OWNER)), ErrorCode.AUTH_FAILED, AuthFailure.UNKNOWN_CONTROLLER)


# --- what a paired device refuses and what it still takes -------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [Hello(1, 2, OWNER), Goodbye(), Start(1), SetIntensity(2), SetHeat(1), ClearFaults(Fault.LINK_LOST), Heartbeat()],
    ids=lambda r: type(r).__name__,
)
def test_a_paired_device_refuses_plain_control(paired: Controller, request_: Request) -> None:
    stranger = paired.bench.link("stranger")
    assert_nack(paired.bench.request(stranger, request_), ErrorCode.AUTH_REQUIRED)
    assert paired.bench.firmware.state.owner is None and paired.bench.firmware.state.auth_required == 1


def test_a_version_1_hello_learns_the_device_needs_version_2(paired: Controller) -> None:
    answer = paired.bench.request(paired.bench.link(), Hello(1, 1, OWNER))
    assert_nack(answer, ErrorCode.UNSUPPORTED_VERSION, 2)


@pytest.mark.parametrize("request_", [GetInfo(InfoField.SERIAL), GetStatus()], ids=lambda r: type(r).__name__)
def test_read_only_requests_stay_open(paired: Controller, request_: Request) -> None:
    assert isinstance(paired.bench.request(paired.bench.link("stranger"), request_), Ack)


def test_an_authenticated_hello_negotiates_version_2_and_takes_ownership(owner: Controller) -> None:
    assert owner.bench.firmware.state.owner == OWNER
    assert isinstance(owner.request(Start(1)), Ack)
    assert owner.bench.firmware.state.running and owner.bench.firmware.state.intensity == 1


def test_hello_result_reports_version_2(paired: Controller) -> None:
    assert HelloResult.from_bytes(paired.hello().data).version == 2


def test_a_forged_tag_is_refused(owner: Controller) -> None:
    forger = Controller(owner.bench, owner.link, OWNER, bytes(32))
    assert_nack(forger.request(Start(5), counter=1000), ErrorCode.AUTH_FAILED, AuthFailure.BAD_TAG)
    assert not owner.bench.firmware.state.running and owner.bench.firmware.state.auth_failed == 1


def test_an_unknown_controller_is_refused(paired: Controller) -> None:
    stranger = Controller(paired.bench, paired.bench.link("stranger"), 99, bytes(32))
    assert_nack(stranger.request(Hello(2, 2, 99)), ErrorCode.AUTH_FAILED, AuthFailure.UNKNOWN_CONTROLLER)


def test_a_signed_request_without_a_session_needs_hello(paired: Controller) -> None:
    elsewhere = Controller(paired.bench, paired.bench.link("elsewhere"), OWNER, paired.key)
    assert_nack(elsewhere.request(Start(1)), ErrorCode.HELLO_REQUIRED)


def test_an_unpaired_device_refuses_signed_frames_it_cannot_check(bench: Bench) -> None:
    stranger = Controller(bench, bench.link(), 5, bytes(32))
    assert_nack(stranger.request(Hello(2, 2, 5)), ErrorCode.AUTH_FAILED, AuthFailure.UNKNOWN_CONTROLLER)


# --- counters, replays, retries ------------------------------------------------------------------


def test_an_older_frame_replayed_is_refused(owner: Controller) -> None:
    start = owner.bench.send(owner.link, Start(1), key=owner.key, counter=10)
    owner.request(Stop(), counter=11)
    owner.link.take()
    executed = owner.bench.firmware.state.requests_executed
    owner.bench.firmware.receive(owner.link, start)
    assert owner.link.take()[0][1] == Nack(Start.TYPE, ErrorCode.REPLAYED, Replay.OLDER)
    state = owner.bench.firmware.state
    assert not state.running and state.requests_executed == executed and state.replayed == 1


def test_a_reused_counter_is_refused(owner: Controller) -> None:
    owner.request(Start(1), counter=20)
    assert_nack(owner.request(SetIntensity(4), counter=20), ErrorCode.REPLAYED, Replay.REPEATED)
    assert_nack(owner.request(SetIntensity(4), counter=19), ErrorCode.REPLAYED, Replay.OLDER)
    assert owner.bench.firmware.state.intensity == 1


def test_a_replayed_hello_on_another_link_does_not_move_ownership(owner: Controller) -> None:
    hello = owner.bench.send(owner.link, Hello(2, 2, OWNER), key=owner.key, counter=50)
    attacker = owner.bench.link("attacker")
    owner.bench.firmware.receive(attacker, hello)
    [(_, answer)] = attacker.take()
    assert answer == Nack(Hello.TYPE, ErrorCode.REPLAYED, Replay.REPEATED)
    assert isinstance(owner.request(Start(1), counter=51), Ack)  # still the owner's link


def test_a_retry_of_the_same_frame_is_answered_from_memory_not_refused(owner: Controller) -> None:
    owner.link.take()
    frame = owner.bench.send(owner.link, Start(1), key=owner.key, counter=30)
    first = owner.link.take()
    executed = owner.bench.firmware.state.requests_executed
    owner.bench.firmware.receive(owner.link, frame)  # the ACK was lost: the controller retries
    again = owner.link.take()
    assert again[:1] == first[:1] and isinstance(again[0][1], Ack)
    state = owner.bench.firmware.state
    assert state.duplicates == 1 and state.requests_executed == executed and state.replayed == 0


def test_refused_frames_do_not_displace_the_retry_memory(owner: Controller) -> None:
    frame = owner.bench.send(owner.link, Start(1), key=owner.key, counter=40)
    owner.link.take()
    forged = seal(SetIntensity(5), 99, bytes(32), 41)
    owner.bench.firmware.receive(owner.link, forged)  # a rogue peer on the same serial line
    owner.bench.firmware.receive(owner.link, owner.bench.send(owner.link, Start(4)))  # and a plain one
    owner.link.take()
    owner.bench.firmware.receive(owner.link, frame)
    [(_, answer)] = [(s, m) for s, m in owner.link.take() if isinstance(m, Ack | Nack)]
    assert isinstance(answer, Ack) and owner.bench.firmware.state.intensity == 1


def test_counters_outlive_links(owner: Controller) -> None:
    owner.request(Start(1), counter=60)
    owner.bench.firmware.detach(owner.link)
    again = Controller(owner.bench, owner.bench.link("again"), OWNER, owner.key)
    assert_nack(again.request(Hello(2, 2, OWNER), counter=60), ErrorCode.REPLAYED, Replay.REPEATED)
    assert isinstance(again.request(Hello(2, 2, OWNER), counter=61), Ack)


def test_keys_and_counters_survive_a_restart(owner: Controller) -> None:
    owner.request(Start(1), counter=70)
    clock = FakeTime()
    restarted = Firmware(owner.bench.firmware.config, clock, clock, auth=owner.bench.firmware.auth)
    link = RecordingLink()
    restarted.attach(link)
    restarted.receive(link, seal(Hello(2, 2, OWNER), 1, owner.key, 70))
    assert link.take()[0][1] == Nack(Hello.TYPE, ErrorCode.REPLAYED, Replay.REPEATED)
    restarted.receive(link, seal(Hello(2, 2, OWNER), 2, owner.key, 71))
    assert isinstance(link.take()[0][1], Ack) and restarted.state.owner == OWNER


# --- STOP and the watchdog -----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["plain", "forged", "replayed", "no_session"])
def test_stop_is_never_refused(owner: Controller, how: str) -> None:
    owner.request(Start(1), counter=80)
    old_stop = owner.bench.send(owner.link, Stop(), key=owner.key, counter=81)
    owner.request(Start(1), counter=82)
    stranger = owner.bench.link("stranger")
    frames = {
        "plain": owner.bench.send(stranger, Stop()),
        "forged": seal(Stop(), 7, bytes(32), 1000),
        "replayed": old_stop,
        "no_session": seal(Stop(), 8, owner.key, 1001),
    }
    stranger.take()
    owner.bench.firmware.receive(stranger, frames[how])
    assert isinstance(stranger.take()[0][1], Ack)
    assert owner.bench.firmware.state.state is MotorState.IDLE


def test_forged_frames_on_the_owners_link_do_not_feed_the_watchdog(owner: Controller) -> None:
    owner.request(Start(1))
    forger = Controller(owner.bench, owner.link, OWNER, bytes(32))
    for _ in range(6):
        owner.bench.advance(0.5)
        forger.request(Heartbeat(), counter=5000)
        owner.bench.send(owner.link, GetStatus())  # plain and valid: fed a version-1 watchdog
    state = owner.bench.firmware.state
    assert not state.running and state.faults & Fault.LINK_LOST and state.owner is None


def test_replaying_the_last_frame_does_not_feed_the_watchdog(owner: Controller) -> None:
    heartbeat = owner.bench.send(owner.link, Heartbeat(), key=owner.key, counter=90)
    owner.request(Start(1), counter=91)
    last = owner.bench.send(owner.link, Heartbeat(), key=owner.key, counter=92)
    for _ in range(6):
        owner.bench.advance(0.5)
        owner.bench.firmware.receive(owner.link, last)  # answered from memory
        owner.bench.firmware.receive(owner.link, heartbeat)  # refused
    assert not owner.bench.firmware.state.running and owner.bench.firmware.state.owner is None


def test_authenticated_heartbeats_feed_the_watchdog(owner: Controller) -> None:
    owner.request(Start(1))
    for _ in range(20):
        owner.bench.advance(0.5)
        owner.request(Heartbeat())
    assert owner.bench.firmware.state.running and owner.bench.firmware.state.owner == OWNER


# --- no input makes the paired firmware raise -------------------------------------------------------

frames = st.builds(
    Frame,
    msg_type=st.integers(0, 255),
    seq=st.integers(0, 255),
    payload=st.binary(max_size=MAX_PAYLOAD_LEN),
    version=st.sampled_from([1, AUTH_FRAME_VERSION]),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(frames, min_size=1, max_size=15))
def test_every_frame_to_a_paired_device_gets_exactly_one_answer(sent: list[Frame]) -> None:
    bench = Bench(DeviceConfig(pairing_code=CODE))
    link = bench.link()
    key = bench.pair(link, OWNER)
    Controller(bench, link, OWNER, key).hello()
    for frame in sent:
        link.take()
        bench.firmware.receive(link, bytes(frame))
        answers = [(seq, m) for seq, m in link.take() if isinstance(m, Ack | Nack)]
        assert len(answers) == 1 and answers[0][0] == frame.seq


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=24), max_size=15))
def test_random_bytes_to_a_paired_device_never_raise(chunks: list[bytes]) -> None:
    bench = Bench(DeviceConfig(pairing_code=CODE))
    link = bench.link()
    bench.pair(link, OWNER)
    for chunk in chunks:
        body = chunk[:-2]
        bench.firmware.receive(link, chunk)
        bench.firmware.receive(link, body + crc16(body).to_bytes(2, "big"))  # the same with a valid CRC
    assert not bench.firmware.state.running
