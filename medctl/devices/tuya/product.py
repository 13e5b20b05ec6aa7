"""A Tuya product's data points and ranges, from a definition file (``products/*.toml``).

Tuya devices differ only in which data point means what. A product file names the data
points for power, intensity (gear), heat and mode, and how medctl's levels map onto them, so
another Tuya massager needs a new file, not new code. The reference neck massager's file is
the default.

Intensity: medctl's levels ``1..N`` map to the gears listed in ``intensity.gears`` (level n →
``gears[n-1]``); gear 0 is the device's lightest setting, not off — power is a data point of
its own. A reported gear between two listed ones counts as the higher level, and a gear above
the last one as ``N + 1``, so a device that runs stronger than commanded is never seen as
weaker than it is. Heat: level 0 is ``heat.off``, level n is ``heat.levels[n-1]``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from medctl.devices.tuya.protocol import DataPoint, DpType

DEFAULT_PRODUCT: Final = "neck_massager"


class ProductError(ValueError):
    """A product definition that cannot be used; the message says which entry and why."""


@dataclass(frozen=True)
class Product:
    name: str
    power_dp: int
    power_on: bool
    intensity_dp: int
    gears: tuple[int, ...]
    max_gear: int
    heat_dp: int
    heat_off: int
    heat_values: tuple[int, ...]
    mode_dp: int
    modes: tuple[str, ...]
    default_mode: str

    @property
    def intensity_levels(self) -> int:
        return len(self.gears)

    @property
    def heat_levels(self) -> int:
        return len(self.heat_values)

    # --- commands -------------------------------------------------------------------------

    def power(self, on: bool) -> DataPoint:
        return DataPoint(self.power_dp, DpType.BOOL, on == self.power_on)

    def intensity(self, level: int) -> DataPoint:
        if not 1 <= level <= self.intensity_levels:
            raise ProductError(f"intensity {level} is outside 1..{self.intensity_levels}")
        return DataPoint(self.intensity_dp, DpType.ENUM, self.gears[level - 1])

    def heat(self, level: int) -> DataPoint:
        if not 0 <= level <= self.heat_levels:
            raise ProductError(f"heat {level} is outside 0..{self.heat_levels}")
        return DataPoint(self.heat_dp, DpType.ENUM, self.heat_off if level == 0 else self.heat_values[level - 1])

    def mode(self, name: str) -> DataPoint:
        if name not in self.modes:
            raise ProductError(f"mode {name!r} is not one of {', '.join(self.modes)}")
        return DataPoint(self.mode_dp, DpType.ENUM, self.modes.index(name))

    # --- reports --------------------------------------------------------------------------

    def powered(self, value: bool) -> bool:
        return value == self.power_on

    def level_of_gear(self, gear: int) -> int:
        """The level a reported gear counts as: the lowest level at or above it, ``N + 1`` above all."""
        for level, mapped in enumerate(self.gears, start=1):
            if gear <= mapped:
                return level
        return self.intensity_levels + 1

    def heat_level_of(self, value: int) -> int:
        """The heat level a reported value counts as; an unknown value counts as the highest level + 1."""
        if value == self.heat_off:
            return 0
        if value in self.heat_values:
            return self.heat_values.index(value) + 1
        return self.heat_levels + 1

    def mode_name(self, value: int) -> str:
        return self.modes[value] if 0 <= value < len(self.modes) else f"unknown ({value})"


def load_product(source: str | Path = DEFAULT_PRODUCT) -> Product:
    """A product by built-in name (``neck_massager``) or from a ``.toml`` file path."""
    if isinstance(source, Path) or source.endswith(".toml"):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProductError(f"cannot read product file {path}: {exc.strerror or exc}") from exc
        where = str(path)
    else:
        entry = resources.files("medctl.devices.tuya").joinpath("products", f"{source}.toml")
        if not entry.is_file():
            raise ProductError(f"no built-in Tuya product {source!r}")
        text, where = entry.read_text(encoding="utf-8"), f"{source}.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProductError(f"{where} is not valid TOML: {exc}") from exc
    return parse_product(data, where)


def parse_product(data: dict[str, Any], where: str = "product") -> Product:
    def table(name: str) -> dict[str, Any]:
        value = data.get(name)
        if not isinstance(value, dict):
            raise ProductError(f"{where}: [{name}] is missing")
        return value

    def integer(section: dict[str, Any], key: str, name: str, low: int = 0, high: int = 255) -> int:
        value = section.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ProductError(f"{where}: {name}.{key} must be an integer in {low}..{high}")
        return value

    def integers(section: dict[str, Any], key: str, name: str, high: int) -> tuple[int, ...]:
        value = section.get(key)
        if not isinstance(value, list) or not value:
            raise ProductError(f"{where}: {name}.{key} must be a non-empty list")
        items = tuple(integer({key: v}, key, name, 0, high) for v in value)
        if len(set(items)) != len(items):
            raise ProductError(f"{where}: {name}.{key} repeats a value")
        return items

    power, intensity, heat, mode = table("power"), table("intensity"), table("heat"), table("mode")
    on = power.get("on", True)
    if not isinstance(on, bool):
        raise ProductError(f"{where}: power.on must be true or false")
    max_gear = integer(intensity, "max_gear", "intensity")
    gears = integers(intensity, "gears", "intensity", max_gear)
    if list(gears) != sorted(gears):
        raise ProductError(f"{where}: intensity.gears must go from lightest to strongest")
    heat_off = integer(heat, "off", "heat")
    heat_values = integers(heat, "levels", "heat", 255)
    if heat_off in heat_values:
        raise ProductError(f"{where}: heat.off is also listed as a heat level")
    names = mode.get("names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ProductError(f"{where}: mode.names must be a non-empty list of names")
    default_mode = mode.get("default", names[0])
    if default_mode not in names:
        raise ProductError(f"{where}: mode.default {default_mode!r} is not one of mode.names")
    dps = [integer(t, "dp", n) for t, n in ((power, "power"), (intensity, "intensity"), (heat, "heat"), (mode, "mode"))]
    if len(set(dps)) != len(dps):
        raise ProductError(f"{where}: two functions share one data point")
    name = data.get("name", where)
    return Product(
        name=str(name),
        power_dp=dps[0],
        power_on=on,
        intensity_dp=dps[1],
        gears=gears,
        max_gear=max_gear,
        heat_dp=dps[2],
        heat_off=heat_off,
        heat_values=heat_values,
        mode_dp=dps[3],
        modes=tuple(names),
        default_mode=str(default_mode),
    )
