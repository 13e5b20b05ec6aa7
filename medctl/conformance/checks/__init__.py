"""The checks, one module per part of SPEC.md; importing this package registers them in run order."""

from medctl.conformance.checks import (  # noqa: F401  (imported to register their checks)
    framing,
    messages,
    ownership,
    ranges,
    robustness,
    sequencing,
    stream,
    timing,
)
