"""The simulated massager's fixed characteristics: levels, temperatures, timings, identity.

A :class:`DeviceConfig` is what a real unit would have burned into its firmware; the
defaults describe the device of DESIGN.md §3. Invalid combinations are refused at
construction, so the firmware never has to second-guess its configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

from firmware_protocol import DEFAULT_WATCHDOG_S, MAX_MODES, STATUS_INTERVAL_S, heat_targets_text
from firmware_protocol.auth import normalize_code
from firmware_protocol.constants import MAX_INFO_LEN
from simulator.deviations import Deviations

#: HELLO's watchdog_ms field is a u16.
MAX_WATCHDOG_S: Final = 0xFFFF / 1000
#: Levels travel as single bytes.
MAX_LEVELS: Final = 0xFF
#: The massage modes of the default device (SPEC.md §7.4.11): patterns, not strengths.
DEFAULT_MODES: Final = ("kneading", "tapping", "rolling")


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """What the firmware knows about its own hardware. Times are seconds, temperatures °C."""

    intensity_levels: int = 5
    heat_levels: int = 2
    #: One target per heat level; left empty, they follow the level count (38–42 °C, spread evenly).
    heat_targets_c: tuple[float, ...] = ()
    ambient_c: float = 31.0
    time_constant_s: float = 60.0
    max_temp_c: float = 45.0
    watchdog_s: float = DEFAULT_WATCHDOG_S
    #: Run budget (SPEC.md §7.6): this much motor time, counted across STOP/START, then auto-off.
    auto_off_s: float = 900.0
    #: Heater budget: this much heating, with or without the motor, then the heater switches off.
    heat_limit_s: float = 900.0
    #: Seconds of budget a second of rest gives back (0.5: an exhausted budget is full after 30 minutes).
    rest_refill: float = 0.5
    status_interval_s: float = STATUS_INTERVAL_S
    battery: bool = False
    battery_drain_per_min: float = 0.5
    model: str = "NeckEase 2"
    firmware: str = "1.4.0"
    serial: str = "NE2-000001"
    #: Massage modes, mode 0 first (SPEC.md §7.4.11); empty: a device without modes (no MODES feature).
    modes: tuple[str, ...] = DEFAULT_MODES
    #: Whether GET_INFO answers HEAT_TARGETS (SPEC.md §7.4.3); False: a firmware from before it (``bad_value``).
    reports_heat_targets: bool = True
    #: The pairing code printed on the device (SPEC.md §11.4); None: a random one per device.
    pairing_code: str | None = None
    #: Mistakes to make on purpose, for testing conformance checkers (simulator/deviations.py); none by default.
    deviations: Deviations = field(default_factory=Deviations)

    def __post_init__(self) -> None:
        if not self.heat_targets_c:
            object.__setattr__(self, "heat_targets_c", default_heat_targets(self.heat_levels))
        _check_levels(self)
        _check_temperatures(self)
        _check_times(self)
        _check_identity(self)
        _check_modes(self)
        _check_pairing_code(self)

    def heat_target_c(self, heat: int) -> float:
        """The pad temperature heat level *heat* drives towards (ambient when off)."""
        return self.ambient_c if heat == 0 else self.heat_targets_c[heat - 1]


def default_heat_targets(levels: int) -> tuple[float, ...]:
    """Targets from 38 °C to 42 °C for *levels* heat levels (40 °C for one; none for none)."""
    if levels <= 1:
        return (40.0,) * levels
    return tuple(round(38.0 + 4.0 * i / (levels - 1), 1) for i in range(levels))


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(f"DeviceConfig: {message}")


def _check_levels(config: DeviceConfig) -> None:
    _require(1 <= config.intensity_levels <= MAX_LEVELS, f"intensity_levels must be 1..{MAX_LEVELS}")
    _require(0 <= config.heat_levels <= MAX_LEVELS, f"heat_levels must be 0..{MAX_LEVELS}")
    _require(
        len(config.heat_targets_c) == config.heat_levels,
        f"heat_targets_c needs one target per heat level ({config.heat_levels}), got {len(config.heat_targets_c)}",
    )


def _check_temperatures(config: DeviceConfig) -> None:
    values = (config.ambient_c, config.max_temp_c, *config.heat_targets_c)
    _require(all(math.isfinite(v) and -40.0 <= v <= 150.0 for v in values), "temperatures must lie in -40..150 °C")
    _require(config.ambient_c < config.max_temp_c, "ambient_c must be below max_temp_c")


def _check_times(config: DeviceConfig) -> None:
    for name in ("time_constant_s", "watchdog_s", "auto_off_s", "heat_limit_s", "status_interval_s"):
        value = getattr(config, name)
        _require(math.isfinite(value) and value > 0, f"{name} must be a positive number of seconds, got {value}")
    _require(config.watchdog_s <= MAX_WATCHDOG_S, f"watchdog_s must fit HELLO's u16 milliseconds (≤ {MAX_WATCHDOG_S})")
    refill = config.rest_refill
    _require(math.isfinite(refill) and refill > 0, f"rest_refill must be a positive ratio, got {refill}")
    drain = config.battery_drain_per_min
    _require(math.isfinite(drain) and drain >= 0, "battery_drain_per_min must be ≥ 0")


def _check_identity(config: DeviceConfig) -> None:
    for name in ("model", "firmware", "serial"):
        size = len(getattr(config, name).encode())
        _require(size <= MAX_INFO_LEN, f"{name} is {size} bytes of UTF-8, at most {MAX_INFO_LEN} fit a GET_INFO answer")
    if config.reports_heat_targets:
        targets = heat_targets_text(config.heat_targets_c)
        _require(
            len(targets) <= MAX_INFO_LEN and all(0 <= t < 99.5 for t in config.heat_targets_c),
            f"heat targets {targets!r} do not fit a GET_INFO answer (whole °C below 100, {MAX_INFO_LEN} bytes)",
        )


def _check_modes(config: DeviceConfig) -> None:
    modes = config.modes
    _require(len(modes) <= MAX_MODES, f"at most {MAX_MODES} massage modes, got {len(modes)}")
    _require(len(set(modes)) == len(modes), f"massage mode names must differ, got {modes}")
    for name in modes:
        size = len(name.encode())
        _require(0 < size <= MAX_INFO_LEN, f"massage mode {name!r} must be 1..{MAX_INFO_LEN} bytes of UTF-8")


def _check_pairing_code(config: DeviceConfig) -> None:
    if config.pairing_code is not None:
        try:
            normalize_code(config.pairing_code)
        except ValueError as exc:
            raise ValueError(f"DeviceConfig: {exc}") from None
