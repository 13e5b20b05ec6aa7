"""The heating pad's temperature: a first-order lag towards the heater's target.

``T += (target - T) * (1 - exp(-dt / tau))`` is the exact solution over a step of
``dt`` seconds, so the result does not depend on how often the firmware polls.
"""

from __future__ import annotations

import math


def step_temperature(current_c: float, target_c: float, dt_s: float, time_constant_s: float) -> float:
    """The pad temperature *dt_s* seconds later, heading for *target_c*."""
    if dt_s <= 0:
        return current_c
    return current_c + (target_c - current_c) * -math.expm1(-dt_s / time_constant_s)
