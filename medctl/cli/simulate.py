"""``medctl simulate``: the software massager on a pseudo-terminal, a TCP port and/or Bluetooth LE.

``--ble`` puts it on a virtual Bluetooth LE link that other processes join over TCP (bumble's
``tcp-client:HOST:PORT`` HCI transport), and prints the ``ble://`` address to use with it;
``--ble usb:0`` (any bumble HCI transport) puts it on a real controller instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import sys
from typing import TYPE_CHECKING, Final

from medctl.cli.common import EXIT_OK, UsageError, int_in, port_number, positive_float
from medctl.errors import MedctlError

if TYPE_CHECKING:
    from simulator import SimulatedDevice

#: ``--ble`` without a transport: the virtual link.
VIRTUAL: Final = "virtual"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("simulate", help="run the simulated massager on a pseudo-terminal, TCP and/or BLE")
    parser.add_argument("--serial", action="store_true", help="serve on a pseudo-terminal (the default)")
    parser.add_argument("--tcp", type=port_number, metavar="PORT", help="serve on a TCP port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="TCP address to listen on (default %(default)s)")
    parser.add_argument(
        "--ble",
        nargs="?",
        const=VIRTUAL,
        metavar="HCI",
        help="be a Bluetooth LE peripheral: on a virtual link other processes join over TCP (no HCI given), "
        "or on a bumble HCI transport such as usb:0",
    )
    parser.add_argument(
        "--ble-port",
        type=port_number,
        default=0,
        metavar="PORT",
        help="TCP port of the virtual link (default: a free one)",
    )
    parser.add_argument(
        "--control",
        type=int,
        metavar="PORT",
        help="open a control port on the loopback interface that triggers device faults for conformance runs "
        "(auto-off, heat-limit, over-temperature, stall, battery, busy; see SPEC.md Appendix A). Off by default",
    )
    parser.add_argument("--speed", type=positive_float, default=1.0, help="run the device clock X times faster")
    parser.add_argument("--intensity-levels", type=int_in(1, 255), default=5, metavar="N")
    parser.add_argument("--heat-levels", type=int_in(0, 255), default=2, metavar="M")
    parser.add_argument("--battery", action="store_true", help="simulate a cordless massager with a battery")
    parser.add_argument(
        "--deviate",
        action="append",
        default=[],
        metavar="NAME",
        help="break the protocol on purpose, to test a conformance checker (repeatable): "
        "crc_little_endian, no_dedup, slow_watchdog, clamp_out_of_range, start_above_lightest, ignore_ownership, "
        "no_periodic_status, wrong_error_code, replay_accepted",
    )
    parser.add_argument(
        "--pairing-window",
        action="store_true",
        help="press the pairing button at start: pairing is open for a minute (SIGUSR1 presses it again)",
    )
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    from simulator import DeviceConfig, ScaledClock, SimulatedDevice
    from simulator.deviations import Deviations

    try:
        config = DeviceConfig(
            deviations=Deviations.named(*args.deviate),
            intensity_levels=args.intensity_levels,
            heat_levels=args.heat_levels,
            battery=args.battery,
            serial=f"NE2-{secrets.randbelow(1_000_000):06d}",  # a new device each run, with its own pairing code
        )
    except ValueError as exc:  # the library's message names its fields; a person gets the sentence
        raise UsageError(f"no such simulated massager: {str(exc).removeprefix('DeviceConfig: ')}") from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with SimulatedDevice(config, clock=ScaledClock(args.speed)) as device, contextlib.AsyncExitStack() as stack:
        if args.serial or (args.tcp is None and args.ble is None):
            pty = await device.serve_pty()
            print(f"serial: {pty.path}", flush=True)
        if args.tcp is not None:
            await _serve_tcp(device, args.host, args.tcp)
        if args.ble is not None:
            await _serve_ble(device, stack, args.ble, args.host, args.ble_port)
        if args.control is not None:
            await _serve_control(device, args.control)
        print(f"pairing code: {device.firmware.pairing_code}", flush=True)
        if config.deviations.active:
            print(f"deviating from SPEC.md on purpose: {', '.join(config.deviations.active)}", file=sys.stderr)
        if args.pairing_window:
            device.firmware.open_pairing_window()
        if hasattr(signal, "SIGUSR1"):
            loop.add_signal_handler(signal.SIGUSR1, device.firmware.open_pairing_window)
        print(
            f"simulating {config.model}: intensity 1..{config.intensity_levels}, heat 0..{config.heat_levels}, "
            f"clock x{args.speed:g}. Ctrl-C to quit.",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    return EXIT_OK


async def _serve_tcp(device: SimulatedDevice, host: str, port: int) -> None:
    try:
        tcp = await device.serve_tcp(host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    print(f"tcp: {tcp.host}:{tcp.port}", flush=True)


async def _serve_control(device: SimulatedDevice, port: int) -> None:
    try:
        control = await device.serve_control("127.0.0.1", port)
    except (OSError, OverflowError) as exc:
        raise UsageError(f"cannot open the control port {port}: {getattr(exc, 'strerror', None) or exc}") from exc
    print(f"control: {control.host}:{control.port} (fault triggers, one command per line; try 'help')", flush=True)


async def _serve_ble(device: SimulatedDevice, stack: contextlib.AsyncExitStack, hci: str, host: str, port: int) -> None:
    try:
        from simulator.ble import RadioError, ble_peripheral
    except ImportError as exc:
        raise MedctlError(
            f"--ble needs bumble, which is not installed ({exc.name}): pip install 'medctl[ble-sim]'"
        ) from exc
    on_air = ble_peripheral(device, None if hci == VIRTUAL else hci, host=host, port=port)
    try:
        peripheral = await stack.enter_async_context(on_air)
    except RadioError as exc:
        raise MedctlError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    name, address = peripheral.endpoint.name, peripheral.address
    if not peripheral.join_with:
        print(f"ble: {name} at {address} on {hci}; any Bluetooth LE central can connect (ble://{address})", flush=True)
        return
    print(f"ble: {name} at {address} on a virtual link; join it with hci={peripheral.join_with}", flush=True)
    print(f'     medctl session --device "ble://{address}?hci={peripheral.join_with}"', flush=True)
    print(f"     medctl scan --hci {peripheral.join_with}", flush=True)
