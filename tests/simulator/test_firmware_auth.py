"""The firmware's authentication (SPEC.md §11, §12): SPAKE2 pairing, connection keys, replays, STOP, watchdog."""

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
    PairConfirm,
    PakeBegin,
    PakePart,
    Replay,
    Request,
    SessionBegin,
    SessionBeginResult,
    SetHeat,
    SetIntensity,
    Start,
    Status,
    StatusFlag,
    Stop,
    crc16,
    encode_message,
)
from firmware_protocol.auth import seal
from firmware_protocol.constants import MAX_PAYLOAD_LEN
from firmware_protocol.session import session_key
from simulator import DeviceConfig, Firmware
from simulator.auth import MAX_PAIRED, MAX_PAIRING_FAILURES, PAIRING_INTERVAL_S, PAIRING_WINDOW_S
from simulator.testing import Bench, FakeTime, RecordingLink

CODE = "7KQM-3XHP"
OWNER = 0x0A0B0C0D


def assert_nack(answer: Ack | Nack, code: ErrorCode, detail: int = 0) -> None:
    assert isinstance(answer, Nack), answer
    assert (answer.code, answer.detail) == (code, detail)


class Controller:
    """A paired controller on one link of a bench: opens the link's keys, signs with a counter it moves on."""

    def __init__(
        self, bench: Bench, link: RecordingLink, controller_id: int, pairing_key: bytes, *, session: bool = True
    ) -> None:
        self.bench, self.link, self.controller_id, self.pairing_key = bench, link, controller_id, pairing_key
        self.key = bench.begin_session(link, controller_id, pairing_key) if session else pairing_key
        self.counter = 0

    def request(self, message: Request, seq: int | None = None, counter: int | None = None) -> Ack | Nack:
        if counter is None:
            self.counter += 1
            counter = self.counter
        return self.bench.request(self.link, message, seq, key=self.key, counter=counter)

    def hello(self) -> Ack:
        answer = self.request(Hello(3, 3, self.controller_id))
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


def test_session_begin_answers_a_fresh_nonce_each_time(paired: Controller) -> None:
    link = paired.bench.link()
    nonces = set()
    for _ in range(3):
        answer = paired.bench.request(link, SessionBegin(OWNER, bytes(8)))
        assert isinstance(answer, Ack)
        nonces.add(SessionBeginResult.from_bytes(answer.data).nonce)
    assert len(nonces) == 3


def test_version_2_pairing_is_refused_without_any_work(bench: Bench) -> None:
    bench.firmware.open_pairing_window()
    answer = bench.request(bench.link(), PairBegin(7, bytes(8)))
    assert_nack(answer, ErrorCode.UNSUPPORTED_VERSION, 3)
    assert bench.firmware.auth.failures == 0


def test_a_wrong_code_stores_nothing(bench: Bench) -> None:
    link = bench.link()
    wrong = "ZZZZ-2222" if bench.firmware.pairing_code != "ZZZZ-2222" else "ZZZZ-3333"
    with pytest.raises(AssertionError, match="PAIR_CONFIRM refused.*AUTH_FAILED"):
        bench.pair(link, 7, code=wrong)
    assert not bench.firmware.auth.paired and bench.firmware.auth.failures == 1
    bench.hello(link, 7)  # still an open, unpaired device
    assert isinstance(bench.request(link, Start(1)), Ack)


def test_confirm_without_begin_is_refused(bench: Bench) -> None:
    assert_nack(bench.request(bench.link(), PairConfirm(bytes(8))), ErrorCode.AUTH_FAILED, AuthFailure.NO_PAIRING)


def test_pairing_is_closed_until_the_button_is_pressed(bench: Bench) -> None:
    link = bench.link()
    assert_nack(bench.request(link, PakeBegin(7)), ErrorCode.AUTH_FAILED, AuthFailure.PAIRING_CLOSED)
    bench.firmware.open_pairing_window()
    bench.link_time.now += PAIRING_WINDOW_S
    assert_nack(bench.request(link, PakeBegin(7)), ErrorCode.AUTH_FAILED, AuthFailure.PAIRING_CLOSED)
    assert bench.firmware.auth.failures == 0  # refused before any work: not an attempt


