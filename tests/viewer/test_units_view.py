"""The viewer of a run counted in tokens under a batch-size ramp (docs/units.md): its phases
start at the steps where the count reaches them, its mean is the mean over the steps, and its
second x axis is the count, each tick labelled with its whole number."""

from __future__ import annotations

import numpy as np
import pytest

from hydra_optax_schedules import build_lr_scheduler
from hydra_optax_schedules.viewer import preview
from hydra_optax_schedules.viewer.app import unit_axis
from hydra_optax_schedules.viewer.plots import schedule_figure


def test_phases_start_at_the_step_the_count_reaches_and_the_mean_is_over_steps():
    # 8 tokens per step, 16 from token 40 on (step 5), 32 from token 100 on (step 9).
    units = {"unit": "tokens", "sequence_length": 4, "ramp": [[0, 2], [40, 4], [100, 8]]}
    units |= {"warmup": 60, "lr_scaling": "linear"}  # token 60: within step 6 (56 -> 72)
    schedule = build_lr_scheduler({"lr": 1.0, "name": "cosine", "units": units}, run_steps=40)
    _, [summary] = preview({"scheduler": schedule}, 40)
    assert [(row.name, row.first, row.end) for row in summary.phases] == [
        ("warmup", 0, 7),
        ("main", 7, 40),
    ]
    mean = sum(schedule(step) for step in range(40)) / 40
    assert summary.mean.value == pytest.approx(mean, rel=1e-9)


def test_the_second_x_axis_is_the_exact_count_at_the_sampled_steps_each_tick_its_number():
    # 4096 tokens a sequence, 256 sequences a step, 512 from token 2**30 on (step 1024).
    units = {"unit": "tokens", "sequence_length": 4096, "ramp": [[0, 256], [2**30, 512]]}
    schedule = build_lr_scheduler({"lr": 1.0, "name": "cosine", "units": units}, run_steps=3000)
    schedules = {"scheduler": schedule}
    sampled, summaries = preview(schedules, 3000)
    label, forward, inverse = unit_axis(schedules, sampled)
    assert label == "tokens"
    counted, tokens = [], 0  # a loop's own count: the tokens consumed before each step
    for _ in range(3001):
        counted.append(tokens)
        tokens += 4096 * (512 if tokens >= 2**30 else 256)
    steps = np.asarray(sampled[0].steps)
    assert forward(steps).tolist() == [counted[step] for step in steps]
    assert inverse(forward(steps)).tolist() == steps.tolist()

    pytest.importorskip("matplotlib")
    figure = schedule_figure(
        [("lr", sampled[0], summaries[0])], "tokens", unit_axis=(label, forward, inverse)
    )
    figure.draw_without_rendering()  # the ticks get their labels
    (top,) = figure.axes[0].child_axes
    assert top.get_xlabel() == "tokens"
    texts = [tick.get_text() for tick in top.get_xticklabels() if tick.get_text()]
    assert "5e9" in texts or "5.0e9" in texts, texts  # each tick its whole number
    assert top.xaxis.get_offset_text().get_text() == ""  # no "1e9" at the axis' end


def test_the_second_x_axis_of_epochs_labels_fractions_of_an_epoch():
    pytest.importorskip("matplotlib")
    units = {"unit": "epochs", "samples_per_epoch": 1000, "batch_size": 100}
    schedule = build_lr_scheduler({"lr": 1.0, "name": "cosine", "units": units}, run_steps=20)
    schedules = {"scheduler": schedule}
    sampled, summaries = preview(schedules, 20)  # 2 epochs
    figure = schedule_figure(
        [("lr", sampled[0], summaries[0])], "epochs", unit_axis=unit_axis(schedules, sampled)
    )
    figure.draw_without_rendering()
    (top,) = figure.axes[0].child_axes
    texts = [tick.get_text() for tick in top.get_xticklabels() if tick.get_text()]
    assert texts[:5] == ["0", "0.25", "0.50", "0.75", "1.00"], texts  # not "0", "0", "0", "1"
