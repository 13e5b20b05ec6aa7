"""``medctl status``: identity, capabilities and live status of a massager."""

from __future__ import annotations

import argparse
import json
from typing import Any

from medctl.cli.common import EXIT_OK, add_device_option
from medctl.connection import connect
from medctl.models import DeviceIdentity, DeviceStatus, fault_names


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", help="show a massager's identity, capabilities and live status")
    add_device_option(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    async with connect(args.device) as massager:
        identity, status = massager.identity, massager.status
        assert identity is not None and status is not None
        if args.json:
            print(json.dumps(status_document(identity, status), indent=2))
        else:
            print(format_status(identity, status))
    return EXIT_OK


def status_document(identity: DeviceIdentity, status: DeviceStatus) -> dict[str, Any]:
    caps = identity.capabilities
    return {
        "device": identity.address,
        "model": identity.model,
        "firmware": identity.firmware,
        "serial_number": identity.serial_number,
        "protocol_version": identity.protocol_version,
        "capabilities": {
            "intensity_levels": caps.intensity_levels,
            "heat_levels": caps.heat_levels,
            "battery": caps.battery,
            "watchdog_s": caps.watchdog_s,
            "modes": list(caps.modes),
        },
        "status": status.as_dict(),
    }


def format_status(identity: DeviceIdentity, status: DeviceStatus) -> str:
    caps = identity.capabilities
    faults = ", ".join(fault_names(status.faults)) or "none"
    battery = "none (mains powered)" if status.battery_percent is None else f"{status.battery_percent} %"
    if status.charging:
        battery += ", charging"
    motor = f"running at intensity {status.intensity} for {status.run_seconds} s" if status.running else "stopped"
    watchdog = "none (keeps running if the link is lost)" if caps.watchdog_s is None else f"{caps.watchdog_s:g} s"
    pad = f"pad {status.pad_temp_c:.1f} °C" if caps.reports_pad_temp else "pad temperature not reported"
    heat = "off" if status.heat == 0 else f"level {status.heat}"
    if caps.modes:
        modes = ", ".join(f"{name} (now)" if name == status.mode else name for name in caps.modes)
    else:
        modes = "none (one way of massaging)"
    return "\n".join(
        [
            f"device      {identity.address}",
            f"model       {identity.model}  (firmware {identity.firmware}, serial {identity.serial_number})",
            f"protocol    version {identity.protocol_version}",
            f"levels      intensity 1..{caps.intensity_levels}, heat 0..{caps.heat_levels}, "
            f"watchdog {watchdog}",
            f"motor       {motor}",
            f"heat        {heat}, {pad}",
            f"modes       {modes}",
            f"faults      {faults}",
            f"battery     {battery}",
        ]
    )
