"""MkDocs hooks: the protocol's vectors published beside SPEC.md, and repository links made site links.

The vectors live in ``firmware_protocol/vectors/`` (the package reads them from there), outside
the site's ``docs/`` folder; :func:`on_files` adds each JSON file to the site as
``protocol/vectors/NAME`` so the vectors page links to the very files the tests use.

Docstrings use Sphinx's roles (``:class:`~medctl.X```); mkdocstrings leaves the role's name in
front of the code, so :func:`on_page_content` drops it, and a ``~`` keeps only the last name, as
Sphinx shows it.

Files included as they are (SECURITY.md, SPEC.md) link to each other by their places in the
repository; :func:`on_page_markdown` points such links at the pages that render those files.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "firmware_protocol" / "vectors"

#: repository file -> the site page that renders it
RENDERED = {"firmware_protocol/SPEC.md": "protocol/spec.md", "SECURITY.md": "security.md"}
ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):(<code>)(~?)([^<]*)(</code>)")
LINK = re.compile(r"\]\(((?:\.\./)*)(" + "|".join(re.escape(path) for path in RENDERED) + r")(#[^)]*)?\)")


def on_files(files: Files, config: Any) -> Files:
    for path in sorted(VECTORS.glob("*.json")):
        files.append(File.generated(config, f"protocol/vectors/{path.name}", abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page: Page, config: Any, files: Files) -> str:
    here = posixpath.dirname(page.file.src_uri)

    def to_page(match: re.Match[str]) -> str:
        target = posixpath.relpath(RENDERED[match.group(2)], here or ".")
        return f"]({target}{match.group(3) or ''})"

    return LINK.sub(to_page, markdown)


def on_page_content(html: str, page: Page, config: Any, files: Files) -> str:
    def plain(match: re.Match[str]) -> str:
        name = match.group(3).rsplit(".", 1)[-1] if match.group(2) else match.group(3)
        return f"{match.group(1)}{name}{match.group(4)}"

    return ROLE.sub(plain, html)
