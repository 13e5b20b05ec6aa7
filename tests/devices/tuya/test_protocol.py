"""Byte cases for the Tuya BLE driver, in the style of Buttplug's protocol tests: commands in →
exact writes out; notifications in → events. The device side is the simulator's own codec
(simulator/tuya/wire.py), written apart from the driver's, so each checks the other."""

from __future__ import annotations

import itertools

import pytest

from medctl.devices.tuya.link import Answer, Credentials, InfoReceived, Reply, Reported, TuyaLink
from medctl.devices.tuya.product import load_product
from medctl.devices.tuya.protocol import (
    Code,
    DataPoint,
    DpType,
    Packet,
    Reassembler,
    SecurityFlag,
    TuyaProtocolError,
    crc16,
    decode_advertisement,
    decode_datapoints,
    decrypt_packet,
    encrypt_packet,
    fragment,
    login_key,
    pack_varint,
    pairing_request,
    session_key,
    unpack_varint,
)
from simulator.tuya import wire

CREDS = Credentials("tuya290051fdb1de", "Xy7#pQ2!aB9$kL4m", "bf0123456789abcdefghij")
SRAND = bytes.fromhex("a1a2a3a4a5a6")
SESSION = session_key(CREDS.local_key, SRAND)
PRODUCT = load_product()


def fixed_ivs() -> TuyaLink:
    """A link whose n-th packet is encrypted under the IV of 16 bytes n."""
    counter = itertools.count(1)
    return TuyaLink(CREDS, iv=lambda: bytes([next(counter)]) * 16)


def device_says(link: TuyaLink, seq: int, ack: int, code: int, data: bytes, key: bytes = SESSION, flag: int = 5):
    received = None
    for piece in wire.seal(key, flag, bytes(16), seq, ack, code, data):
        received = link.receive(piece)
    assert received is not None
    return received


def paired_link() -> TuyaLink:
    link = fixed_ivs()
    link.device_info()
    info = bytes([1, 0, 3, 0, 0, 1]) + SRAND + bytes([1, 0]) + bytes(32)
    device_says(link, 1, 1, Code.DEVICE_INFO, info, login_key(CREDS.local_key), 4)
    link.pair()
    device_says(link, 2, 2, Code.PAIR, b"\x02")
    return link


def device_reads(pieces: list[bytes], key: bytes = SESSION) -> tuple[int, int, int, bytes]:
    unpacker = wire.Unpacker()
    blob = None
    for piece in pieces:
        blob = unpacker.push(piece)
    assert blob is not None
    return wire.open_packet(blob, {4: login_key(CREDS.local_key), 5: key})


# --- primitives, against published check values ------------------------------------------------


def test_crc16_modbus_check_value() -> None:
    assert crc16(b"123456789") == 0x4B37  # the catalogued check value of CRC-16/MODBUS
    assert crc16(b"123456789") == wire.crc16_modbus(b"123456789")


def test_login_key_is_md5_of_the_first_six_characters() -> None:
    assert login_key("abcdefXXXXXXXXXX").hex() == "e80b5017098950fc58aad83c8c14978e"  # MD5("abcdef")
    with pytest.raises(TuyaProtocolError, match="at least 6"):
        login_key("abc")


