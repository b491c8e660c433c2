"""A report as a list of blocks, rendered to Markdown and to one self-contained HTML page.

The report is built once as :class:`Heading`, :class:`Text`, :class:`Table`, :class:`Figure` and
:class:`Code` blocks; :func:`to_markdown` links images relative to the report folder and
:func:`to_html` embeds them as base64 ``data:`` URIs, so the HTML page needs no other file.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Image:
    """A PNG file inside the report folder."""

    path: Path
    alt: str


Cell = str | Image | None  # None renders as "n/a"


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Text:
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Figure:
    image: Image
    caption: str = ""


@dataclass
class Code:
    text: str


Block = Heading | Text | Table | Figure | Code


def is_png(path: Path) -> bool:
    """Whether ``path`` is a file starting with the PNG signature."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
    except OSError:
        return False


# ---------------------------------------------------------------------- Markdown
def _md_cell(cell: Cell, root: Path) -> str:
    if cell is None:
        return "n/a"
    if isinstance(cell, Image):
        return f"![{cell.alt}]({cell.path.relative_to(root).as_posix()})"
    return cell.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], root: Path) -> str:
    """Markdown text; image links are relative to ``root`` (the report folder)."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Text):
            parts.append(block.text)
        elif isinstance(block, Table):
            lines = ["| " + " | ".join(_md_cell(h, root) for h in block.header) + " |",
                     "|" + "---|" * len(block.header)]
            lines += ["| " + " | ".join(_md_cell(c, root) for c in row) + " |" for row in block.rows]
            parts.append("\n".join(lines))
        elif isinstance(block, Figure):
            parts.append(_md_cell(block.image, root) + (f"\n\n*{block.caption}*" if block.caption else ""))
        else:
            parts.append(f"```\n{block.text}\n```")
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------------- HTML
_STYLE = """body{font-family:sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse;margin:1em 0;font-size:0.85em}
th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee}img{max-width:100%;image-rendering:pixelated}
figure{margin:1em 0}pre{background:#f6f6f6;padding:1em;overflow-x:auto}"""


def _html_image(image: Image) -> str:
    data = base64.b64encode(image.path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(image.alt)}">'


def _html_cell(cell: Cell) -> str:
    if cell is None:
        return "n/a"
    if isinstance(cell, Image):
        return _html_image(cell)
    return html.escape(cell)


def to_html(blocks: list[Block], title: str) -> str:
    """One HTML page with every image embedded as a ``data:image/png;base64`` URI."""
    body = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Text):
            body.append(f"<p>{html.escape(block.text)}</p>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{_html_cell(h)}</th>" for h in block.header)
            rows = "".join("<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(block, Figure):
            caption = f"<figcaption>{html.escape(block.caption)}</figcaption>" if block.caption else ""
            body.append(f"<figure>{_html_image(block.image)}{caption}</figure>")
        else:
            body.append(f"<pre><code>{html.escape(block.text)}</code></pre>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
