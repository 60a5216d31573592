"""Pictures of learning-rate curves: in the terminal (plotext) and as PNG files (matplotlib).

Both libraries are the optional ``viz`` extra. They are imported when a function here is
called, so this module imports without them; each function raises ``ImportError`` if its
library is missing. Matplotlib is used through its object API (``Figure`` rendered by Agg),
which leaves pyplot's global state and the process's backend alone.

Every picture labels its values in one format (:mod:`.labels`), on a linear or, with
``log_scale``, a logarithmic axis (where values of 0 are not drawn), and keeps its legend off
the curves: right of the axes in a PNG, below the plot in the terminal.
"""

from __future__ import annotations

import math
import shutil
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hydra_optax_schedules.viewer.labels import (
    count_labels,
    format_numbers,
    step_labels,
    tick_labels,
)
from hydra_optax_schedules.viewer.summary import Summary
from hydra_optax_schedules.viewer.table import LR_COLUMN, Table, column_name

if TYPE_CHECKING:  # matplotlib is the optional viz extra: imported when a picture is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "INSTALL_HINT",
    "axis_label",
    "comparison_figure",
    "missing_hint",
    "panel_title",
    "save_comparison_png",
    "save_schedule_png",
    "schedule_figure",
    "stats_line",
    "terminal_plot",
]

INSTALL_HINT = 'pip install "hydra-optax-schedules[viz]"'

_FIGURE_SIZE = (8.0, 4.5)  # inches; at _DPI, a 1200 x 675 pixel image
_DPI = 150
_TITLE_WIDTH = 90  # characters per line of a title, before it wraps
_LEGEND_ROW = 0.22  # inches per line of a legend below a panel
#: A log axis shows values down to this fraction of the smallest curve's peak.
_LOG_DEPTH = 1e-4
#: The shade of each kind of phase; a composed main phase's pieces (``"cycle 2"``, ``"stage
#: 0"``, ``"milestone 1"``) take their kind's, alternately lighter and darker.
_PHASE_COLORS = {
    "warmup": "tab:orange",
    "rewarmup": "tab:orange",
    "main": "tab:green",
    "cycle": "tab:green",
    "milestone": "tab:green",
    "stage": "tab:green",
    "cooldown": "tab:purple",
}


#: A terminal plot draws each of several curves with its own marker, named below the plot.
_MARKERS = ("•", "+", "x", "o", "*", "#", "%", "@", "=", "~")


def axis_label(column: str) -> str:
    """The y-axis label of a ``schedule.csv`` column: ``lr`` is the learning rate."""
    return "learning rate" if column == LR_COLUMN else column


def panel_title(summary: Summary) -> str:
    """What a schedule's panel shows, then its family: ``learning rate (cosine)``, or for a
    schedule at another key, that key: ``wd_schedule (linear)``."""
    return f"{axis_label(column_name(summary.key))} ({summary.name})"


def stats_line(summary: Summary) -> str:
    """The peak, final and mean value of a schedule, in one line and one number format."""
    peak, final, mean = format_numbers([summary.peak, summary.final, summary.mean.value])
    return f"peak {peak} at step {summary.peak_step} · final {final} · mean {mean}"


def missing_hint(errors: Sequence[ImportError]) -> str:
    """One line: which plotting libraries are missing, and how to install them."""
    names = dict.fromkeys(error.name or str(error) for error in errors)
    return f"plots skipped (missing {', '.join(names)}); to get them: {INSTALL_HINT}"


