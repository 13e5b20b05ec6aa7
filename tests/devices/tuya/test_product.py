"""Product definitions: the reference neck massager's data points, the level ↔ gear map, and files refused
with a sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from medctl.devices.tuya.product import ProductError, load_product
from medctl.devices.tuya.protocol import DataPoint, DpType

REFERENCE = Path(__file__).parents[3] / "medctl" / "devices" / "tuya" / "products" / "neck_massager.toml"


def test_the_reference_product_is_the_default_with_its_data_points() -> None:
    product = load_product()
    assert (product.power_dp, product.intensity_dp, product.heat_dp, product.mode_dp) == (0x69, 0x67, 0x66, 0x68)
    assert product.modes == ("relieve", "vitality", "hammering", "scraping", "intelligent")
    assert product.power(True) == DataPoint(0x69, DpType.BOOL, True)
    assert product.heat(0) == DataPoint(0x66, DpType.ENUM, 1)  # inverted in the reference firmware: 1 is off
    assert product.heat(1) == DataPoint(0x66, DpType.ENUM, 0)


@pytest.mark.parametrize(("gear", "level"), [(0, 1), (1, 2), (3, 2), (4, 3), (12, 5), (13, 6), (15, 6)])
def test_a_reported_gear_counts_as_the_level_at_or_above_it(gear: int, level: int) -> None:
    assert load_product().level_of_gear(gear) == level


def test_reported_heat_values_and_modes() -> None:
    product = load_product()
    assert [product.heat_level_of(v) for v in (1, 0, 7)] == [0, 1, 2]
    assert product.mode_name(4) == "intelligent" and product.mode_name(9) == "unknown (9)"
    with pytest.raises(ProductError, match="not one of"):
        product.mode("shiatsu")
    with pytest.raises(ProductError, match="outside 0..1"):
        product.heat(2)


def test_a_product_file_by_path(tmp_path: Path) -> None:
    text = REFERENCE.read_text().replace("gears = [0, 3, 6, 9, 12]", "gears = [0, 1, 2]")
    (tmp_path / "mine.toml").write_text(text)
    assert load_product(tmp_path / "mine.toml").intensity_levels == 3


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("gears = [0, 3, 6, 9, 12]", "gears = [6, 3]", "lightest to strongest"),
        ("gears = [0, 3, 6, 9, 12]", "gears = [0, 16]", r"intensity.gears must be an integer in 0..15"),
        ("off = 1", "off = 0", "heat.off is also listed"),
        ("dp = 104", "dp = 105", "share one data point"),
        ('default = "relieve"', 'default = "none"', "mode.default"),
        ("[power]", "[powr]", r"\[power\] is missing"),
        ("on = true", 'on = "yes"', "power.on must be true or false"),
        ("dp = 105", "dp = 300", r"power.dp must be an integer in 0..255"),
    ],
)
def test_a_bad_product_file_is_refused_with_a_sentence(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = REFERENCE.read_text()
    assert old in text
    (tmp_path / "bad.toml").write_text(text.replace(old, new, 1))
    with pytest.raises(ProductError, match=message):
        load_product(tmp_path / "bad.toml")


def test_missing_and_broken_files_and_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(ProductError, match="cannot read product file"):
        load_product(tmp_path / "absent.toml")
    (tmp_path / "broken.toml").write_text("[power\n")
    with pytest.raises(ProductError, match="not valid TOML"):
        load_product(tmp_path / "broken.toml")
    with pytest.raises(ProductError, match="no built-in Tuya product 'kettle'"):
        load_product("kettle")