@pytest.mark.parametrize(("value", "encoded"), [(0, "00"), (127, "7f"), (128, "8001"), (300, "ac02")])
def test_varints(value: int, encoded: str) -> None:
    assert pack_varint(value).hex() == encoded
    assert unpack_varint(bytes.fromhex(encoded)) == (value, len(encoded) // 2)


def test_a_varint_longer_than_five_bytes_or_cut_short_is_refused() -> None:
    with pytest.raises(TuyaProtocolError, match="longer than 5"):
        unpack_varint(b"\xff" * 6)
    with pytest.raises(TuyaProtocolError, match="past the end"):
        unpack_varint(b"\x80")


def test_fragments_fit_twenty_bytes_and_the_first_carries_length_and_version() -> None:
    pieces = fragment(bytes(range(49)))
    assert [len(p) for p in pieces] == [20, 20, 14]
    assert pieces[0][:3] == bytes([0x00, 49, 0x30]) and pieces[1][0] == 1 and pieces[2][0] == 2
    reassembler = Reassembler()
    assert [reassembler.feed(p) for p in pieces] == [None, None, bytes(range(49))]


def test_a_fragment_out_of_order_drops_the_partial_packet_and_a_new_first_one_starts_over() -> None:
    pieces = fragment(bytes(range(49)))
    reassembler = Reassembler()
    reassembler.feed(pieces[0])
    with pytest.raises(TuyaProtocolError, match="fragment 2 arrived where 1 was due"):
        reassembler.feed(pieces[2])
    assert not reassembler.pending
    with pytest.raises(TuyaProtocolError, match="fragment 1 arrived where 0 was due"):
        reassembler.feed(pieces[1])
    assert [reassembler.feed(p) for p in pieces] == [None, None, bytes(range(49))]


def test_an_announced_length_too_long_or_exceeded_is_refused() -> None:
    with pytest.raises(TuyaProtocolError, match="announced"):
        Reassembler().feed(b"\x00" + pack_varint(100_000) + b"\x30")
    with pytest.raises(TuyaProtocolError, match="carry 5 bytes, 3 were announced"):
        Reassembler().feed(b"\x00\x03\x30" + bytes(5))


# --- commands in → exact bytes out ------------------------------------------------------------


def test_the_first_write_is_device_info_under_the_login_key() -> None:
    seq, pieces = fixed_ivs().device_info()
    assert seq == 1
    assert [p.hex() for p in pieces] == [
        "0021300401010101010101010101010101010101",
        "01fc6c14d68714cbf16e8ae19165d4018c",
    ]
    assert device_reads(pieces) == (4, 1, Code.DEVICE_INFO, b"")


def test_pairing_sends_uuid_key_prefix_and_device_id_under_the_session_key() -> None:
    link = fixed_ivs()
    link.device_info()
    device_says(
        link, 1, 1, Code.DEVICE_INFO, bytes([1, 0, 3, 0, 0, 1]) + SRAND + bytes(34), login_key(CREDS.local_key), 4
    )
    seq, pieces = link.pair()
    assert seq == 2 and len(pieces) == 5
    assert pieces[0].hex() == "0051300502020202020202020202020202020202"
    assert device_reads(pieces) == (5, 2, Code.PAIR, b"tuya290051fdb1deXy7#pQbf0123456789abcdefghij")


@pytest.mark.parametrize(
    ("command", "record", "writes"),
    [
        (
            PRODUCT.power(True),
            "69010101",
            [
                "0031300503030303030303030303030303030303",
                "015b36d8b33e8f4737bbc71ffe903553efeccf6b",
                "0233978cfe24701a6123caf1dd37",
            ],
        ),
        (
            PRODUCT.intensity(2),
            "67040103",
            [
                "0031300503030303030303030303030303030303",
                "0165193c54c6848306c8adb8129c0224feac2387",
                "0252d29f61193951f41007283cd5",
            ],
        ),
        (PRODUCT.heat(1), "66040100", None),
        (PRODUCT.heat(0), "66040101", None),
        (PRODUCT.power(False), "69010100", None),
        (PRODUCT.mode("hammering"), "68040102", None),
    ],
)
def test_each_command_is_one_data_point_record_in_one_packet(
    command: DataPoint, record: str, writes: list[str] | None
) -> None:
    seq, pieces = paired_link().write(command)
    assert seq == 3
    assert device_reads(pieces) == (5, 3, Code.DATA_POINTS, bytes.fromhex(record))
    if writes is not None:
        assert [p.hex() for p in pieces] == writes


def test_gears_for_levels_one_to_five_and_nothing_beyond() -> None:
    assert [PRODUCT.intensity(level).value for level in range(1, 6)] == [0, 3, 6, 9, 12]
    with pytest.raises(ValueError, match="outside 1..5"):
        PRODUCT.intensity(6)
    with pytest.raises(ValueError, match="outside 1..5"):
        PRODUCT.intensity(0)


# --- notifications in → events ---------------------------------------------------------------


def test_device_info_gives_the_session_key_and_versions() -> None:
    link = fixed_ivs()
    link.device_info()
    info = bytes([1, 2, 3, 1, 0, 1]) + SRAND + bytes([4, 5]) + bytes(32)
    received = device_says(link, 1, 1, Code.DEVICE_INFO, info, login_key(CREDS.local_key), 4)
    (event,) = received.events
    assert isinstance(event, InfoReceived) and event.response_to == 1
    assert (event.info.firmware, event.info.protocol, event.info.hardware, event.info.bound) == (
        "1.2",
        "3.1",
        "4.5",
        True,
    )
    assert link.has_session


def test_a_report_becomes_data_points_and_is_acknowledged() -> None:
    link = paired_link()
    received = device_says(link, 3, 0, Code.REPORT_DATA_POINTS, bytes.fromhex("69010101670401036604010068040102"))
    (event,) = received.events
    assert isinstance(event, Reported)
    assert {p.id: p.value for p in event.points} == {0x69: True, 0x67: 3, 0x66: 0, 0x68: 2}
    assert received.replies == [Reply(Code.REPORT_DATA_POINTS, b"\x00", 3)]
    assert device_reads(link.reply(received.replies[0])) == (5, 3, Code.REPORT_DATA_POINTS, b"\x00")


def test_answers_match_their_request_by_sequence_number() -> None:
    link = paired_link()
    received = device_says(link, 3, 7, Code.DATA_POINTS, b"\x01")
    assert received.events == [Answer(7, Code.DATA_POINTS, 1)]


def test_the_time_request_is_answered_with_unknown_time() -> None:
    link = paired_link()
    received = device_says(link, 3, 0, Code.TIME_REQUEST, b"")
    assert received.events == [] and received.replies == [Reply(Code.TIME_REQUEST, bytes(15), 3)]


# --- bad input changes nothing ---------------------------------------------------------------


def test_a_packet_under_another_key_is_refused() -> None:
    link = paired_link()
    with pytest.raises(TuyaProtocolError, match="CRC mismatch|data bytes"):
        device_says(link, 3, 0, Code.REPORT_DATA_POINTS, b"\x69\x01\x01\x01", key=bytes(16))


def test_login_key_packets_are_refused_once_the_session_key_is_known() -> None:
    link = paired_link()
    with pytest.raises(TuyaProtocolError, match="no key for security flag 4"):
        device_says(link, 3, 0, Code.REPORT_DATA_POINTS, b"", login_key(CREDS.local_key), 4)


def test_session_packets_before_device_info_are_refused() -> None:
    with pytest.raises(TuyaProtocolError, match="no key for security flag 5"):
        device_says(fixed_ivs(), 1, 0, Code.REPORT_DATA_POINTS, b"")
    with pytest.raises(TuyaProtocolError, match="no session key yet"):
        fixed_ivs().pair()


def test_a_replayed_notification_is_refused() -> None:
    link = paired_link()
    pieces = wire.seal(SESSION, 5, bytes(16), 3, 0, Code.REPORT_DATA_POINTS, b"\x69\x01\x01\x01")
    for piece in pieces:
        link.receive(piece)
    with pytest.raises(TuyaProtocolError, match="repeats or goes back"):
        for piece in pieces:
            link.receive(piece)


def test_an_unknown_security_flag_and_a_torn_blob_are_refused() -> None:
    with pytest.raises(TuyaProtocolError, match="unknown security flag 9"):
        decrypt_packet(b"\x09" + bytes(32), {})
    with pytest.raises(TuyaProtocolError, match="whole AES blocks"):
        decrypt_packet(b"\x05" + bytes(20), {5: SESSION})


def test_a_length_that_does_not_fit_is_refused() -> None:
    blob = encrypt_packet(Packet(1, 0, 2, b"abc"), SESSION, SecurityFlag.SESSION_KEY, bytes(16))
    # re-encrypt a plaintext whose length field claims more than is there
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    plain = bytes.fromhex("00000001000000000002ffff") + bytes(4)
    enc = Cipher(algorithms.AES(SESSION), modes.CBC(bytes(16))).encryptor()
    forged = b"\x05" + bytes(16) + enc.update(plain) + enc.finalize()
    assert decrypt_packet(blob, {5: SESSION})[1].data == b"abc"
    with pytest.raises(TuyaProtocolError, match="65535 data bytes"):
        decrypt_packet(forged, {5: SESSION})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x69\x01", "cut short"),
        (b"\x69\x09\x01\x00", "unknown type 9"),
        (b"\x69\x01\x05\x01", "says 5 bytes, 1 follow"),
        (b"\x69\x01\x02\x01\x01", "bool data point 105 has 2 bytes"),
        (b"\x67\x04\x05\x00\x00\x00\x00\x00", "integer data point 103 has 5 bytes"),
        (b"\x70\x03\x01\xff", "not UTF-8"),
    ],
)
def test_malformed_data_points_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(TuyaProtocolError, match=message):
        decode_datapoints(data)


