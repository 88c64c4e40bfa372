"""The self-contained HTML report: a page of sections, each with tables and inline SVG charts.

A report is a title and a list of `Section`s, rendered into one HTML file
that loads nothing from the network: styles are inline and charts are inline SVG. Each kind
of run builds its own sections (`report_scoring.scoring_sections` for `leadq score`) and
passes them to `render_report`.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from leadq import __version__
from leadq.errors import ConfigError
from leadq.report_charts import check_matplotlib


@dataclass(frozen=True)
class Cell:
    """A table cell: its text and, for numbers taken from summary.json, their key path.

    The key path (such as `leads.fit` or `rules[2].points`) lands in a `data-summary`
    attribute, so that a test can compare the shown number with summary.json.
    """

    text: str
    summary_key: str | None = None
    is_number: bool = True


@dataclass(frozen=True)
class Section:
    """One part of the report, shown under its title and listed in the contents."""

    anchor: str
    """The HTML id: lower-case letters, digits and hyphens."""
    title: str
    body: str
    """HTML built with `paragraph`, `table` and `figure`, which escape all text they get."""


def count(value: int) -> str:
    """Format a count with thousands separators, as the terminal summary does."""
    return f"{value:,}"


def points(value: float) -> str:
    """Format points with 2 decimals, as scores are written in the outputs."""
    return f"{value:,.2f}"


def percent(part: float, whole: float) -> str:
    """Format `part` as a share of `whole`, or "n/a" when `whole` is 0."""
    return f"{part / whole:.1%}" if whole else "n/a"


def paragraph(text: str) -> str:
    """Return `text` as an escaped paragraph."""
    return f"<p>{html.escape(text)}</p>"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell | str]],
    *,
    caption: str = "",
    css_class: str = "",
) -> str:
    """Return an HTML table; plain strings are text cells, `Cell`s are numbers by default."""
    head = "".join(f"<th>{html.escape(header)}</th>" for header in headers)
    body = "\n".join(f"<tr>{''.join(_cell(cell) for cell in row)}</tr>" for row in rows)
    caption_html = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    class_html = f' class="{html.escape(css_class)}"' if css_class else ""
    return (
        f"<table{class_html}>{caption_html}<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody></table>"
    )


def _cell(cell: Cell | str) -> str:
    if isinstance(cell, str):
        return f"<td>{html.escape(cell)}</td>"
    attributes = ' class="num"' if cell.is_number else ""
    if cell.summary_key:
        attributes += f' data-summary="{html.escape(cell.summary_key)}"'
    return f"<td{attributes}>{html.escape(cell.text)}</td>"


def figure(chart_id: str, svg: str, caption: str) -> str:
    """Wrap a chart from `report_charts` with its caption, which also names it for readers."""
    return (
        f'<figure class="chart" id="{html.escape(chart_id)}">{svg}'
        f'<figcaption id="{html.escape(chart_id)}-title">{html.escape(caption)}</figcaption>'
        "</figure>"
    )


def facts_list(facts: Sequence[tuple[str, str]]) -> str:
    """Return (label, value) pairs as a definition list."""
    items = "".join(
        f"<dt>{html.escape(label)}</dt><dd>{html.escape(value)}</dd>" for label, value in facts
    )
    return f'<dl class="facts">{items}</dl>'


def render_report(title: str, sections: Sequence[Section]) -> str:
    """Return the whole HTML page with a contents list and every section in order."""
    template = Template(
        resources.files("leadq").joinpath("templates", "report.html").read_text(encoding="utf-8")
    )
    contents = "".join(
        f'<li><a href="#{html.escape(s.anchor)}">{html.escape(s.title)}</a></li>' for s in sections
    )
    body = "\n".join(
        f'<section id="{html.escape(s.anchor)}">\n<h2>{html.escape(s.title)}</h2>\n'
        f"{s.body}\n</section>"
        for s in sections
    )
    return template.substitute(
        title=html.escape(title),
        contents=contents,
        sections=body,
        version=html.escape(__version__),
    )


def check_report_target(path: Path) -> None:
    """Raise ConfigError unless a report can be drawn and written to `path`.

    Called before a run starts, so that a long run does not fail only at its end.
    """
    check_matplotlib()
    if path.is_dir():
        problem = f"--report {path} is a folder; give a file name such as report.html"
        raise ConfigError("command line", [problem])
    if not path.parent.is_dir():
        problem = f"--report {path}: the folder {path.parent} does not exist; create it first"
        raise ConfigError("command line", [problem])


def write_report(path: Path, page: str) -> None:
    """Write the page to `path` in one step, so that a reader never sees half a report.

    Raises ConfigError when the file cannot be written.
    """
    # a plain open() gives the file the user's usual permissions, unlike tempfile's 0600
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(page, encoding="utf-8", newline="\n")
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise _unwritable(path, error) from None


def _unwritable(path: Path, error: OSError) -> ConfigError:
    problem = f"--report {path}: the report cannot be written: {error.strerror or error}"
    return ConfigError("command line", [problem])
