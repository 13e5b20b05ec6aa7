"""A conformance suite for firmware that speaks SPEC.md, run from ``medctl conformance``.

Checks are grouped by SPEC section, speak to the device frame by frame (good frames and
deliberately bad ones) over any medctl transport, and report pass, fail or skipped with a
reason. :func:`run_suite` runs them; :func:`link_source` turns a device address into links.
"""

from medctl.conformance.context import DeviceFacts, LinkSource, SuiteOptions
from medctl.conformance.links import link_source
from medctl.conformance.model import Check, CheckResult, Outcome
from medctl.conformance.registry import all_checks
from medctl.conformance.runner import Report, run_suite

__all__ = [
    "Check",
    "CheckResult",
    "DeviceFacts",
    "LinkSource",
    "Outcome",
    "Report",
    "SuiteOptions",
    "all_checks",
    "link_source",
    "run_suite",
]
