"""``medctl conformance``: check that a device speaks SPEC.md, one line per check, exit 0 only if none failed.

A default run takes about 10 s over a serial port or TCP and about 20 s over Bluetooth LE;
``--slow`` adds the watchdog checks (about 20 s) and the auto-off check, which runs the motor
for the whole auto-off time (15 minutes by SPEC §2). The run leaves the motor stopped and
ends every session it opened; only ``--pairing-code`` (pairs a controller) and
``--destructive`` (locks pairing until power-off) leave a mark.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from medctl.cli.common import EXIT_ERROR, EXIT_OK, UsageError, check_address, positive_float


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "conformance",
        help="check a device (or firmware under development) against the protocol specification",
        description="Run the conformance suite against a device: framing, every message and error code, "
        "de-duplication, versions, ownership, timing. One line per check, a summary, exit 0 only if no check "
        "failed. A run takes about 10 s (20 s over BLE); --slow adds about 20 s plus the auto-off time (15 min).",
    )
    parser.add_argument(
        "--device", "-d", required=True, metavar="URL", help="serial:///dev/ttyACM0, tcp://HOST:PORT, ble://…, sim://"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON to FILE")
    parser.add_argument(
        "--pairing-code",
        metavar="CODE",
        help="the device's pairing code: the run pairs a controller of its own to check authenticated requests",
    )
    parser.add_argument("--slow", action="store_true", help="also run the slow checks: watchdog timing, auto-off")
    parser.add_argument("--destructive", action="store_true", help="also run checks that leave a mark (lockout)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SECTION",
        help="run only the checks of a SPEC section (7.2, §9.1) or an id prefix (dedup); repeatable",
    )
    parser.add_argument(
        "--auto-off",
        type=positive_float,
        default=900.0,
        metavar="SECONDS",
        help="the device's run and heater budgets (SPEC §7.6), for the --slow limit checks (default: SPEC's 900)",
    )
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    from medctl.conformance import CheckResult, SuiteOptions, all_checks, link_source, run_suite
    from medctl.conformance.runner import matches

    check_address(args.device)
    if args.pairing_code is not None:
        from firmware_protocol.auth import normalize_code

        try:
            normalize_code(args.pairing_code)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    unmatched = [only for only in args.only if not any(matches(check, only) for check in all_checks())]
    if unmatched:
        raise UsageError(f"no check matches --only {unmatched[0]} (give a SPEC section such as 7.2, or an id prefix)")
    options = SuiteOptions(
        slow=args.slow,
        destructive=args.destructive,
        only=tuple(args.only),
        pairing_code=args.pairing_code,
        auto_off_s=args.auto_off,
    )

    def show(result: CheckResult) -> None:
        print(result.line(), flush=True)

    async with link_source(args.device) as source:
        print(f"conformance of {source.description}", flush=True)
        report = await run_suite(source, options, show)
    print(report.summary())
    for flag, prefix, what in (
        ("--slow", "slow:", f"watchdog timing (about 20 s) and the time limits ({2 * options.auto_off_s:g} s)"),
        ("--destructive", "destructive:", "the pairing lockout, which lasts until the device is switched off"),
    ):
        if count := report.skipped_because(prefix):
            print(f"{flag} runs {count} more check(s): {what}")
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"medctl: error: cannot write {args.json}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_ERROR
    return EXIT_OK if report.ok else EXIT_ERROR
