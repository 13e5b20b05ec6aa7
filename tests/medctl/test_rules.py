"""Each session rule as a unit, at its edges (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest

from medctl.session import rules
from medctl.session.plan import SafetyCheck, SessionPlan
from medctl.session.rules import RuleState, RuleViolation

BASE = RuleState(
    massage_s=120.0,
    warm_up_end_s=60.0,
    intensity=2,
    heat=0,
    max_intensity=5,
    max_heat=2,
    last_increase_s=None,
    increase_spacing_s=20.0,
    planned_s=300.0,
)

SAFE = dict(
    swelling_bruising_or_injury=False,
    underlying_condition=False,
    provider_agreed=False,
    recent_trauma=False,
    arm_symptoms=False,
    severe_headache=False,
    fever=False,
)


@contextmanager
def refused(rule: str) -> Iterator[None]:
    with pytest.raises(RuleViolation) as refusal:
        yield
    assert refusal.value.rule == rule, refusal.value


# R1 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [5, 7.5, 10])
def test_r1_five_to_ten_minutes_are_allowed(minutes: float) -> None:
    assert SessionPlan(minutes=minutes).duration_s == minutes * 60


@pytest.mark.parametrize("minutes", [4.99, 10.01, 0, 30])
def test_r1_other_lengths_are_refused(minutes: float) -> None:
    with refused("R1"):
        SessionPlan(minutes=minutes)


# R2 ---------------------------------------------------------------------------------------


def test_r2_start_only_at_the_lightest_setting() -> None:
    rules.check_start_level(1, 0)
    rules.check_start_level(1, 1)
    with refused("R2"):
        rules.check_start_level(2, 0)
    with refused("R2"):
        rules.check_start_level(1, 2)


def test_r2_heat_starts_at_level_one() -> None:
    with refused("R2"):
        rules.check_heat(BASE, 2)
    rules.check_heat(BASE, 1)


# R3 ---------------------------------------------------------------------------------------


def test_r3_increase_refused_at_59_s_with_time_left() -> None:
    with pytest.raises(RuleViolation, match="warm-up: 1 s left") as refusal:
        rules.check_increase(replace(BASE, massage_s=59.0, intensity=1))
    assert refusal.value.rule == "R3"


def test_r3_increase_allowed_at_60_s() -> None:
    assert rules.check_increase(replace(BASE, massage_s=60.0, intensity=1)) == 2


def test_r3_heat_increase_waits_for_warm_up_too() -> None:
    with refused("R3"):
        rules.check_heat(replace(BASE, massage_s=30.0, heat=1), 2)


def test_r3_decreases_are_always_allowed() -> None:
    assert rules.check_decrease(replace(BASE, massage_s=5.0, intensity=3)) == 2
    rules.check_heat(replace(BASE, massage_s=5.0, heat=1), 0)


def test_r3_a_new_warm_up_after_a_long_gap() -> None:
    with refused("R3"):
        rules.check_increase(replace(BASE, massage_s=200.0, warm_up_end_s=230.0))


# R4 ---------------------------------------------------------------------------------------


def test_r4_a_second_increase_too_soon_is_refused() -> None:
    state = replace(BASE, massage_s=79.0, last_increase_s=60.0)
    with pytest.raises(RuleViolation, match="wait 1 s") as refusal:
        rules.check_increase(state)
    assert refusal.value.rule == "R4"
    assert rules.check_increase(replace(state, massage_s=80.0)) == 3


def test_r4_one_level_at_a_time() -> None:
    with refused("R4"):
        rules.check_gradual(BASE, 1, 3, "intensity")


def test_r4_not_above_the_device_range() -> None:
    with refused("R4"):
        rules.check_increase(replace(BASE, intensity=5))


# R5 ---------------------------------------------------------------------------------------


def test_r5_no_increase_once_winding_down() -> None:
    with refused("R5"):
        rules.check_increase(replace(BASE, massage_s=300.0 - rules.STEP_DOWN_S))
    rules.check_increase(replace(BASE, massage_s=300.0 - rules.STEP_DOWN_S - 0.1))


def test_r5_pause_limit() -> None:
    assert not rules.pause_expired(119.9, 120.0)
    assert rules.pause_expired(120.0, 120.0)


# R7 ---------------------------------------------------------------------------------------


def test_r7_too_much_ends_at_the_third_or_at_level_one() -> None:
    assert not rules.too_much_ends_session(1, 3)
    assert not rules.too_much_ends_session(2, 2)
    assert rules.too_much_ends_session(3, 4)
    assert rules.too_much_ends_session(1, 1)


# R8 ---------------------------------------------------------------------------------------


def test_r8_all_clear_allows_a_session() -> None:
    assert SafetyCheck(**SAFE).decision().allowed


@pytest.mark.parametrize("flag", ["recent_trauma", "arm_symptoms", "severe_headache", "fever"])
def test_r8_red_flags_send_you_to_a_doctor(flag: str) -> None:
    decision = SafetyCheck(**{**SAFE, flag: True}).decision()
    assert not decision.allowed and "doctor" in decision.message


def test_r8_swelling_or_injury_means_no_session() -> None:
    with pytest.raises(RuleViolation, match="swelling"):
        SafetyCheck(**{**SAFE, "swelling_bruising_or_injury": True}).require()


def test_r8_underlying_condition_needs_a_provider() -> None:
    assert not SafetyCheck(**{**SAFE, "underlying_condition": True}).decision().allowed
    assert SafetyCheck(**{**SAFE, "underlying_condition": True, "provider_agreed": True}).decision().allowed


def test_r8_no_silent_defaults() -> None:
    with pytest.raises(TypeError):
        SafetyCheck()  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="missing: fever"):
        SafetyCheck.from_answers({k: v for k, v in SAFE.items() if k != "fever"})
    with pytest.raises(ValueError, match="true or false"):
        SafetyCheck.from_answers({**SAFE, "fever": "no"})


# R11 --------------------------------------------------------------------------------------


def test_r11_heat_blocked_after_over_temperature() -> None:
    with refused("R11"):
        rules.check_heat(replace(BASE, heat_blocked="the pad overheated"), 1)
    rules.check_heat(replace(BASE, heat=1, heat_blocked="the pad overheated"), 0)
