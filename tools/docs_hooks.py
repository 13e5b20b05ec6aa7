"""MkDocs hooks: the protocol's vectors published beside SPEC.md, and repository links made site links.

The vectors live in ``firmware_protocol/vectors/`` (the package reads them from there), outside
the site's ``docs/`` folder; :func:`on_files` adds each JSON file to the site as
``protocol/vectors/NAME`` so the vectors page links to the very files the tests use.

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