def terminal_plot(
    curves: Sequence[tuple[str, Table]],
    title: str,
    *,
    boundaries: Sequence[int] = (),
    color: bool = True,
    log_scale: bool = False,
) -> str:
    """The curves drawn with plotext, as text ready to print; several curves are drawn each
    with its own marker and named below the plot, so that no legend covers them and they
    tell apart without colors too.

    Args:
        curves: ``(label, curve)`` pairs; a single curve may have an empty label.
        title: The plot's title.
        boundaries: Steps to mark with vertical lines (phase boundaries).
        color: Use ANSI colors (turn off when the output is not a terminal).
        log_scale: Draw ``log10`` of the values, ticked at powers of ten; values below
            :data:`_LOG_DEPTH` times the lowest curve's peak (0 among them) are left out.
    """
    import plotext

    columns, _ = shutil.get_terminal_size((100, 24))
    width, height = max(40, min(columns, 100)), 20
    figure = plotext.figure
    figure.clear()
    last_step = max(int(curve.steps[-1]) for _, curve in curves)
    peak = max(float(curve.values.max()) for _, curve in curves)
    scale = _scale(peak)
    several = len(curves) > 1
    legend = []
    lowest = math.inf
    peaks = [float(curve.values.max()) / scale for _, curve in curves]
    depth = min((p for p in peaks if p > 0), default=1.0) * _LOG_DEPTH
    for number, (label, curve) in enumerate(curves):
        keep = _thin(curve, points=4 * width, keep=boundaries)
        steps, values = curve.steps[keep], curve.values[keep] / scale
        if log_scale:
            shown = values >= depth
            steps, values = steps[shown], np.log10(values[shown])
            lowest = min(lowest, float(values.min(initial=math.inf)))
        marker = _MARKERS[number % len(_MARKERS)] if several else "braille"
        signal = figure.signal(steps.tolist(), values.tolist(), marker=marker)
        signal.lines()
        figure.draw(signal)
        if several:
            legend.append(f"  {marker} {label}")
    for step in boundaries:
        figure.line(step, orientation="vertical")
    x_ticks = sorted({last_step * k // 4 for k in range(5)})
    figure.ruler("x").ticks(x_ticks, step_labels([float(step) for step in x_ticks]))
    if log_scale:
        top = math.log10(peak / scale) if peak > 0 else 0.0
        low = math.floor(lowest) if math.isfinite(lowest) else math.floor(top) - 1
        y_ticks = [float(k) for k in range(low, math.floor(top) + 1)] or [float(math.floor(top))]
        shown_ticks = [10.0**k * scale for k in y_ticks]
    else:
        y_ticks = [peak / scale * k / 4 for k in range(5)] if peak > 0 else [0.0]
        shown_ticks = [value * scale for value in y_ticks]
    figure.ruler("y").ticks(y_ticks, tick_labels(shown_ticks))
    figure.title(title if len(title) < width else title[: width - 2] + "…")
    figure.label("step", axis="x")
    figure.plot_size(width, height)
    text = str(figure.build().string(colorless=not color))
    return "\n".join([text, *legend])


def _scale(peak: float) -> float:
    """A power of ten near ``peak``: curves are drawn divided by it, so that no computation of
    the plotting libraries (ranges, margins) overflows near the largest float."""
    if not 0 < peak < math.inf:
        return 1.0
    return 10.0 ** math.floor(math.log10(peak))


def _thin(curve: Table, points: int, keep: Sequence[int]) -> np.ndarray:
    """Indices of the samples nearest ``points`` evenly spread steps, and of the ``keep`` steps.

    A terminal has room for a few hundred points; the first and last step are always kept.
    """
    steps = curve.steps
    last = int(steps[-1])
    targets = [last * k // (points - 1) for k in range(points)] + [
        step for step in keep if 0 <= step <= last
    ]
    indices = np.searchsorted(steps, np.asarray(targets, dtype=np.int64)).clip(0, len(steps) - 1)
    return np.unique(indices)


def _new_axes(
    figure: Figure,
    title: str,
    position: int,
    count: int,
    *,
    ylabel: str,
    scale: float,
    log_scale: bool,
) -> Axes:
    """Axes ``position`` of ``count`` stacked in ``figure``, labelled for a schedule's curve;
    its ticks (values times ``scale``) in one format (:func:`.labels.tick_labels`)."""
    from matplotlib.ticker import NullFormatter

    axes = figure.add_subplot(count, 1, position)
    axes.set_title(title, fontsize="medium")
    axes.set_ylabel(ylabel)
    if log_scale:
        axes.set_yscale("log")
        axes.yaxis.set_minor_formatter(NullFormatter())
    axes.yaxis.set_major_formatter(_one_format(tick_labels, scale))
    axes.xaxis.set_major_formatter(_one_format(step_labels, 1.0))
    axes.grid(alpha=0.3)
    return axes


#: The dash patterns of the curves drawn on one axes, in turn.
_DASHES = ("-", (0, (6, 3)), (0, (2, 2)), (0, (6, 2, 1, 2)))


def curve_style(index: int) -> dict[str, Any]:
    """The line of the ``index``-th curve drawn on one axes: its own dash pattern, and
    thinner than the first, so that a curve drawn over an equal one leaves it seen (groups
    and sweep jobs with the same schedule)."""
    return {"linestyle": _DASHES[index % len(_DASHES)], "linewidth": 2.0 if index == 0 else 1.5}


def _one_format(format_all: Callable[[list[float]], list[str]], factor: float) -> Any:
    """A matplotlib formatter that labels every major tick of an axis (its value times
    ``factor``) at once with ``format_all``: one notation and number of decimals, and each
    label the whole number (never matplotlib's multiplier or offset at the axis' end)."""
    from matplotlib.ticker import Formatter

    class OneFormat(Formatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return format_all([float(x) * factor])[0]

        def format_ticks(self, values: Sequence[float]) -> list[str]:
            return format_all([float(value) * factor for value in values])

    return OneFormat()


def _figure(panels: int, legend_rows: int = 0) -> Figure:
    """A figure with room for ``panels`` stacked axes and ``legend_rows`` lines of legend
    below each."""
    from matplotlib.figure import Figure

    width, height = _FIGURE_SIZE
    panel_height = height + legend_rows * _LEGEND_ROW
    size = (width, panel_height + (panels - 1) * panel_height * 0.7)
    return Figure(figsize=size, layout="constrained")


def _limits(axes: Axes, peaks: Sequence[float], lowest: float, log_scale: bool) -> None:
    """The y range of a panel, in its scaled units: from 0 to just above the highest of the
    curves' ``peaks``; on a log axis, from the ``lowest`` positive value, but not below
    :data:`_LOG_DEPTH` times the lowest peak."""
    peak = max(peaks)
    if not log_scale:
        axes.set_ylim(0, peak * 1.05 if peak > 0 else 1.0)
        return
    positive = [value for value in peaks if value > 0]
    if positive and math.isfinite(lowest):
        axes.set_ylim(max(lowest, min(positive) * _LOG_DEPTH) / 1.5, peak * 1.5)


def _legend_outside(axes: Axes, **options: object) -> None:
    """The panel's legend right of its axes, where it covers no curve (the constrained
    layout makes room for it)."""
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **options)


def schedule_figure(
    panels: Sequence[tuple[str, Table, Summary]],
    title: str,
    *,
    log_scale: bool = False,
    unit_axis: tuple[str, Callable[[Any], Any], Callable[[Any], Any]] | None = None,
) -> Figure:
    """Schedules drawn one panel each, phases shaded and named, peak, final and mean below
    each panel's title.

    Args:
        panels: ``(y-axis label, curve, summary)`` of each schedule, drawn top to bottom.
        title: The figure's title (the run's overrides).
        log_scale: Draw the values on a logarithmic axis.
        unit_axis: ``(unit, steps -> count, count -> steps)``: a second x axis, on top of
            the first panel, in the unit the run counts (docs/units.md).
    """
    figure = _figure(len(panels))
    for position, (ylabel, curve, summary) in enumerate(panels, start=1):
        scale = _scale(summary.peak)
        heading = panel_title(summary)
        if len(panels) == 1:
            heading = f"{heading}: {title}"
        panel = textwrap.fill(heading, _TITLE_WIDTH) + "\n" + stats_line(summary)
        axes = _new_axes(
            figure,
            panel,
            position,
            len(panels),
            ylabel=ylabel,
            scale=scale,
            log_scale=log_scale,
        )
        values = curve.values / scale
        axes.plot(curve.steps, values, linewidth=2)
        # One artist for all boundaries and one per shade of each kind of phase, so a schedule
        # of 10000 pieces draws as fast as one of three (an artist each took 28 s).
        spans_x = axes.get_xaxis_transform()  # x in steps, y from the bottom (0) to the top (1)
        axes.vlines(
            summary.boundaries, 0, 1, transform=spans_x, colors="0.5", linestyles="--", linewidths=1
        )
        shades: dict[tuple[str, float], list[tuple[int, int]]] = {}
        previous, alpha = None, 0.24
        for row in summary.phases:
            kind = row.kind
            color = _PHASE_COLORS.get(kind, "tab:gray")
            # Neighbours of one colour alternate light and dark, so each piece stands apart.
            alpha = 0.36 - alpha if color == previous else 0.12
            previous = color
            shades.setdefault((kind, alpha), []).append((row.first, row.end - row.first))
        labelled: set[str] = set()
        for (kind, alpha), spans in shades.items():
            label = "_nolegend_" if kind in labelled else kind  # one legend entry per kind
            labelled.add(kind)
            color = _PHASE_COLORS.get(kind, "tab:gray")
            axes.broken_barh(
                spans, (0, 1), transform=spans_x, color=color, alpha=alpha, linewidth=0, label=label
            )
        _legend_outside(axes, fontsize="small", title="phase", title_fontsize="small")
        axes.set_xlim(0, summary.steps)
        lowest = float(values[values > 0].min(initial=math.inf))
        _limits(axes, [summary.peak / scale], lowest, log_scale)
    axes.set_xlabel("step")
    if unit_axis is not None:
        unit, forward, inverse = unit_axis
        top = figure.axes[0].secondary_xaxis("top", functions=(forward, inverse))
        top.set_xlabel(unit)
        # Each tick its whole number (a count in the billions, as the steps), or its decimals.
        top.xaxis.set_major_formatter(_one_format(count_labels, 1.0))
    if len(panels) > 1:
        figure.suptitle(textwrap.fill(title, _TITLE_WIDTH), fontsize="medium")
    return figure


def save_schedule_png(
    panels: Sequence[tuple[str, Table, Summary]],
    title: str,
    path: Path,
    *,
    log_scale: bool = False,
    unit_axis: tuple[str, Callable[[Any], Any], Callable[[Any], Any]] | None = None,
) -> None:
    """Draw :func:`schedule_figure` into the PNG file ``path``."""
    figure = schedule_figure(panels, title, log_scale=log_scale, unit_axis=unit_axis)
    figure.savefig(path, dpi=_DPI)


def comparison_figure(
    runs: Sequence[tuple[str, Mapping[str, Table]]], title: str, *, log_scale: bool = False
) -> Figure:
    """The runs' curves overlaid, one panel per column, each named in a legend below it.

    Args:
        runs: ``(label, {column: curve})`` of each run; a column is drawn in its own panel,
            with every run that has it.
        title: The figure's title.
        log_scale: Draw the values on a logarithmic axis.
    """
    columns = list(dict.fromkeys(column for _, curves in runs for column in curves))
    legend_columns = 1 if len(runs) < 6 else 2
    figure = _figure(len(columns), legend_rows=-(-len(runs) // legend_columns))
    for position, column in enumerate(columns, start=1):
        drawn = [(label, curves[column]) for label, curves in runs if column in curves]
        peak = max(float(curve.values.max()) for _, curve in drawn)
        scale = _scale(peak)
        ylabel = axis_label(column)
        panel = textwrap.fill(title, _TITLE_WIDTH) if len(columns) == 1 else ylabel
        axes = _new_axes(
            figure,
            panel,
            position,
            len(columns),
            ylabel=ylabel,
            scale=scale,
            log_scale=log_scale,
        )
        lowest, peaks = math.inf, []
        for index, (label, curve) in enumerate(drawn):
            values = curve.values / scale
            lowest = min(lowest, float(values[values > 0].min(initial=math.inf)))
            peaks.append(float(values.max()))
            axes.plot(curve.steps, values, label=label, **curve_style(index))
        axes.set_xlim(0, max(int(curve.steps[-1]) for _, curve in drawn))
        _limits(axes, peaks, lowest, log_scale)
        # Below the axes (under the step label), where it covers no curve.
        axes.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.14),
            borderaxespad=0.0,
            fontsize="small",
            ncols=legend_columns,
        )
        axes.set_xlabel("step")
    if len(columns) > 1:
        figure.suptitle(textwrap.fill(title, _TITLE_WIDTH), fontsize="medium")
    return figure


def save_comparison_png(
    runs: Sequence[tuple[str, Mapping[str, Table]]],
    title: str,
    path: Path,
    *,
    log_scale: bool = False,
) -> None:
    """Draw :func:`comparison_figure` into the PNG file ``path``."""
    comparison_figure(runs, title, log_scale=log_scale).savefig(path, dpi=_DPI)
