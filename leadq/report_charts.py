"""Charts for the HTML report, drawn with matplotlib as inline SVG from aggregated numbers.

Every function takes counts that were aggregated beforehand (one bar per step, rule, group or
bin), so a chart's size does not grow with the number of leads. The SVG needs no script and
no font file, and the same numbers always give the same bytes.

matplotlib is imported inside the functions: it is an optional dependency (the `report`
extra), and importing it takes about half a second that runs without `--report` should not pay.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from leadq.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Colours that stay apart in greyscale print and for common colour blindness.
MAIN = "#1f5fa8"
MUTED = "#a9b4c2"
NEGATIVE = "#c4512d"
MARKER = "#d62728"

_STYLE: Any = {
    # text stays text: smaller than glyph outlines, selectable, and the page font applies
    "svg.fonttype": "none",
    # a fixed salt makes the element ids, and so the whole file, the same on every run
    "svg.hashsalt": "leadq",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.titlesize": 10,
}
# Without these keys, matplotlib writes its name, a date and RDF links into each SVG.
_NO_METADATA: dict[str, Any] = {"Creator": None, "Date": None, "Format": None, "Type": None}
_WIDTH_INCHES = 6.4
# tick labels as 1,000,000 rather than 1.0 with "1e6" at the axis end
_THOUSANDS = "{x:,.10g}"


def check_matplotlib() -> None:
    """Raise ConfigError with the install command when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        problem = (
            "--report needs the plotting library matplotlib, which is not installed; "
            "install it with: pip install 'leadq[report]'"
        )
        raise ConfigError("command line", [problem]) from None


def bar_chart(
    chart_id: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    value_labels: Sequence[str],
    highlight: Sequence[bool] | None = None,
    x_label: str = "",
) -> str:
    """Draw horizontal bars, first label on top, each bar labelled with its value.

    Bars of negative values are drawn in the NEGATIVE colour. `highlight` marks the bars to
    draw in the MAIN colour and the others in MUTED. Without it, every bar is in MAIN.
    """
    from matplotlib.figure import Figure

    marked = list(highlight) if highlight is not None else [True] * len(values)
    colours = [
        NEGATIVE if value < 0 else MAIN if mark else MUTED
        for value, mark in zip(values, marked, strict=True)
    ]
    height = 0.6 + 0.32 * max(len(labels), 1)
    with _style():
        figure = Figure(figsize=(_WIDTH_INCHES, height))
        axes = figure.subplots()
        positions = list(range(len(labels)))
        axes.barh(positions, values, color=colours, height=0.7)
        axes.set_yticks(positions, labels=[_shorten(label) for label in labels])
        axes.invert_yaxis()
        # every label starts right of its bar, or right of zero for a negative bar, so that
        # none runs into the category names on the left
        for position, value, text in zip(positions, values, value_labels, strict=True):
            axes.annotate(
                text,
                xy=(max(value, 0), position),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
            )
        axes.axvline(0, color="#555555", linewidth=0.8)
        axes.set_xlabel(x_label)
        axes.xaxis.set_major_formatter(_THOUSANDS)
        # room on the right for the value labels
        axes.margins(x=0.2)
        return _to_svg(figure, chart_id)


def histogram(
    chart_id: str,
    edges: Sequence[float],
    series: Sequence[tuple[str, Sequence[int], str]],
    *,
    marker: float | None = None,
    marker_label: str = "",
    x_label: str = "",
    y_label: str = "leads",
) -> str:
    """Draw stacked counts per bin; `series` is a list of (name, count per bin, colour).

    `edges` has one value more than each count list. `marker` draws a labelled vertical line,
    such as the MQL threshold.
    """
    from matplotlib.figure import Figure

    lefts = list(edges[:-1])
    widths = [right - left for left, right in itertools.pairwise(edges)]
    with _style():
        figure = Figure(figsize=(_WIDTH_INCHES, 2.8))
        axes = figure.subplots()
        bottoms = [0] * len(lefts)
        for name, counts, colour in series:
            axes.bar(
                lefts, counts, width=widths, bottom=bottoms, align="edge", color=colour, label=name
            )
            bottoms = [bottom + count for bottom, count in zip(bottoms, counts, strict=True)]
        if marker is not None:
            axes.axvline(marker, color=MARKER, linewidth=1.5, linestyle="--", label=marker_label)
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)
        axes.yaxis.set_major_formatter(_THOUSANDS)
        axes.legend(frameon=False, loc="upper right")
        return _to_svg(figure, chart_id)


def line_chart(
    chart_id: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    y_label: str = "",
) -> str:
    """Draw one line per (name, values) series over shared x labels, such as periods."""
    from matplotlib.figure import Figure

    with _style():
        figure = Figure(figsize=(_WIDTH_INCHES, 2.8))
        axes = figure.subplots()
        positions = list(range(len(x_labels)))
        for name, values in series:
            axes.plot(positions, values, marker="o", markersize=3, label=name)
        _thin_ticks(axes, x_labels)
        axes.set_ylabel(y_label)
        axes.yaxis.set_major_formatter(_THOUSANDS)
        if len(series) > 1:
            axes.legend(frameon=False)
        return _to_svg(figure, chart_id)


def _thin_ticks(axes: Axes, labels: Sequence[str]) -> None:
    # at most about 12 tick labels, so that long series stay readable
    step = max(1, -(-len(labels) // 12))
    positions = list(range(0, len(labels), step))
    axes.set_xticks(positions, labels=[labels[p] for p in positions])


def _shorten(label: str, width: int = 32) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


@contextlib.contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context():
        matplotlib.rcParams.update(_STYLE)
        yield


def _to_svg(figure: Figure, chart_id: str) -> str:
    """Return the figure as an `<svg>` element whose ids all start with `chart_id`.

    matplotlib names elements alike in every figure (`figure_1`, `axes_1`), so several charts
    in one page would share ids without the prefix.
    """
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata=_NO_METADATA, bbox_inches="tight")
    svg = buffer.getvalue()
    # the XML declaration and DOCTYPE are for standalone files, not for SVG inside HTML
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{chart_id}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{chart_id}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{chart_id}-\1"', svg)
    return svg.replace("<svg ", f'<svg role="img" aria-labelledby="{chart_id}-title" ', 1)
