"""Run a command while other processes keep every core busy: the suite must pass like this.

    python -m bench.under_load -- python -m pytest           # one busy process per core
    python -m bench.under_load --busy 2 --runs 10 -- python -m pytest -q

CI shares its 2 cores with other work; a test that passes only on an idle machine is a
flaky test. Each busy process spins in pure Python until the command ends. With ``--runs``
the command is run that many times back to back; the exit code is the first non-zero one.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time


def _spin() -> None:
    while True:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 2, help="busy processes (default: one per core)")
    parser.add_argument("--runs", type=int, default=1, help="run the command this many times, back to back")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    results: list[tuple[int, float]] = []
    try:
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            code = subprocess.call(command)
            results.append((code, time.perf_counter() - started))
            print(f"under load ({args.busy} busy): run {run}/{args.runs} exited {code} in {results[-1][1]:.0f} s",
                  file=sys.stderr, flush=True)  # fmt: skip
    finally:
        for spinner in spinners:
            spinner.terminate()
    failed = [code for code, _ in results if code != 0]
    print(f"under load: {len(results) - len(failed)} of {len(results)} runs passed", file=sys.stderr)
    return failed[0] if failed else 0


if __name__ == "__main__":
    sys.exit(main())
