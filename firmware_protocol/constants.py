"""Numbers and identifiers fixed by the protocol (SPEC.md §2, §9).

Everything a firmware author must match byte for byte lives here, so the
codec, the simulator and the controller cannot drift apart.
"""

from __future__ import annotations

from typing import Final

#: The highest protocol version this package speaks (SPEC.md §6.7, §11, §12).
PROTOCOL_VERSION: Final = 3
#: Versions this implementation can negotiate in HELLO.
SUPPORTED_VERSIONS: Final = range(1, 4)
#: The first version whose authenticated frames are bound to one connection (SPEC.md §12).
SESSION_PROTOCOL_VERSION: Final = 3

#: The frame's version byte names its layout (SPEC.md §11.2): a plain frame, as in version 1 ...
PLAIN_FRAME_VERSION: Final = 1
#: ... or an authenticated request, whose payload ends in a counter and a tag.
AUTH_FRAME_VERSION: Final = 2
#: Version bytes a receiver of this package accepts (SPEC.md §4.2 step 4).
FRAME_VERSIONS: Final = frozenset({PLAIN_FRAME_VERSION, AUTH_FRAME_VERSION})

#: A whole frame must fit one default BLE ATT payload (MTU 23 - 3 bytes of ATT header).
MAX_FRAME_LEN: Final = 20
HEADER_LEN: Final = 4
CRC_LEN: Final = 2
MAX_PAYLOAD_LEN: Final = MAX_FRAME_LEN - HEADER_LEN - CRC_LEN  # 14
MIN_FRAME_LEN: Final = HEADER_LEN + CRC_LEN

#: COBS adds at most one byte per 254 and the stream adds the 0x00 delimiter.
MAX_STREAM_FRAME_LEN: Final = MAX_FRAME_LEN + 2
#: COBS bytes of one packet before its delimiter (SPEC.md §9.1): a 22nd byte without a 0x00 is oversize.
MAX_STREAM_PACKET_LEN: Final = MAX_STREAM_FRAME_LEN - 1
STREAM_DELIMITER: Final = b"\x00"

#: Largest string field in an INFO answer (payload minus request type and field id).
MAX_INFO_LEN: Final = MAX_PAYLOAD_LEN - 2

#: The authenticated trailer (SPEC.md §11.2): a u32 counter and a truncated HMAC-SHA256 tag.
COUNTER_LEN: Final = 4
TAG_LEN: Final = 4
TRAILER_LEN: Final = COUNTER_LEN + TAG_LEN
#: The longest message payload an authenticated frame can carry (HELLO's 6 bytes).
MAX_AUTH_PAYLOAD_LEN: Final = MAX_PAYLOAD_LEN - TRAILER_LEN
#: Counters run 1..MAX_COUNTER; 0 is never accepted.
MAX_COUNTER: Final = 0xFFFF_FFFF

#: Controller timing the device expects (SPEC.md §7).
DEFAULT_WATCHDOG_S: Final = 3.0
#: Controllers send something at least this often; a third of the watchdog leaves two misses.
HEARTBEAT_INTERVAL_S: Final = 1.0
#: The device's unsolicited STATUS period while a controller is attached.
STATUS_INTERVAL_S: Final = 1.0
#: Default serial speed; ignored by pseudo-terminals and USB CDC devices.
DEFAULT_BAUD: Final = 115200

#: Sentinel for "no battery" in STATUS.
NO_BATTERY: Final = 0xFF

#: BLE GATT mapping (SPEC.md §9). Custom 128-bit UUIDs.
SERVICE_UUID: Final = "6d656463-746c-4e00-8000-000000000001"
COMMAND_CHAR_UUID: Final = "6d656463-746c-4e00-8000-000000000002"
STATUS_CHAR_UUID: Final = "6d656463-746c-4e00-8000-000000000003"
