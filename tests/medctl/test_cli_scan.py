"""``medctl scan``'s arguments and output, and the command list staying in sync with the parser."""

from __future__ import annotations

import argparse

from medctl.cli import COMMANDS, build_parser, with_default_command
from medctl.cli.scan import _table
from medctl.transport.serial import SerialPortInfo


def test_every_registered_command_is_a_known_command() -> None:
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == set(COMMANDS)


def test_scan_is_a_command_not_a_session() -> None:
    assert with_default_command(["scan", "--json"]) == ["scan", "--json"]
    args = build_parser().parse_args(["scan", "--hci", "tcp-client:127.0.0.1:9000", "--timeout", "2"])
    assert args.hci == "tcp-client:127.0.0.1:9000" and args.timeout == 2.0 and not args.json


def test_the_table_ends_every_line_with_the_url_to_use() -> None:
    massagers = [{"name": "NeckEase", "address": "F0:0D:C0:FF:EE:01", "rssi": -50, "url": "ble://F0:0D:C0:FF:EE:01"}]
    text = _table(massagers, [SerialPortInfo("/dev/ttyUSB0", "CP2102")], scanned=True, timeout=5)
    assert "NeckEase" in text and text.splitlines()[1].endswith("ble://F0:0D:C0:FF:EE:01")
    assert text.splitlines()[-1].endswith("serial:///dev/ttyUSB0")
    assert "not scanned" in _table([], [], scanned=False, timeout=5)
