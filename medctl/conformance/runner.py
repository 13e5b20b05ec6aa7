"""Run the selected checks one after another, each bounded in time, and collect a report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from medctl import __version__
from medctl.conformance.context import CHECK_BUDGET_S, Context, LinkSource, SuiteOptions
from medctl.conformance.model import Check, CheckResult, Failed, Outcome, Skipped
from medctl.conformance.registry import all_checks
from medctl.conformance.wire import LinkGone
from medctl.errors import MedctlError

#: The first check: if the device does not answer GET_STATUS, nothing else can be checked.
GATE = "frame.answer-valid"
#: Checks that need no session, and so run on a device that is paired already (SPEC §11.5).
OPEN_WHEN_PAIRED = ("frame.drop-", "frame.unknown-type", "frame.bad-", "stream.", "auth.", "robust.", "msg.get-info")


@dataclass
class Report:
    """Every check's result, the device's identity, and how long the run took."""

    device: str
    options: dict[str, Any] = field(default_factory=dict)
    results: list[CheckResult] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def ok(self) -> bool:
        """True when no check failed (skipped checks do not fail a run)."""
        return self.count(Outcome.FAILED) == 0

    def summary(self) -> str:
        return (
            f"{len(self.results)} checks: {self.count(Outcome.PASSED)} passed, {self.count(Outcome.FAILED)} failed, "
            f"{self.count(Outcome.SKIPPED)} skipped in {self.seconds:.1f} s"
        )

    def skipped_because(self, prefix: str) -> int:
        """How many checks were skipped for a reason starting with *prefix* (``"slow:"``)."""
        return sum(1 for r in self.results if r.outcome is Outcome.SKIPPED and r.reason.startswith(prefix))

    def failed_sections(self) -> set[str]:
        return {r.section for r in self.results if r.outcome is Outcome.FAILED}

    def to_json(self) -> dict[str, Any]:
        return {
            "medctl": __version__,
            "device": self.device,
            "options": self.options,
            "device_facts": self.facts,
            "ok": self.ok,
            "passed": self.count(Outcome.PASSED),
            "failed": self.count(Outcome.FAILED),
            "skipped": self.count(Outcome.SKIPPED),
            "seconds": round(self.seconds, 3),
            "checks": [r.to_json() for r in self.results],
        }


def select(checks: list[Check], options: SuiteOptions) -> list[Check]:
    """The checks *options* ask for: ``only`` by section (``7.2``, ``§7``) or id prefix (``dedup``)."""
    if not options.only:
        return checks
    chosen = [c for c in checks if c.id == GATE or any(matches(c, only) for only in options.only)]
    return chosen


def matches(check: Check, only: str) -> bool:
    """Is *check* in the SPEC section *only* names (``7.2`` takes in 7.2.x), or does its id begin with *only*?"""
    wanted = only.strip().lstrip("§")
    section = check.section.lstrip("§")
    return section == wanted or section.startswith(wanted + ".") or check.id.startswith(wanted)


async def run_suite(
    source: LinkSource, options: SuiteOptions | None = None, on_result: Callable[[CheckResult], None] | None = None
) -> Report:
    """Run the suite against the device *source* leads to; *on_result* sees each result as it comes."""
    options = options or SuiteOptions()
    context = Context(source, options)
    report = Report(
        source.description,
        {
            "slow": options.slow,
            "destructive": options.destructive,
            "only": list(options.only),
            "pairing_code_given": options.pairing_code is not None,
            "auto_off_s": options.auto_off_s,
        },
    )
    started = time.monotonic()
    gate_failed = ""
    try:
        for check in select(all_checks(), options):
            if gate_failed:
                result = _result(check, Outcome.SKIPPED, gate_failed, 0.0)
            elif context.paired and not check.id.startswith(OPEN_WHEN_PAIRED):
                result = _result(check, Outcome.SKIPPED, context.paired, 0.0)
            else:
                result = await _run_one(check, context)
                if check.id == GATE and result.outcome is Outcome.FAILED:
                    gate_failed = f"the device does not answer ({result.reason})"
                elif check.id == GATE:
                    await _read_facts(context)
            report.results.append(result)
            if on_result is not None:
                on_result(result)
    finally:
        await context.close()
    report.seconds = time.monotonic() - started
    facts = context.known_facts
    if facts is not None:
        report.facts = {k: getattr(facts, k) for k in facts.__dataclass_fields__}
        report.facts["features"] = int(facts.features)
    return report


async def _run_one(check: Check, context: Context) -> CheckResult:
    if check.slow and not context.options.slow:
        return _result(check, Outcome.SKIPPED, "slow: run with --slow", 0.0)
    if check.destructive and not context.options.destructive:
        return _result(check, Outcome.SKIPPED, "destructive: run with --destructive", 0.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    budget = CHECK_BUDGET_S + (context.options.auto_off_s if check.slow else 0.0)
    try:
        async with asyncio.timeout(budget):
            note = await check.run(context)
            malformed = [m for p in context.probes() for m in p.malformed]
            if malformed:
                raise Failed(f"the device sent frames that are no valid message (SPEC §5): {malformed[0]}")
        outcome, reason = Outcome.PASSED, note or ""
    except Failed as exc:
        outcome, reason = Outcome.FAILED, str(exc)
    except Skipped as exc:
        outcome, reason = Outcome.SKIPPED, str(exc)
    except LinkGone as exc:
        outcome, reason = Outcome.FAILED, f"the link went away: {exc}"
    except TimeoutError:
        outcome, reason = Outcome.FAILED, f"did not finish within {budget:g} s"
    except MedctlError as exc:
        outcome, reason = Outcome.FAILED, str(exc)
    finally:
        for probe in context.probes():
            probe.malformed.clear()
    elapsed = loop.time() - started
    try:
        async with asyncio.timeout(CHECK_BUDGET_S):
            await context.cleanup()
    except (TimeoutError, MedctlError) as exc:
        if outcome is not Outcome.FAILED:
            outcome, reason = Outcome.FAILED, f"cleanup after the check failed: {exc or 'timed out'}"
    return _result(check, outcome, reason, elapsed)


async def _read_facts(context: Context) -> None:
    """Learn N, M, the watchdog and the identity up front, for the report; a check that needs them reports a failure."""
    try:
        async with asyncio.timeout(CHECK_BUDGET_S):
            await context.facts()
    except (Failed, Skipped, TimeoutError, MedctlError):
        return
    finally:
        await context.cleanup()


def _result(check: Check, outcome: Outcome, reason: str, seconds: float) -> CheckResult:
    return CheckResult(check.id, check.section, check.title, outcome, reason, seconds)
