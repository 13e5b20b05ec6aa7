"""Check a protocol implementation against the byte-exact test vectors (SPEC.md §10).

python examples/check_vectors.py

The vectors ship inside the ``firmware_protocol`` package, so firmware written in any language
can be checked against the same files: export them, or port this loop. Here the reference codec
is the implementation under test; put your own ``decode`` in its place.
"""

from __future__ import annotations

from firmware_protocol import Frame, FrameError, MessageError, decode_message
from firmware_protocol.vectors import load_frame_vectors


def main() -> int:
    """Decode every frame vector; return how many disagree with the expected message or error."""
    failures = 0
    vectors = load_frame_vectors()
    for vector in vectors:
        try:
            got = decode_message(Frame.loads(vector.data))
        except (FrameError, MessageError) as error:
            outcome = error.name  # the error id the vectors use, e.g. "bad_length"
            ok = outcome == vector.error
        else:
            outcome = repr(got)
            ok = vector.error is None and got == vector.message
        if not ok:
            failures += 1
            print(f"FAIL {vector.name}: got {outcome}, expected {vector.error or vector.message!r}")
    print(f"{len(vectors) - failures} of {len(vectors)} frame vectors pass")
    return failures


if __name__ == "__main__":
    raise SystemExit(main())
