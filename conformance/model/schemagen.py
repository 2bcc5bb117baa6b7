"""`conformance schemas`: API reference pages in, one committed JSON Schema document per operation out."""

from __future__ import annotations

from pathlib import Path

from conformance.model.operations import document_filename, render_document
from conformance.model.pages import parse_pages


def generate(docs: Path) -> dict[str, str]:
    """The schema documents the pages at `docs` yield, as file name -> exact text."""
    return {document_filename(op): render_document(op) for op in parse_pages(docs)}


def write(docs: Path, out: Path) -> list[Path]:
    """Write the documents under `out` (created if needed); returns the paths written."""
    documents = generate(docs)  # parse everything first: a bad page must not leave a half-written folder
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in documents.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def differences(docs: Path, out: Path) -> list[str]:
    """How `out` differs from what `docs` yields: one line per missing, stale or extra document."""
    expected = generate(docs)
    found = {path.name: path for path in sorted(out.glob("*.json"))} if out.is_dir() else {}
    lines = []
    for name, text in expected.items():
        if name not in found:
            lines.append(f"{out / name}: missing")
        elif found[name].read_text(encoding="utf-8") != text:
            lines.append(f"{out / name}: differs from what the pages yield")
    lines.extend(f"{found[name]}: no page documents it" for name in found if name not in expected)
    return lines
