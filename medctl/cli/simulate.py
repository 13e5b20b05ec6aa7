"""``medctl simulate``: the software massager on a pseudo-terminal and/or a TCP port."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from medctl.cli.common import EXIT_OK, UsageError, positive_float


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("simulate", help="run the simulated massager on a pseudo-terminal and/or TCP")
    parser.add_argument("--serial", action="store_true", help="serve on a pseudo-terminal (the default)")
    parser.add_argument("--tcp", type=int, metavar="PORT", help="serve on a TCP port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="TCP address to listen on (default %(default)s)")
    parser.add_argument("--speed", type=positive_float, default=1.0, help="run the device clock X times faster")
    parser.add_argument("--intensity-levels", type=int, default=5, metavar="N")
    parser.add_argument("--heat-levels", type=int, default=2, metavar="M")
    parser.add_argument("--battery", action="store_true", help="simulate a cordless massager with a battery")
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    from simulator import DeviceConfig, ScaledClock, SimulatedDevice

    try:
        config = DeviceConfig(
            intensity_levels=args.intensity_levels, heat_levels=args.heat_levels, battery=args.battery
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with SimulatedDevice(config, clock=ScaledClock(args.speed)) as device:
        if args.serial or args.tcp is None:
            pty = await device.serve_pty()
            print(f"serial: {pty.path}", flush=True)
        if args.tcp is not None:
            try:
                tcp = await device.serve_tcp(args.host, args.tcp)
            except OSError as exc:
                raise UsageError(f"cannot listen on {args.host}:{args.tcp}: {exc.strerror or exc}") from exc
            print(f"tcp: {tcp.host}:{tcp.port}", flush=True)
        print(
            f"simulating {config.model}: intensity 1..{config.intensity_levels}, heat 0..{config.heat_levels}, "
            f"clock x{args.speed:g}. Ctrl-C to quit.",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    return EXIT_OK
