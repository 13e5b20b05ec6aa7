"""Every check of the suite, in the order they run, gathered from the ``checks`` modules."""

from __future__ import annotations

from collections.abc import Callable

from medctl.conformance.model import Check, CheckFunction

_CHECKS: list[Check] = []


def check(
    check_id: str, section: str, title: str, *, slow: bool = False, destructive: bool = False
) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated coroutine function as a check."""

    def register(run: CheckFunction) -> CheckFunction:
        if any(c.id == check_id for c in _CHECKS):
            raise ValueError(f"duplicate conformance check id {check_id!r}")
        _CHECKS.append(Check(check_id, section, title, run, slow=slow, destructive=destructive))
        return run

    return register


def add(item: Check) -> None:
    """Register a check built elsewhere (the stream vectors make one each)."""
    if any(c.id == item.id for c in _CHECKS):
        raise ValueError(f"duplicate conformance check id {item.id!r}")
    _CHECKS.append(item)


def all_checks() -> list[Check]:
    """Every registered check, in registration order (which is the order they run in)."""
    from medctl.conformance.checks import load

    load()
    return list(_CHECKS)