def test_one_attempt_a_second_and_one_pairing_per_press(bench: Bench) -> None:
    link = bench.link()
    bench.firmware.open_pairing_window()
    assert isinstance(bench.request(link, PakeBegin(7)), Ack)
    assert_nack(bench.request(link, PakeBegin(8)), ErrorCode.AUTH_FAILED, AuthFailure.PAIRING_TOO_SOON)
    bench.pair(link, 9)  # presses the button again, and waits the interval
    assert_nack(bench.request(link, PakeBegin(10)), ErrorCode.AUTH_FAILED, AuthFailure.PAIRING_CLOSED)


def test_parts_must_come_in_order(bench: Bench) -> None:
    link = bench.link()
    bench.firmware.open_pairing_window()
    bench.request(link, PakeBegin(7))
    assert_nack(bench.request(link, PakePart(1, bytes(12))), ErrorCode.AUTH_FAILED, AuthFailure.NO_PAIRING)
    assert_nack(bench.request(link, PakePart(0, bytes(9))), ErrorCode.AUTH_FAILED, AuthFailure.NO_PAIRING)
    assert isinstance(bench.request(link, PakePart(0, bytes(12))), Ack)
    assert_nack(bench.request(link, PairConfirm(bytes(8))), ErrorCode.AUTH_FAILED, AuthFailure.NO_PAIRING)


def wrong_pairing(bench: Bench, link: RecordingLink) -> None:
    with pytest.raises(AssertionError, match="PAIR_CONFIRM refused"):
        bench.pair(link, 7, code="ZZZZ-2222" if bench.firmware.pairing_code != "ZZZZ-2222" else "ZZZZ-3333")


def test_pairing_locks_after_too_many_failed_attempts_until_a_power_cycle(bench: Bench) -> None:
    link = bench.link()
    for _ in range(MAX_PAIRING_FAILURES):
        wrong_pairing(bench, link)
    bench.link_time.now += PAIRING_INTERVAL_S
    bench.firmware.open_pairing_window()
    assert_nack(bench.request(link, PakeBegin(7)), ErrorCode.AUTH_FAILED, AuthFailure.PAIRING_LOCKED)
    restarted = Bench(bench.firmware.config)
    restarted.firmware = Firmware(
        bench.firmware.config, restarted.device_time, restarted.link_time, auth=bench.firmware.auth
    )
    restarted.pair(restarted.link(), 7)  # switched off and on: the lockout is gone


def test_an_abandoned_attempt_counts_as_failed(bench: Bench) -> None:
    link = bench.link()
    for _ in range(MAX_PAIRING_FAILURES):
        bench.link_time.now += PAIRING_INTERVAL_S
        bench.firmware.open_pairing_window()
        assert isinstance(bench.request(link, PakeBegin(7)), Ack)  # and never confirmed
    bench.link_time.now += PAIRING_INTERVAL_S
    assert_nack(bench.request(link, PakeBegin(7)), ErrorCode.AUTH_FAILED, AuthFailure.PAIRING_LOCKED)


def test_a_success_does_not_reset_the_failures(bench: Bench) -> None:
    link = bench.link()
    for _ in range(MAX_PAIRING_FAILURES - 1):
        wrong_pairing(bench, link)
    bench.pair(link, 7)
    wrong_pairing(bench, link)
    bench.link_time.now += PAIRING_INTERVAL_S
    bench.firmware.open_pairing_window()
    assert_nack(bench.request(link, PakeBegin(8)), ErrorCode.AUTH_FAILED, AuthFailure.PAIRING_LOCKED)