def test_data_point_values_are_checked_against_their_type() -> None:
    assert DataPoint(2, DpType.VALUE, -2).encode() == bytes.fromhex("020204fffffffe")
    assert decode_datapoints(bytes.fromhex("020204fffffffe")) == [DataPoint(2, DpType.VALUE, -2)]
    for bad in (DataPoint(1, DpType.BOOL, 1), DataPoint(1, DpType.ENUM, 256), DataPoint(1, DpType.STRING, b"x")):
        with pytest.raises(TuyaProtocolError):
            bad.encode()


def test_pairing_inputs_are_checked() -> None:
    with pytest.raises(TuyaProtocolError, match="uuid has 16 characters"):
        pairing_request("short", "Xy7#pQ2!aB9$kL4m", "bf01")
    with pytest.raises(TuyaProtocolError, match="device id has 1..22"):
        pairing_request("tuya290051fdb1de", "Xy7#pQ2!aB9$kL4m", "x" * 23)
    with pytest.raises(TuyaProtocolError, match="at least 6"):
        Credentials("tuya290051fdb1de", "abc", "bf01")


def test_the_advertisement_gives_product_id_and_uuid() -> None:
    service, manufacturer = wire.advertisement_fields("nkmsg001", "tuya290051fdb1de", True)
    advert = decode_advertisement(service, manufacturer)
    assert (advert.product_id, advert.uuid, advert.bound, advert.protocol_version) == (
        "nkmsg001",
        "tuya290051fdb1de",
        True,
        3,
    )
    with pytest.raises(TuyaProtocolError, match="product id"):
        decode_advertisement(b"\x01abc", manufacturer)
    with pytest.raises(TuyaProtocolError, match="encrypted uuid"):
        decode_advertisement(service, manufacturer[:10])
