"""Report charts: matplotlib figures built from a `ShiftReport` (no Qt, no database).

Figures are made with `matplotlib.figure.Figure` directly (never `pyplot`), so they
can be drawn on any thread: the GUI renders them in a worker and turns the PNG bytes
into a QImage; the PDF writer puts the same figures on its pages.

Colours are Okabe-Ito (colour-blind safe), the same values as `app.theme`, and every
bar carries its count as text, so nothing depends on colour alone.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

    from db.dto import ShiftReport

# Okabe & Ito (2008); app.theme holds the same values (it imports Qt, this must not).
BLUE = "#0072B2"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
SKY_BLUE = "#56B4E9"
GREY = "#6B6B6B"

PARETO_MAX_BARS = 10
DEFAULT_SIZE = (6.0, 3.4)
DEFAULT_DPI = 100

CHART_NAMES = ("pareto_by_code", "pareto_by_refdes", "calls")

# matplotlib settings for charts shown on the dark theme (the PDF is always light).
DARK_RC: dict[str, object] = {
    "figure.facecolor": "#1E1F22",
    "axes.facecolor": "#1E1F22",
    "savefig.facecolor": "#1E1F22",
    "axes.edgecolor": "#A0A4AB",
    "axes.labelcolor": "#E6E6E6",
    "axes.titlecolor": "#E6E6E6",
    "text.color": "#E6E6E6",
    "xtick.color": "#C8CBD0",
    "ytick.color": "#C8CBD0",
}


def _top(items: Sequence[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    """The `limit - 1` largest items plus an `other` bar when there are more."""
    ordered = sorted(items, key=lambda kv: (-kv[1], kv[0]))
    if len(ordered) <= limit:
        return ordered
    head, tail = ordered[: limit - 1], ordered[limit - 1 :]
    return [*head, (f"other ({len(tail)})", sum(n for _k, n in tail))]


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", color=GREY, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def draw_pareto(
    ax: Axes,
    items: Sequence[tuple[str, int]],
    title: str,
    *,
    colour: str = VERMILLION,
) -> None:
    """Draw a Pareto chart into `ax`: bars by count, largest first, and the
    cumulative share on a second axis.

    Args:
        ax: the axes to draw into.
        items: (label, count) pairs, any order.
        title: the chart title.
        colour: bar colour.
    """
    ax.set_title(title, fontsize=11, loc="left")
    rows = _top(items, PARETO_MAX_BARS)
    total = sum(n for _k, n in rows)
    if not rows or total == 0:
        _empty(ax, "no confirmed defects in this period")
        return
    labels = [k.replace("_", " ") for k, _n in rows]
    counts = [n for _k, n in rows]
    xs = list(range(len(rows)))
    bars = ax.bar(xs, counts, color=colour, width=0.7)
    ax.bar_label(bars, labels=[str(n) for n in counts], padding=2, fontsize=8)
    rotation = 30 if len(rows) > 3 else 0
    ax.set_xticks(
        xs, labels, rotation=rotation, ha="right" if rotation else "center", fontsize=8
    )
    ax.set_ylabel("count", fontsize=9)
    ax.set_ylim(0, max(counts) * 1.18)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.tick_params(axis="y", labelsize=8)
    running, cumulative = 0, []
    for n in counts:
        running += n
        cumulative.append(100.0 * running / total)
    ax2 = ax.twinx()
    ax2.plot(xs, cumulative, color=BLUE, marker="o", markersize=3, linewidth=1.2)
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("cumulative %", fontsize=9, color=BLUE)
    ax2.tick_params(axis="y", labelsize=8, colors=BLUE)
    for a in (ax, ax2):
        a.spines["top"].set_visible(False)


def draw_calls(ax: Axes, report: ShiftReport) -> None:
    """Draw horizontal bars into `ax`: calls and their outcomes (confirmed, false
    call, process indicator, skipped, not resolved yet)."""
    ax.set_title("Calls and their outcome", fontsize=11, loc="left")
    rows = [
        ("calls", report.calls, ORANGE),
        ("confirmed defects", report.confirmed_defects, VERMILLION),
        ("false calls", report.false_calls, BLUE),
        ("process indicators", report.process_indicators, SKY_BLUE),
        ("skipped", report.skipped, GREY),
        ("not resolved yet", report.pending_calls, GREY),
    ]
    if report.calls == 0 and report.confirmed_defects == 0:
        _empty(ax, "no calls in this period")
        return
    ys = list(range(len(rows)))[::-1]
    counts = [n for _l, n, _c in rows]
    bars = ax.barh(ys, counts, color=[c for _l, _n, c in rows])
    ax.bar_label(bars, labels=[str(n) for n in counts], padding=3, fontsize=8)
    ax.set_yticks(ys, [label for label, _n, _c in rows], fontsize=8)
    ax.set_xlim(0, max(*counts, 1) * 1.15)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)


def _figure(size: tuple[float, float], dpi: int) -> tuple[Figure, Axes]:
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    return fig, fig.add_subplot()


def pareto_figure(
    items: Sequence[tuple[str, int]],
    title: str,
    *,
    colour: str = VERMILLION,
    size: tuple[float, float] = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Figure:
    """A figure holding one Pareto chart (`draw_pareto`)."""
    fig, ax = _figure(size, dpi)
    draw_pareto(ax, items, title, colour=colour)
    return fig


def calls_figure(
    report: ShiftReport,
    *,
    size: tuple[float, float] = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Figure:
    """A figure holding the calls chart (`draw_calls`)."""
    fig, ax = _figure(size, dpi)
    draw_calls(ax, report)
    return fig


def report_figures(
    report: ShiftReport,
    *,
    size: tuple[float, float] = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> dict[str, Figure]:
    """The report's charts by name (`CHART_NAMES`)."""
    return {
        "pareto_by_code": pareto_figure(
            report.pareto_by_code,
            "Confirmed defects by defect code",
            size=size,
            dpi=dpi,
        ),
        "pareto_by_refdes": pareto_figure(
            report.pareto_by_refdes,
            "Confirmed defects by reference designator",
            colour=ORANGE,
            size=size,
            dpi=dpi,
        ),
        "calls": calls_figure(report, size=size, dpi=dpi),
    }


def figure_png(fig: Figure) -> bytes:
    """Render a figure to PNG bytes (Agg; safe off the GUI thread)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def chart_pngs(
    report: ShiftReport,
    *,
    size: tuple[float, float] = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
    theme: str = "light",
) -> dict[str, bytes]:
    """Every chart of the report as PNG bytes, by name (`CHART_NAMES`).

    Args:
        report: the report.
        size: figure size in inches.
        dpi: resolution.
        theme: `light` or `dark` (dark background, light text).

    Returns:
        PNG bytes by chart name.
    """
    import matplotlib

    rc = DARK_RC if theme == "dark" else {}
    with matplotlib.rc_context(rc):
        return {
            name: figure_png(fig)
            for name, fig in report_figures(report, size=size, dpi=dpi).items()
        }