def test_pairing_again_replaces_the_key(paired: Controller) -> None:
    new_key = paired.bench.pair(paired.link, OWNER)
    assert new_key != paired.pairing_key
    with pytest.raises(AssertionError, match="proof does not verify"):  # the old key's holder is told at once
        Controller(paired.bench, paired.link, OWNER, paired.pairing_key)
    Controller(paired.bench, paired.link, OWNER, new_key).hello()


def test_the_least_recently_used_key_makes_room(paired: Controller) -> None:
    bench = paired.bench
    for controller_id in range(100, 100 + MAX_PAIRED):
        bench.pair(bench.link(), controller_id)
    assert OWNER not in bench.firmware.auth.controllers
    answer = bench.request(bench.link(), SessionBegin(OWNER, bytes(8)))
    assert_nack(answer, ErrorCode.AUTH_FAILED, AuthFailure.UNKNOWN_CONTROLLER)


# --- what a paired device refuses and what it still takes -------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [Hello(1, 3, OWNER), Goodbye(), Start(1), SetIntensity(2), SetHeat(1), ClearFaults(Fault.LINK_LOST), Heartbeat()],
    ids=lambda r: type(r).__name__,
)
def test_a_paired_device_refuses_plain_control(paired: Controller, request_: Request) -> None:
    stranger = paired.bench.link("stranger")
    assert_nack(paired.bench.request(stranger, request_), ErrorCode.AUTH_REQUIRED)
    assert paired.bench.firmware.state.owner is None and paired.bench.firmware.state.auth_required == 1


@pytest.mark.parametrize("highest", [1, 2])
def test_an_older_hello_learns_the_device_needs_version_3(paired: Controller, highest: int) -> None:
    answer = paired.bench.request(paired.bench.link(), Hello(1, highest, OWNER))
    assert_nack(answer, ErrorCode.UNSUPPORTED_VERSION, 3)


@pytest.mark.parametrize("request_", [GetInfo(InfoField.SERIAL), GetStatus()], ids=lambda r: type(r).__name__)
def test_read_only_requests_stay_open(paired: Controller, request_: Request) -> None:
    assert isinstance(paired.bench.request(paired.bench.link("stranger"), request_), Ack)


def test_an_authenticated_hello_negotiates_version_3_and_takes_ownership(owner: Controller) -> None:
    assert owner.bench.firmware.state.owner == OWNER
    assert isinstance(owner.request(Start(1)), Ack)
    assert owner.bench.firmware.state.running and owner.bench.firmware.state.intensity == 1


def test_hello_result_reports_version_3(paired: Controller) -> None:
    assert HelloResult.from_bytes(paired.hello().data).version == 3


def test_a_forged_tag_is_refused(owner: Controller) -> None:
    forger = Controller(owner.bench, owner.link, OWNER, bytes(32), session=False)
    assert_nack(forger.request(Start(5), counter=1000), ErrorCode.AUTH_FAILED, AuthFailure.BAD_TAG)
    assert not owner.bench.firmware.state.running and owner.bench.firmware.state.auth_failed == 1


def test_an_unknown_controller_gets_no_connection_keys(paired: Controller) -> None:
    answer = paired.bench.request(paired.bench.link("stranger"), SessionBegin(99, bytes(8)))
    assert_nack(answer, ErrorCode.AUTH_FAILED, AuthFailure.UNKNOWN_CONTROLLER)


def test_a_hello_must_name_the_controller_of_the_connection_keys(owner: Controller) -> None:
    assert_nack(owner.request(Hello(3, 3, 99)), ErrorCode.AUTH_FAILED, AuthFailure.UNKNOWN_CONTROLLER)


def test_a_signed_frame_without_connection_keys_is_refused(paired: Controller) -> None:
    elsewhere = Controller(paired.bench, paired.bench.link("elsewhere"), OWNER, paired.pairing_key, session=False)
    assert_nack(elsewhere.request(Hello(3, 3, OWNER)), ErrorCode.AUTH_FAILED, AuthFailure.NO_SESSION)


