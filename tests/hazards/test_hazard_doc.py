"""docs/hazards.md names real tests: every ``tests/…py::name`` in it exists, every row
has tests, and every hazard row has at least one test in tests/hazards/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "hazards.md"
NODE = re.compile(r"(tests/[\w/]+\.py)::([\w:]+)")
ROW = re.compile(r"^\| (H\d+) \|", re.MULTILINE)
SECTION = re.compile(r"^### (H\d+) ", re.MULTILINE)


def collected(path: Path) -> set[str]:
    """``name`` and ``Class::name`` of every test function in *path*."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test"):
                    names.add(f"{node.name}::{item.name}")
    return names


def sections(text: str) -> dict[str, str]:
    starts = [(m.group(1), m.start()) for m in SECTION.finditer(text)]
    ends = [start for _, start in starts[1:]] + [text.find("\n## ", starts[-1][1]) if starts else len(text)]
    return {name: text[start:end] for (name, start), end in zip(starts, ends, strict=True)}


def test_every_test_named_in_the_hazard_analysis_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = NODE.findall(text)
    assert len(named) > 20
    missing = []
    for path, name in named:
        file = ROOT / path
        if not file.is_file() or name not in collected(file):
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/hazards.md names tests that do not exist: {missing}"


def test_every_hazard_row_has_tests_and_one_in_tests_hazards() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = ROW.findall(text)
    assert rows == [f"H{n}" for n in range(1, 9)]
    found = sections(text)
    assert sorted(found) == sorted(rows)
    for row in rows:
        nodes = NODE.findall(found[row])
        assert any(path.startswith("tests/hazards/") for path, _ in nodes), f"{row} has no test in tests/hazards/"


def test_every_hazard_test_module_is_cited() -> None:
    cited = {path for path, _ in NODE.findall(DOC.read_text(encoding="utf-8"))}
    modules = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "tests" / "hazards").glob("test_*.py")
        if p.name != Path(__file__).name
    }
    assert modules <= cited, f"not in docs/hazards.md: {sorted(modules - cited)}"
