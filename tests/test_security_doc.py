"""SECURITY.md names the tests behind each promise: every one of them must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r"^- (tests/[\w/]+\.py)::(\w+)", re.MULTILINE)


def test_every_test_named_in_security_md_exists() -> None:
    references = REFERENCE.findall((ROOT / "SECURITY.md").read_text(encoding="utf-8"))
    assert len(references) > 40
    missing = [
        f"{path}::{name}"
        for path, name in references
        if not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(encoding="utf-8"), re.MULTILINE)
    ]
    assert not missing, f"SECURITY.md names tests that do not exist: {missing}"