def test_a_signed_request_before_hello_needs_hello_with_detail_0(paired: Controller) -> None:
    elsewhere = Controller(paired.bench, paired.bench.link("elsewhere"), OWNER, paired.pairing_key)
    assert_nack(elsewhere.request(Start(1)), ErrorCode.HELLO_REQUIRED, 0)


def test_an_unpaired_device_refuses_signed_frames_it_cannot_check(bench: Bench) -> None:
    stranger = Controller(bench, bench.link(), 5, bytes(32), session=False)
    assert_nack(stranger.request(Hello(3, 3, 5)), ErrorCode.AUTH_FAILED, AuthFailure.NO_SESSION)


def test_frames_recorded_on_one_connection_are_refused_on_another(owner: Controller) -> None:
    recorded = [
        owner.bench.send(owner.link, m, key=owner.key, counter=c) for c, m in ((100, Start(3)), (101, SetHeat(2)))
    ]
    hello = owner.bench.send(owner.link, Hello(3, 3, OWNER), key=owner.key, counter=102)
    owner.request(Stop(), counter=103)
    owner.bench.firmware.detach(owner.link)  # the owner's connection ends
    attacker = owner.bench.link("attacker")
    attacker_keys = Controller(owner.bench, attacker, OWNER, bytes(32), session=False)
    attacker_keys.bench.request(attacker, SessionBegin(OWNER, bytes(8)))  # fresh keys the attacker cannot know
    attacker.take()
    for frame in (hello, *recorded):
        owner.bench.firmware.receive(attacker, frame)
    answers = [m for _, m in attacker.take() if isinstance(m, Ack | Nack)]
    assert [(a.code, a.detail) for a in answers if isinstance(a, Nack)] == [
        (ErrorCode.AUTH_FAILED, AuthFailure.BAD_TAG),
        (ErrorCode.HELLO_REQUIRED, 0),
        (ErrorCode.HELLO_REQUIRED, 0),
    ]
    state = owner.bench.firmware.state
    assert not state.running and state.heat == 0


# --- counters, replays, retries ------------------------------------------------------------------


def test_an_older_frame_replayed_is_refused(owner: Controller) -> None:
    start = owner.bench.send(owner.link, Start(3), key=owner.key, counter=10)
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
    hello = owner.bench.send(owner.link, Hello(3, 3, OWNER), key=owner.key, counter=50)
    attacker = owner.bench.link("attacker")
    owner.bench.firmware.receive(attacker, hello)
    [(_, answer)] = attacker.take()
    assert answer == Nack(Hello.TYPE, ErrorCode.AUTH_FAILED, AuthFailure.NO_SESSION)
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


def test_every_connection_counts_from_1(owner: Controller) -> None:
    owner.request(Start(1), counter=60)
    owner.bench.firmware.detach(owner.link)
    again = Controller(owner.bench, owner.bench.link("again"), OWNER, owner.pairing_key)
    assert isinstance(again.request(Hello(3, 3, OWNER), counter=1), Ack)


def test_keys_survive_a_restart_and_connection_keys_do_not(owner: Controller) -> None:
    owner.request(Start(1), counter=70)
    clock = FakeTime()
    restarted = Firmware(owner.bench.firmware.config, clock, clock, auth=owner.bench.firmware.auth)
    link = RecordingLink()
    restarted.attach(link)
    restarted.receive(link, seal(Hello(3, 3, OWNER), 1, owner.key, 71))
    assert link.take()[0][1] == Nack(Hello.TYPE, ErrorCode.AUTH_FAILED, AuthFailure.NO_SESSION)
    restarted.receive(link, encode_message(SessionBegin(OWNER, bytes(8)), 2))
    result = SessionBeginResult.from_bytes(link.take()[0][1].data)  # type: ignore[union-attr]
    key = session_key(owner.pairing_key, OWNER, bytes(8), result.nonce)
    restarted.receive(link, seal(Hello(3, 3, OWNER), 3, key, 1))
    assert isinstance(link.take()[0][1], Ack) and restarted.state.owner == OWNER


