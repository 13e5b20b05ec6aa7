"""``medctl scan``: massagers in Bluetooth LE range (any driver's) and serial ports.

Each Bluetooth line names the driver that recognised the massager and ends with the URL to
pass to ``--device``. A Bluetooth problem (most often: no
adapter) is one warning line on stderr; the serial ports are still listed and the exit code
stays 0, since finding nothing is an answer too.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from medctl.cli.common import EXIT_OK, positive_float
from medctl.errors import TransportError
from medctl.text import printable

if TYPE_CHECKING:
    from medctl.transport.serial import SerialPortInfo


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("scan", help="list Bluetooth LE massagers in range and serial ports")
    parser.add_argument(
        "--timeout", type=positive_float, default=5.0, metavar="S", help="listen S seconds (default %(default)g)"
    )
    parser.add_argument(
        "--hci", metavar="TRANSPORT", help="scan through a bumble HCI transport (e.g. the simulator's virtual link)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    problems: list[str] = []
    try:
        massagers = await _scan_ble(args.timeout, args.hci)
    except TransportError as exc:
        massagers = []
        problems.append(str(exc))
        print(f"medctl: warning: {exc}", file=sys.stderr)
    from medctl.transport.serial import serial_ports

    ports = serial_ports()
    if args.json:
        print(json.dumps({"bluetooth": massagers, "serial": [_port_entry(p) for p in ports], "problems": problems}))
    else:
        print(_table(massagers, ports, scanned=not problems, timeout=args.timeout))
    return EXIT_OK


async def _scan_ble(timeout: float, hci: str | None) -> list[dict[str, Any]]:
    from medctl.devices.discovery import scan_ble

    found = await scan_ble(timeout, hci)
    return [{"name": f.name, "address": f.address, "rssi": f.rssi, "driver": f.driver, "url": f.url} for f in found]


def _port_entry(port: SerialPortInfo) -> dict[str, str]:
    return {"port": port.device, "description": port.description, "url": f"serial://{port.device}"}


def _table(massagers: list[dict[str, Any]], ports: list[SerialPortInfo], *, scanned: bool, timeout: float) -> str:
    lines = [f"Bluetooth LE massagers ({timeout:g} s scan):"]
    if not scanned:
        lines.append("  not scanned (see the warning above)")
    # anyone in radio range chooses the advertised name: never let it drive the terminal
    for m in massagers:
        name, driver = printable(m["name"] or "?"), m.get("driver", "?")
        lines.append(f"  {name:<12} {m['address']:<19} {m['rssi']:>4} dBm  {driver:<8} {m['url']}")
    if scanned and not massagers:
        lines.append("  none in range")
    lines.append("Serial ports:")
    lines += [f"  {p.device:<20} {p.description:<24} serial://{p.device}" for p in ports]
    if not ports:
        lines.append("  none")
    return "\n".join(lines)
