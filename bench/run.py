"""Run every benchmark and print its table next to its baseline: ``python -m bench.run``.

    python -m bench.run [--count N] [--scale-seconds S] [--sizes 1,10,50,100] [--tui] [--json FILE]

Each figure is measured against a raw baseline in the same run (see each module), so the
ratios hold on a noisy machine. ``--tui`` adds the TUI's startup, CPU and memory in tmux.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

from bench import (
    ble_round_trip,
    history_lock,
    pty_round_trip,
    scale,
    stop_latency,
    tui_tmux,
    virtual_session,
    watchdog_timing,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="round trips per measurement")
    parser.add_argument("--stops", type=int, default=300, help="STOPs measured per link")
    parser.add_argument("--watchdogs", type=int, default=5, help="watchdog trips measured over a pty")
    parser.add_argument("--locked-stops", type=int, default=20, help="session STOPs with the history locked, and free")
    parser.add_argument("--scale-seconds", type=float, default=30.0, help="real time per fleet size")
    parser.add_argument("--sizes", default="1,10,50,100", help="fleet sizes")
    parser.add_argument("--tui", action="store_true", help="also measure the TUI in tmux (needs tmux)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures: dict[str, Any] = {}

    print(f"python {platform.python_version()} on {platform.machine()}\n")
    pty = pty_round_trip.run(args.count)
    ble = ble_round_trip.run(args.count)
    print(pty_round_trip.report(pty), "\n")
    print(ble_round_trip.report(ble), "\n")
    figures["round_trip"] = {f.label: {"p50_ms": f.p50_ms, "p99_ms": f.p99_ms} for f in [*pty, *ble]}

    baseline, stops = stop_latency.run(args.stops)
    print(stop_latency.report(baseline, stops), "\n")
    figures["stop"] = {s.label: {"p50_ms": s.p50_ms, "p99_ms": s.p99_ms} for s in [baseline, *stops]}

    watchdog_s, silences = watchdog_timing.run(args.watchdogs)
    print(watchdog_timing.report(watchdog_s, silences), "\n")
    figures["watchdog"] = {"configured_s": watchdog_s, "measured_s": silences.values}

    free, locked = history_lock.run(args.locked_stops)
    print(history_lock.report(free, locked), "\n")
    figures["stop_history_locked"] = {s.label: {"p50_ms": s.p50_ms, "p99_ms": s.p99_ms} for s in (free, locked)}

    virtual = virtual_session.run()
    print(virtual_session.report(virtual), "\n")
    figures["virtual_session"] = {
        "session_s": virtual.session_s,
        "engine_s": virtual.engine_s,
        "baseline_s": virtual.baseline_s,
    }

    points = scale.run(tuple(int(n) for n in args.sizes.split(",")), args.scale_seconds)
    print(scale.report(points), "\n")
    figures["scale"] = [
        {"devices": p.devices, "cpu_cores": p.cpu_cores, "watchdog_trips": p.watchdog_trips,
         "p50_ms": p.latency.p50_ms, "p99_ms": p.latency.p99_ms}
        for p in points
    ]  # fmt: skip

    if args.tui and shutil.which("tmux"):
        medctl = shutil.which("medctl", path=str(Path(sys.executable).parent)) or "medctl"
        first, cpu, rss = tui_tmux.run(medctl, 30.0)
        base_rss = tui_tmux.baseline_rss_mib()
        print(tui_tmux.report(first, cpu, rss, base_rss, 30.0))
        figures["tui"] = {"first_screen_s": first, "cpu_percent": cpu, "peak_rss_mib": rss, "baseline_mib": base_rss}

    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