# --- STOP and the watchdog -----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["plain", "forged", "replayed", "no_session", "pairing_key"])
def test_stop_is_never_refused(owner: Controller, how: str) -> None:
    owner.request(Start(3), counter=80)
    old_stop = owner.bench.send(owner.link, Stop(), key=owner.key, counter=81)
    owner.request(Start(3), counter=82)
    stranger = owner.bench.link("stranger")
    frames = {
        "plain": owner.bench.send(stranger, Stop()),
        "forged": seal(Stop(), 7, bytes(32), 1000),
        "replayed": old_stop,
        "no_session": seal(Stop(), 8, owner.key, 1001),
        "pairing_key": seal(Stop(), 9, owner.pairing_key, 1002),
    }
    stranger.take()
    owner.bench.firmware.receive(stranger, frames[how])
    assert isinstance(stranger.take()[0][1], Ack)
    assert owner.bench.firmware.state.state is MotorState.IDLE


def test_forged_frames_on_the_owners_link_do_not_feed_the_watchdog(owner: Controller) -> None:
    owner.request(Start(2))
    forger = Controller(owner.bench, owner.link, OWNER, bytes(32), session=False)
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


def test_a_hello_refused_not_owner_does_not_feed_the_watchdog(owner: Controller) -> None:
    bench = owner.bench
    other = bench.pair(bench.link("other"), 0x55)
    owner.request(Start(2))
    intruder = Controller(bench, owner.link, 0x55, other)  # its SESSION_BEGIN on the owner's shared line
    for _ in range(5):
        bench.advance(0.5)
        assert_nack(intruder.request(Hello(3, 3, 0x55)), ErrorCode.NOT_OWNER)
    bench.advance(0.6)  # 3.1 s after the owner's last frame
    state = bench.firmware.state
    assert not state.running and state.faults & Fault.LINK_LOST and state.owner is None


def test_a_plain_hello_refused_not_owner_does_not_feed_an_unpaired_watchdog(bench: Bench) -> None:
    link = bench.link()
    bench.hello(link, 1)
    bench.request(link, Start(1))
    for _ in range(5):
        bench.advance(0.5)
        assert_nack(bench.request(link, Hello(1, 3, 2)), ErrorCode.NOT_OWNER)
    bench.advance(0.6)  # 3.1 s after the owner's last frame
    assert not bench.firmware.state.running and bench.firmware.state.owner is None


def test_pairing_releases_an_owner_without_authentication(bench: Bench) -> None:
    plain = bench.link("plain owner")
    bench.hello(plain, 1)
    bench.request(plain, Start(2))
    bench.pair(bench.link("pairing"), 7)
    state = bench.firmware.state
    assert not state.running and state.owner is None
    assert any(isinstance(m, Status) and not m.flags & StatusFlag.OWNED for m in plain.events())  # it is told at once
    assert_nack(bench.request(plain, Heartbeat()), ErrorCode.AUTH_REQUIRED)


def test_authenticated_heartbeats_feed_the_watchdog(owner: Controller) -> None:
    owner.request(Start(1))
    for _ in range(20):
        owner.bench.advance(0.5)
        owner.request(Heartbeat())
    assert owner.bench.firmware.state.running and owner.bench.firmware.state.owner == OWNER


# --- no input makes the paired firmware raise -------------------------------------------------------

#: One real pairing, reused by the property tests.
PAIRED = Controller(*(lambda b: (b, b.link(), OWNER, b.pair(b.link(), OWNER)))(Bench(DeviceConfig(pairing_code=CODE))))

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
    key = PAIRED.pairing_key
    bench.firmware.auth._store(OWNER, key)  # pairing once per example would cost two SPAKE2 runs each
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
    bench.firmware.auth._store(OWNER, PAIRED.pairing_key)
    for chunk in chunks:
        body = chunk[:-2]
        bench.firmware.receive(link, chunk)
        bench.firmware.receive(link, body + crc16(body).to_bytes(2, "big"))  # the same with a valid CRC
    assert not bench.firmware.state.running
