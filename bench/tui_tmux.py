"""The TUI as a person meets it, in tmux at 80×24: time to the first screen, CPU during a session.

    python -m bench.tui_tmux [--medctl PATH] [--seconds 30]

Starts ``medctl`` (no arguments: the TUI on the built-in simulator) in a detached tmux session
with empty config and data directories, as on a fresh install, and polls ``tmux capture-pane``
every 5 ms until the safety check's first question is drawn. Python may write its bytecode cache,
as on a person's machine (``PYTHONDONTWRITEBYTECODE`` is removed): the very first start, which
compiles medctl's modules when they have no cache yet, is reported on its own, and the figure
against the budget is the least of three starts, like the bare Textual app's. Then it answers the questions,
starts a 5-minute session at real speed and, once the warm-up is on screen, reads the
process's user+system CPU time from ``/proc/PID/stat`` over ``--seconds`` of wall time.
Needs tmux and Linux.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The issue's budgets, printed next to the figures.
FIRST_SCREEN_BUDGET_S = 0.5
CPU_BUDGET_PERCENT = 5.0
SESSION = "medctl-bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def wait_for(text: str, timeout: float, poll: float = 0.005) -> float:
    """Seconds until *text* is on the pane (polling capture-pane); raises after *timeout*."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if text in tmux("capture-pane", "-p", "-t", SESSION):
            return time.perf_counter() - start
        time.sleep(poll)
    raise TimeoutError(f"{text!r} did not appear within {timeout} s:\n" + tmux("capture-pane", "-p", "-t", SESSION))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def medctl_pid() -> int:
    shell = int(tmux("display-message", "-p", "-t", SESSION, "#{pane_pid}").strip())
    children = Path(f"/proc/{shell}/task/{shell}/children")
    found = children.read_text().split() if children.exists() else []
    return int(found[0]) if found else shell


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/PID/status")


def baseline_rss_mib() -> float:
    """Peak RSS of a bare interpreter that only imports Textual's App, measured now.

    The least of three runs: the first may compile bytecode, which costs memory of its own.
    """
    code = "import resource, textual.app; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    runs = [subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True) for _ in range(3)]
    return min(int(r.stdout) for r in runs) / 1024


#: The baseline: a bare Textual app drawing one line, started the same way in the same run.
BARE_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Static\n"
    "class Bare(App[None]):\n"
    "    def compose(self):\n"
    "        yield Static('Question 1 of 6')\n"
    "Bare().run()\n"
)


#: How every measured command starts: bytecode may be cached, as on a person's machine.
CACHING = "exec env -u PYTHONDONTWRITEBYTECODE TERM=xterm-256color"


def first_paint(command: str) -> float:
    """Seconds from starting *command* in a fresh 80×24 tmux session until "Question 1 of" is drawn."""
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    started = time.perf_counter()
    tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command)
    try:
        wait_for("Question 1 of", timeout=10)
        return time.perf_counter() - started
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def bare_first_paint(runs: int = 3) -> float:
    """The least of *runs* first paints of :data:`BARE_APP` with this interpreter."""
    script = Path(tempfile.mkdtemp(prefix="medctl-bench-")) / "bare.py"
    script.write_text(BARE_APP)
    try:
        return min(first_paint(f"{CACHING} {sys.executable} {script}") for _ in range(runs))
    finally:
        shutil.rmtree(script.parent, ignore_errors=True)


def medctl_first_paints(medctl: str, runs: int = 3) -> tuple[float, float]:
    """The first start's first paint (it may compile bytecode) and the least of the next *runs*,
    each on a fresh config and data folder."""
    times = []
    for _ in range(runs + 1):
        home = Path(tempfile.mkdtemp(prefix="medctl-bench-"))
        try:
            times.append(first_paint(f"{CACHING} {_fresh_home(home)} {medctl}"))
        finally:
            shutil.rmtree(home, ignore_errors=True)
    return times[0], min(times[1:])


def _fresh_home(home: Path) -> str:
    return f"HOME={home} XDG_CONFIG_HOME={home}/config XDG_DATA_HOME={home}/data"


def run(medctl: str, seconds: float) -> tuple[float, float]:
    home = Path(tempfile.mkdtemp(prefix="medctl-bench-"))
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    tmux("new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", f"{CACHING} {_fresh_home(home)} {medctl}")
    wait_for("Question 1 of", timeout=10)
    try:
        for _ in range(6):
            tmux("send-keys", "-t", SESSION, "n")
        wait_for("Plan your session", timeout=5)
        tmux("send-keys", "-t", SESSION, "Enter")
        wait_for("WARM-UP", timeout=5)
        pid = medctl_pid()
        before, wall = cpu_seconds(pid), time.perf_counter()
        time.sleep(seconds)
        used, elapsed = cpu_seconds(pid) - before, time.perf_counter() - wall
        rss = peak_rss_mib(pid)
        tmux("send-keys", "-t", SESSION, "Space")
        wait_for("You stopped the session", timeout=5)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
    return 100 * used / elapsed, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = shutil.which("medctl", path=str(Path(sys.executable).parent)) or "medctl"
    parser.add_argument("--medctl", default=default, help="the medctl to start (default: this environment's)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to measure CPU during the session")
    args = parser.parse_args()
    very_first, first = medctl_first_paints(args.medctl)
    bare = bare_first_paint()
    print(report(very_first, first, *run(args.medctl, args.seconds), baseline_rss_mib(), args.seconds, bare))


def report(
    very_first: float, first: float, cpu: float, rss: float, baseline_rss: float, seconds: float, bare: float
) -> str:
    return "\n".join(
        [
            f"first screen drawn    {first * 1000:6.0f} ms   (budget {FIRST_SCREEN_BUDGET_S * 1000:.0f} ms;"
            f" a bare Textual app, same run: {bare * 1000:.0f} ms, {first / bare:.2f}x; least of 3 starts)",
            f"  the very first start {very_first * 1000:5.0f} ms   (bytecode not yet cached where it was not)",
            f"CPU during a session  {cpu:6.2f} %    (budget {CPU_BUDGET_PERCENT:.0f} % of one core, {seconds:g} s)",
            f"peak RSS with the TUI {rss:6.1f} MiB  (a bare interpreter importing textual: {baseline_rss:.1f} MiB,"
            f" {rss / baseline_rss:.2f}x)",
        ]
    )


if __name__ == "__main__":
    main()
