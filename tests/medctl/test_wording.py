"""One wording per event, in plain words, on the CLI and the TUI (medctl.formatting)."""

from __future__ import annotations

import re

import pytest

from medctl.cli import build_parser
from medctl.formatting import ENDED, ENDED_SHORT, ended_short, ended_text, not_now
from medctl.session import EndReason, RuleViolation


@pytest.mark.parametrize("reason", list(EndReason))
def test_every_end_reason_has_words(reason: EndReason) -> None:
    assert reason.value in ENDED and reason.value in ENDED_SHORT
    sentence = ended_text(reason.value, 115.2)
    assert "1:56 of massage." in sentence and "_" not in sentence and "_" not in ended_short(reason.value)


def test_too_much_reads_as_a_sentence() -> None:
    assert ended_text("too_much", 115) == "You said it was too much — the session ended after 1:55 of massage."
    assert ended_text("completed") == "Session complete — well done."
    assert ended_short("too_much") == "too much" and ended_short("running") == "not finished"


def test_a_refusal_has_no_rule_id() -> None:
    text = not_now(RuleViolation("R3", "warm-up: 42 s left before you can increase intensity"))
    assert text == "Not now: warm-up: 42 s left before you can increase intensity"
    assert not re.search(r"\bR\d+\b", text)


@pytest.mark.parametrize(
    ("argv", "named"), [([], False), (["--device", "sim://"], True), (["-d", "sim://?speed=60"], True)]
)
def test_the_parser_knows_whether_a_device_was_named(argv: list[str], named: bool) -> None:
    args = build_parser().parse_args(["session", *argv])
    assert args.device_named is named and args.device.startswith("sim://")


def test_the_cli_default_device_is_the_library_s() -> None:
    from medctl.cli.common import DEFAULT_DEVICE
    from medctl.connection import DEFAULT_DEVICE as LIBRARY_DEFAULT

    assert DEFAULT_DEVICE == LIBRARY_DEFAULT
