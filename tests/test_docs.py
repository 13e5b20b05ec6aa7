"""The documentation site's promises: every public name in the API reference explains itself, and
every Python example on the site is a file in ``examples/`` that a test runs.

The site itself is built with ``mkdocs build --strict`` in CI (.ci/run), which fails on a broken link
or reference; these checks need no documentation tools, so they run with the rest of the suite.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import shlex
from pathlib import Path
from types import ModuleType

import pytest

from medctl.cli import build_parser, with_default_command
from medctl.pytest_plugin import MedctlFixtures

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

#: The modules the API reference renders (docs/reference/*.md).
REFERENCED = ("medctl", "medctl.session", "medctl.devices", "firmware_protocol", "firmware_protocol.vectors",
              "simulator", "medctl.pytest_plugin", "medctl.harness")



def public_names(module: ModuleType) -> list[str]:
    """``__all__``, or else the module's own public classes and functions (not what it imports)."""
    exported = getattr(module, "__all__", None)
    if exported is not None:
        return [name for name in exported if not name.startswith("_")]
    return [
        name for name, value in vars(module).items()
        if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    ]


def own_docstring(value: object) -> str | None:
    """The object's own docstring: not one inherited, nor the signature a dataclass writes for itself."""
    doc = vars(value).get("__doc__") if inspect.isclass(value) else getattr(value, "__doc__", None)
    if inspect.isclass(value) and doc and doc.startswith(f"{value.__name__}("):
        return None  # dataclasses.dataclass fills an empty docstring with the signature
    return doc.strip() if doc else None


def undocumented() -> set[str]:
    missing = set()
    for module_name in REFERENCED:
        module = importlib.import_module(module_name)
        for name in public_names(module):
            value = getattr(module, name)
            if (inspect.isclass(value) or inspect.isfunction(value)) and not own_docstring(value):
                missing.add(f"{module_name}.{name}")
    return missing


def test_every_public_class_and_function_in_the_reference_has_a_docstring() -> None:
    missing = undocumented()
    new = sorted(missing)
    assert not new, f"public names without a docstring (the API reference renders them): {new}"


def test_every_pytest_fixture_is_described_in_the_plugin_docstring() -> None:
    import medctl.pytest_plugin as plugin

    fixtures = [name for name in vars(MedctlFixtures) if name.startswith("medctl_")]
    assert fixtures
    assert plugin.__doc__ is not None
    assert [name for name in fixtures if f"``{name}``" not in plugin.__doc__] == []


FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
SNIPPET = re.compile(r'^--8<-- "(examples/[\w/]+\.py)"$')
#: Pages written by hand elsewhere in docs/ (not the site's own pages); their code is checked by their owners' tests.
NOT_SITE_PAGES = {"adding-a-driver.md", "architecture.md", "hazards.md", "fault-matrix.md"}


def site_pages() -> list[Path]:
    return sorted(path for path in DOCS.rglob("*.md") if path.relative_to(DOCS).as_posix() not in NOT_SITE_PAGES)


def included_examples() -> dict[str, list[str]]:
    """Each site page's Python examples: the ``examples/`` files its python blocks include."""
    found: dict[str, list[str]] = {}
    for page in site_pages():
        for block in FENCE.findall(page.read_text(encoding="utf-8")):
            lines = block.strip().splitlines()
            match = SNIPPET.match(lines[0]) if len(lines) == 1 else None
            assert match, f"{page.relative_to(ROOT)}: a python block that is not an included example:\n{block}"
            found.setdefault(page.relative_to(DOCS).as_posix(), []).append(match.group(1))
    return found


def test_every_python_block_on_the_site_is_an_example_a_test_runs() -> None:
    found = included_examples()
    assert found, "no page includes an example"
    tests = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "tests").glob("test_*.py"))
    for page, examples in found.items():
        for example in examples:
            path = ROOT / example
            assert path.is_file(), f"{page} includes {example}, which does not exist"
            stem = path.stem
            runs = f'load("{stem}")' in tests or f"{stem}.py" in tests
            assert runs, f"{page} includes {example}, which no test in tests/ runs"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.looptime
async def test_raw_door_example(capsys: pytest.CaptureFixture[str]) -> None:
    status = await load("raw_door").main("sim://")
    assert (status.running, status.intensity, status.heat) == (True, 3, 1)
    assert "running at 3, heat 1" in capsys.readouterr().out


def test_check_vectors_example_finds_every_vector_passing(capsys: pytest.CaptureFixture[str]) -> None:
    assert load("check_vectors").main() == 0
    out = capsys.readouterr().out
    assert re.fullmatch(r"(\d+) of \1 frame vectors pass\n", out), out


SHELL_FENCE = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def documented_command_lines() -> list[tuple[str, list[str]]]:
    """Every ``medctl ...`` line of a shell block on the site's pages and in the README, as argv."""
    found = []
    for page in [*site_pages(), ROOT / "README.md"]:
        for block in SHELL_FENCE.findall(page.read_text(encoding="utf-8")):
            for line in block.splitlines():
                words = shlex.split(line, comments=True)
                for start, word in enumerate(words):
                    if word in ("medctl", ".venv/bin/medctl"):
                        found.append((page.relative_to(ROOT).as_posix(), words[start + 1:]))
                        break
    return found


def test_every_documented_command_line_parses() -> None:
    """The command lines the docs show are accepted by the command as it is now (none is run)."""
    lines = documented_command_lines()
    assert len(lines) > 20
    for page, argv in lines:
        if argv in ([], ["--version"]):
            continue
        try:
            build_parser().parse_args(with_default_command(argv))
        except SystemExit as exit_:
            pytest.fail(f"{page}: `medctl {shlex.join(argv)}` is refused (exit {exit_.code})")
