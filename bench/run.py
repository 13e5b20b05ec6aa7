"""Run the benchmarks and print a table: ``python -m bench.run [--count N] [--json FILE]``."""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from bench import ble_round_trip, pty_round_trip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000, help="round trips per measurement")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    pty = pty_round_trip.run(args.count)
    ble = ble_round_trip.run(args.count)
    print(f"python {platform.python_version()} on {platform.machine()}, {args.count} round trips each")
    print(pty_round_trip.report(pty))
    print(ble_round_trip.report(ble))
    if args.json:
        args.json.write_text(
            json.dumps(
                {f.label: {"p50_ms": f.p50_ms, "p99_ms": f.p99_ms, "mean_ms": f.mean_ms} for f in [*pty, *ble]},
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
