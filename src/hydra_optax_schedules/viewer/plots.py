"""Pictures of learning-rate curves: in the terminal (plotext) and as PNG files (matplotlib).

Both libraries are the optional ``viz`` extra. They are imported when a function here is
called, so this module imports without them; each function raises ``ImportError`` if its
library is missing. Matplotlib is used through its object API (``Figure`` rendered by Agg),
which leaves pyplot's global state and the process's backend alone.
"""

from __future__ import annotations

import math
import shutil
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hydra_optax_schedules.viewer.summary import Summary
from hydra_optax_schedules.viewer.table import LR_COLUMN, Table

if TYPE_CHECKING:  # matplotlib is the optional viz extra: imported when a picture is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "INSTALL_HINT",
    "axis_label",
    "missing_hint",
    "save_comparison_png",
    "save_schedule_png",
    "terminal_plot",
]

INSTALL_HINT = 'pip install "hydra-optax-schedules[viz]"'

_FIGURE_SIZE = (8.0, 4.5)  # inches; at _DPI, a 1200 x 675 pixel image
_DPI = 150
_TITLE_WIDTH = 90  # characters per line of a title, before it wraps
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


def axis_label(column: str) -> str:
    """The y-axis label of a ``schedule.csv`` column: ``lr`` is the learning rate."""
    return "learning rate" if column == LR_COLUMN else column


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
) -> str:
    """The curves drawn with plotext, as text ready to print.

    Args:
        curves: ``(label, curve)`` pairs; a single curve may have an empty label.
        title: The plot's title.
        boundaries: Steps to mark with vertical lines (phase boundaries).
        color: Use ANSI colors (turn off when the output is not a terminal).
    """
    import plotext

    columns, _ = shutil.get_terminal_size((100, 24))
    width, height = max(40, min(columns, 100)), 20
    figure = plotext.figure
    figure.clear()
    last_step = max(int(curve.steps[-1]) for _, curve in curves)
    peak = max(float(curve.values.max()) for _, curve in curves)
    scale = _scale(peak)
    for label, curve in curves:
        keep = _thin(curve, points=4 * width, keep=boundaries)
        signal = figure.signal(
            curve.steps[keep].tolist(), (curve.values[keep] / scale).tolist(), marker="braille"
        )
        signal.lines()
        if label:
            signal.label(label)
        figure.draw(signal)
    for step in boundaries:
        figure.line(step, orientation="vertical")
    x_ticks = sorted({last_step * k // 4 for k in range(5)})
    figure.ruler("x").ticks(x_ticks, [str(step) for step in x_ticks])
    y_ticks = [peak / scale * k / 4 for k in range(5)] if peak > 0 else [0.0]
    figure.ruler("y").ticks(y_ticks, [f"{value * scale:.3g}" for value in y_ticks])
    if any(label for label, _ in curves):  # top right: where decaying schedules leave room
        figure.legend(x=last_step, y=peak / scale, ha="right", va="top", relative=True)
    figure.title(title if len(title) < width else title[: width - 2] + "…")
    figure.label("step", axis="x")
    figure.plot_size(width, height)
    return str(figure.build().string(colorless=not color))


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
    figure: Figure, title: str, position: int, count: int, *, ylabel: str, scale: float
) -> Axes:
    """Axes ``position`` of ``count`` stacked in ``figure``, labelled for a schedule's curve."""
    from matplotlib.ticker import FuncFormatter

    axes = figure.add_subplot(count, 1, position)
    axes.set_title(textwrap.fill(title, _TITLE_WIDTH), fontsize="medium")
    axes.set_ylabel(ylabel)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{float(value) * scale:.3g}"))
    axes.grid(alpha=0.3)
    return axes


def _figure(panels: int) -> Figure:
    """A figure with room for ``panels`` stacked axes."""
    from matplotlib.figure import Figure

    width, height = _FIGURE_SIZE
    return Figure(figsize=(width, height + (panels - 1) * height * 0.7), layout="constrained")


#: Up to this many phases, a panel's legend goes where it hides the least.
_BEST_LEGEND_UP_TO = 100


def save_schedule_png(panels: Sequence[tuple[str, Table, Summary]], title: str, path: Path) -> None:
    """Draw schedules into the PNG file ``path``, one panel each, phases shaded and named.

    Args:
        panels: ``(y-axis label, curve, summary)`` of each schedule, drawn top to bottom.
        title: The figure's title (the run's overrides).
        path: The file to write.
    """
    figure = _figure(len(panels))
    for position, (ylabel, curve, summary) in enumerate(panels, start=1):
        scale = _scale(summary.peak)
        panel_title = title if len(panels) == 1 else f"{summary.key}: {summary.name}"
        axes = _new_axes(figure, panel_title, position, len(panels), ylabel=ylabel, scale=scale)
        axes.plot(curve.steps, curve.values / scale, linewidth=2)
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
        # Placing the legend "best" tests every span: seconds for thousands of pieces.
        few = len(summary.phases) <= _BEST_LEGEND_UP_TO
        axes.legend(
            loc="best" if few else "upper right",
            fontsize="small",
            title="phase",
            title_fontsize="small",
        )
        axes.set_xlim(0, summary.steps)
        axes.set_ylim(0, summary.peak / scale * 1.05)
    axes.set_xlabel("step")
    if len(panels) > 1:
        figure.suptitle(textwrap.fill(title, _TITLE_WIDTH), fontsize="medium")
    figure.savefig(path, dpi=_DPI)


def save_comparison_png(
    runs: Sequence[tuple[str, Mapping[str, Table]]], title: str, path: Path
) -> None:
    """Overlay the runs' curves in the PNG file ``path``, one panel per column, with legends.

    Args:
        runs: ``(label, {column: curve})`` of each run; a column is drawn in its own panel,
            with every run that has it.
        title: The figure's title.
        path: The file to write.
    """
    columns = list(dict.fromkeys(column for _, curves in runs for column in curves))
    figure = _figure(len(columns))
    for position, column in enumerate(columns, start=1):
        drawn = [(label, curves[column]) for label, curves in runs if column in curves]
        scale = _scale(max(float(curve.values.max()) for _, curve in drawn))
        panel_title = title if len(columns) == 1 else f"{title}: {column}"
        ylabel = axis_label(column)
        axes = _new_axes(figure, panel_title, position, len(columns), ylabel=ylabel, scale=scale)
        for label, curve in drawn:
            axes.plot(curve.steps, curve.values / scale, linewidth=1.5, label=label)
        axes.set_xlim(0, max(int(curve.steps[-1]) for _, curve in drawn))
        axes.set_ylim(bottom=0)
        axes.legend(fontsize="small")
    axes.set_xlabel("step")
    figure.savefig(path, dpi=_DPI)
