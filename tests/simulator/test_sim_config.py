"""DeviceConfig: the defaults of DESIGN.md §3, and clear errors for impossible devices."""

from __future__ import annotations

import pytest

from firmware_protocol import DEFAULT_WATCHDOG_S
from simulator import DeviceConfig


def test_defaults_describe_the_design_device() -> None:
    config = DeviceConfig()
    assert (config.intensity_levels, config.heat_levels, config.heat_targets_c) == (5, 2, (38.0, 42.0))
    assert (config.max_temp_c, config.watchdog_s, config.auto_off_s) == (45.0, DEFAULT_WATCHDOG_S, 900.0)
    assert (config.heat_limit_s, config.rest_refill) == (900.0, 0.5)  # SPEC.md §2, §7.6
    assert config.heat_target_c(0) == config.ambient_c == 31.0
    assert config.heat_target_c(2) == 42.0


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        DeviceConfig().intensity_levels = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"intensity_levels": 0}, "intensity_levels"),
        ({"intensity_levels": 256}, "intensity_levels"),
        ({"heat_levels": 3, "heat_targets_c": (38.0, 42.0)}, "one target per heat level"),
        ({"heat_levels": -1}, "heat_levels"),
        ({"heat_targets_c": (38.0, float("nan"))}, "temperatures"),
        ({"ambient_c": 50.0}, "below max_temp_c"),
        ({"time_constant_s": 0.0}, "time_constant_s"),
        ({"watchdog_s": -1.0}, "watchdog_s"),
        ({"watchdog_s": 70.0}, "u16"),
        ({"status_interval_s": float("inf")}, "status_interval_s"),
        ({"heat_limit_s": 0.0}, "heat_limit_s"),
        ({"rest_refill": float("nan")}, "rest_refill"),
        ({"rest_refill": 0.0}, "rest_refill"),
        ({"battery_drain_per_min": -0.1}, "battery_drain_per_min"),
        ({"model": "a much too long model name"}, "model"),
        ({"serial": "ÉÉÉÉÉÉÉ"}, "serial"),
    ],
)
def test_invalid_configs_are_refused_clearly(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeviceConfig(**fields)  # type: ignore[arg-type]


def test_a_device_without_heater() -> None:
    config = DeviceConfig(heat_levels=0, heat_targets_c=())
    assert config.heat_target_c(0) == config.ambient_c


@pytest.mark.parametrize(
    ("levels", "targets"), [(0, ()), (1, (40.0,)), (2, (38.0, 42.0)), (3, (38.0, 40.0, 42.0))]
)
def test_heat_targets_follow_the_level_count_when_not_given(levels: int, targets: tuple[float, ...]) -> None:
    """``medctl simulate --heat-levels 0`` (or 3) makes a device instead of an error about targets."""
    assert DeviceConfig(heat_levels=levels).heat_targets_c == targets
