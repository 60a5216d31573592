"""Pictures of learning-rate curves: in the terminal (plotext) and as PNG files (matplotlib).

Both libraries are the optional ``viz`` extra. They are imported when a function here is
called, so this module imports without them; each function raises ``ImportError`` if its
library is missing. Matplotlib is used through its object API (``Figure`` rendered by Agg),
which leaves pyplot's global state and the process's backend alone.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hydra_optax_schedules.curve import Curve
from hydra_optax_schedules.summary import Summary

__all__ = [
    "INSTALL_HINT",
    "missing_hint",
    "save_comparison_png",
    "save_schedule_png",
    "terminal_plot",
]

INSTALL_HINT = 'pip install "hydra-optax-schedules[viz]"'

_FIGURE_SIZE = (8.0, 4.5)  # inches; at _DPI, a 1200 x 675 pixel image
_DPI = 150
_TITLE_WIDTH = 90  # characters per line of a title, before it wraps
_PHASE_COLORS = {"warmup": "tab:orange", "main": "tab:green", "cooldown": "tab:purple"}


def missing_hint(errors: Sequence[ImportError]) -> str:
    """One line: which plotting libraries are missing, and how to install them."""
    names = dict.fromkeys(error.name or str(error) for error in errors)
    return f"plots skipped (missing {', '.join(names)}); to get them: {INSTALL_HINT}"


def terminal_plot(
    curves: Sequence[tuple[str, Curve]],
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
    for label, curve in curves:
        keep = _thin(curve, points=4 * width, keep=boundaries)
        signal = figure.signal(
            curve.steps[keep].tolist(), curve.lrs[keep].tolist(), marker="braille"
        )
        signal.lines()
        if label:
            signal.label(label)
        figure.draw(signal)
    for step in boundaries:
        figure.line(step, orientation="vertical")
    peak = max(float(curve.lrs.max()) for _, curve in curves)
    x_ticks = sorted({round(last_step * k / 4) for k in range(5)})
    figure.ruler("x").ticks(x_ticks, [str(step) for step in x_ticks])
    y_ticks = [peak * k / 4 for k in range(5)] if peak > 0 else [0.0]
    figure.ruler("y").ticks(y_ticks, [f"{value:.3g}" for value in y_ticks])
    if any(label for label, _ in curves):  # top right: where decaying schedules leave room
        figure.legend(x=last_step, y=peak, ha="right", va="top", relative=True)
    figure.title(title if len(title) < width else title[: width - 2] + "…")
    figure.label("step", axis="x")
    figure.plot_size(width, height)
    return figure.build().string(colorless=not color)


def _thin(curve: Curve, points: int, keep: Sequence[int]) -> np.ndarray:
    """Indices of about ``points`` evenly spread steps, plus the first, last and ``keep`` steps."""
    last = len(curve.steps) - 1
    spread = np.linspace(0, last, num=min(points, last + 1)).round().astype(np.int64)
    extra = np.asarray([step for step in keep if 0 <= step <= last], dtype=np.int64)
    return np.unique(np.concatenate([spread, extra]))


def _new_axes(title: str):
    """A figure with one set of axes, labelled for a learning-rate curve."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    figure = Figure(figsize=_FIGURE_SIZE, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(textwrap.fill(title, _TITLE_WIDTH), fontsize="medium")
    axes.set_xlabel("step")
    axes.set_ylabel("learning rate")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.3g}"))
    axes.grid(alpha=0.3)
    return figure, axes


def save_schedule_png(curve: Curve, summary: Summary, title: str, path: Path) -> None:
    """Draw one schedule into the PNG file ``path``, its phases shaded and named in a legend."""
    figure, axes = _new_axes(title)
    axes.plot(curve.steps, curve.lrs, linewidth=2)
    for step in summary.boundaries:
        axes.axvline(step, color="0.5", linestyle="--", linewidth=1)
    for row in summary.phases:
        color = _PHASE_COLORS.get(row.name, "tab:gray")
        axes.axvspan(row.first, row.end, color=color, alpha=0.12, linewidth=0, label=row.name)
    axes.legend(loc="best", fontsize="small", title="phase", title_fontsize="small")
    axes.set_xlim(0, summary.steps)
    axes.set_ylim(0, summary.peak_lr * 1.05)
    figure.savefig(path, dpi=_DPI)


def save_comparison_png(curves: Sequence[tuple[str, Curve]], title: str, path: Path) -> None:
    """Overlay labelled curves in the PNG file ``path``, with a legend."""
    figure, axes = _new_axes(title)
    for label, curve in curves:
        axes.plot(curve.steps, curve.lrs, linewidth=1.5, label=label)
    axes.set_xlim(0, max(int(curve.steps[-1]) for _, curve in curves))
    axes.set_ylim(bottom=0)
    axes.legend(fontsize="small")
    figure.savefig(path, dpi=_DPI)
