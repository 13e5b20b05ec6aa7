"""Every number in a plan or an address is finite and in range, or refused in one line (finding 6)."""

from __future__ import annotations

import math

import pytest

import medctl
from medctl.errors import AddressError
from medctl.session import RuleViolation, SessionPlan

BAD_NUMBERS = [math.nan, math.inf, -math.inf, -1.0, 0.0, 1e9]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
@pytest.mark.parametrize("name", ["minutes", "pause_limit_s", "increase_spacing_s"])
def test_a_plan_number_out_of_range_or_not_finite_is_refused_in_one_line(name: str, value: float) -> None:
    with pytest.raises((ValueError, RuleViolation)) as refusal:
        SessionPlan(**{name: value})  # type: ignore[arg-type]
    assert "\n" not in str(refusal.value) and str(refusal.value)


@pytest.mark.parametrize("value", [0, -3, 256, 2.5, True, "3"], ids=repr)
def test_a_target_intensity_that_is_not_a_level_is_refused(value: object) -> None:
    with pytest.raises((ValueError, RuleViolation)):
        SessionPlan(target_intensity=value)  # type: ignore[arg-type]


def test_heat_is_true_or_false() -> None:
    with pytest.raises(ValueError, match="true or false"):
        SessionPlan(heat=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("speed", ["nan", "inf", "-inf", "0", "-5", "1e9", "fast"])
async def test_a_simulator_speed_out_of_range_is_refused_in_one_line(speed: str) -> None:
    with pytest.raises(AddressError) as refusal:
        async with medctl.connect(f"sim://?speed={speed}"):
            pass
    assert "\n" not in str(refusal.value) and "speed" in str(refusal.value)


@pytest.mark.parametrize("option", ["watchdog_s=nan", "max_temp_c=inf", "auto_off_s=-inf"])
async def test_other_simulator_numbers_must_be_finite(option: str) -> None:
    with pytest.raises(AddressError, match="finite"):
        async with medctl.connect(f"sim://?{option}"):
            pass
