"""What the pictures show, read from the figure objects and the terminal text, not pixels:
legends beside or below the curves, one tick format, a log axis on request, the summary's
numbers in ``schedule.png``, and each panel titled by what it shows."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hydra_optax_schedules import build_lr_scheduler
from hydra_optax_schedules.viewer import plots, preview

from support.reference import reference_lr

STEPS = 1000
LR = dict(name="cosine", lr=3e-4, warmup_steps=100)
WD = dict(name="linear", lr=0.05)


def previewed(**schedules: dict):
    """``(label, curve, summary)`` panels of ``schedules`` (key -> config) over ``STEPS``."""
    built = {key: build_lr_scheduler({**c, "decay_steps": STEPS}) for key, c in schedules.items()}
    curves, summaries = preview(built, STEPS)
    return [("", curve, summary) for curve, summary in zip(curves, summaries, strict=True)]


def reference(config: dict) -> np.ndarray:
    return np.array([reference_lr(s, **config, decay_steps=STEPS) for s in range(STEPS + 1)])


def drawn(figure):
    figure.draw_without_rendering()
    return figure


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def y_tick_texts(axes) -> list[str]:
    low, high = axes.get_ylim()
    ticks = zip(axes.get_yticks(), axes.get_yticklabels(), strict=True)
    return [label.get_text() for value, label in ticks if low <= value <= high]


def test_a_comparison_legend_covers_no_curve():
    panels = previewed(scheduler=LR)
    runs = [(f"lr=run {n} with a long label", {"lr": panels[0][1]}) for n in range(8)]

    figure = drawn(plots.comparison_figure(runs, "8 runs"))

    (axes,) = figure.axes
    legend = axes.get_legend()
    assert len(legend.get_texts()) == 8
    assert not overlaps(legend.get_window_extent(), axes.get_window_extent())


def test_a_phase_legend_covers_no_curve():
    figure = drawn(plots.schedule_figure(previewed(scheduler=LR, wd_schedule=WD), "run"))

    for axes in figure.axes:
        assert not overlaps(axes.get_legend().get_window_extent(), axes.get_window_extent())


def test_peak_final_and_mean_are_in_each_panels_title():
    figure = plots.schedule_figure(previewed(scheduler=LR, wd_schedule=WD), "run")

    lr_values, wd_values = reference(LR), reference(WD)
    lr_title, wd_title = (axes.get_title() for axes in figure.axes)
    peak, final, mean = re.search(
        r"peak (\S+) at step (\d+) · final (\S+) · mean (\S+)", lr_title
    ).group(1, 3, 4)
    assert float(peak) == pytest.approx(lr_values.max(), rel=5e-3)
    assert float(final) == pytest.approx(lr_values[-1], abs=1e-12)
    assert float(mean) == pytest.approx(lr_values[:-1].mean(), rel=5e-3)
    assert "peak 0.05 at step 0 · final 0 · mean 0.025" in wd_title
    assert wd_values[:-1].mean() == pytest.approx(0.025025)


def test_each_panel_is_titled_by_what_it_shows_then_its_family():
    figure = plots.schedule_figure(previewed(scheduler=LR, wd_schedule=WD), "run")

    titles = [axes.get_title().splitlines()[0] for axes in figure.axes]
    assert titles == ["learning rate (cosine)", "wd_schedule (linear)"]
    assert [axes.get_ylabel() for axes in figure.axes] == ["", ""]  # labels given by the caller


@pytest.mark.parametrize("log_scale", [False, True])
def test_the_ticks_of_an_axis_share_one_format(log_scale):
    figure = drawn(plots.schedule_figure(previewed(scheduler=LR), "run", log_scale=log_scale))

    (axes,) = figure.axes
    texts = [text for text in y_tick_texts(axes) if text != "0"]
    assert len(texts) >= 3
    # Every tick in scientific notation with the same number of decimals: 1.50e-4, not 0.00015.
    assert all(re.fullmatch(r"\d(\.\d+)?e-\d+", text) for text in texts), texts
    assert len({len(text.split("e")[0].partition(".")[2]) for text in texts}) == 1, texts


def test_a_log_scale_is_a_log_axis_from_the_lowest_value_drawn():
    figure = drawn(plots.schedule_figure(previewed(scheduler=LR), "run", log_scale=True))

    (axes,) = figure.axes
    assert axes.get_yscale() == "log"
    low, high = axes.get_ylim()
    assert 0 < low < high


def test_the_terminal_legend_is_below_the_plot():
    panels = previewed(scheduler=LR)
    curve = panels[0][1]
    text = plots.terminal_plot([("lr=1e-3", curve), ("lr=3e-4", curve)], "two", color=False)

    lines = text.splitlines()
    bottom = max(n for n, line in enumerate(lines) if "└" in line)
    named = [n for n, line in enumerate(lines) if "lr=1e-3" in line or "lr=3e-4" in line]
    assert len(named) == 2
    assert min(named) > bottom
    assert lines[named[0]].split()[0] != lines[named[1]].split()[0]  # each its own marker


def test_a_terminal_log_plot_is_ticked_at_powers_of_ten():
    (_, curve, _) = previewed(scheduler=LR)[0]

    text = plots.terminal_plot([("", curve)], "log", color=False, log_scale=True)

    ticks = re.findall(r"^\s*(\S+)┤", text, re.MULTILINE)
    assert ticks and all(re.fullmatch(r"1e-\d+", tick) for tick in ticks), ticks
