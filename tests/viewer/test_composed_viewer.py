"""The viewer shows every composed schedule: its CSV holds the spec's values, and its summary
lists each cycle, rewarmup, milestone, stage and the branched cooldown with its step range."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_module

from hydra_optax_schedules.viewer import app
from hydra_optax_schedules.viewer.summary import format_summary

from support.composed_reference import composed_lr

STEPS = 400
CASES = [
    (
        [
            "scheduler=cosine",
            "scheduler.cycles=3",
            "scheduler.rewarmup_steps=20",
            "scheduler.warmup_steps=10",
        ],
        {"name": "cosine", "cycles": 3, "rewarmup_steps": 20, "warmup_steps": 10},
        ["warmup", "cycle 0", "rewarmup 1", "cycle 1", "rewarmup 2", "cycle 2"],
    ),
    (
        ["scheduler=multistep", "scheduler.milestones=[100,250]", "scheduler.decay_factor=0.5"],
        {"name": "multistep", "milestones": [100, 250], "decay_factor": 0.5},
        ["main", "milestone 1", "milestone 2"],
    ),
    (
        [
            "scheduler=stages",
            "scheduler.stages=[{steps:150,shape:cosine,end:0.1},{shape:constant}]",
        ],
        {
            "name": "stages",
            "stages": [{"steps": 150, "shape": "cosine", "end": 0.1}, {"shape": "constant"}],
        },
        ["stage 0", "stage 1"],
    ),
    (
        ["scheduler=linear", "scheduler.cooldown_start=120", "scheduler.cooldown_steps=40"],
        {"name": "linear", "cooldown_start": 120, "cooldown_steps": 40},
        ["main", "cooldown", "hold"],
    ),
]


# The first case in the default lane (the phase table's test below runs every composed
# family there), every case in the full lane: an lrview process each.
@pytest.mark.parametrize(
    ("overrides", "case", "phases"),
    [
        pytest.param(
            *case, id=f"overrides{n}-case{n}-phases{n}", marks=[] if n == 0 else [pytest.mark.full]
        )
        for n, case in enumerate(CASES)
    ],
)
def test_the_viewer_shows_each_piece_and_writes_the_specs_values(tmp_path, overrides, case, phases):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env["JAX_PLATFORMS"] = "cpu"
    args = [
        sys.executable,
        "-m",
        "hydra_optax_schedules",
        *overrides,
        f"steps={STEPS}",
        "terminal_plot=false",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split()[0:2] for line in proc.stdout.splitlines()]
    names = [
        " ".join(r) if r[0] in ("cycle", "rewarmup", "milestone", "stage") else r[0]
        for r in rows
        if r and r[0] in {p.split()[0] for p in phases}
    ]
    assert names == phases
    table = np.loadtxt(Path(tmp_path / "run" / "schedule.csv"), delimiter=",", skiprows=1)
    steps, lrs = table[:, 0].astype(int), table[:, 1]
    full = {"lr": 1e-3, "decay_steps": STEPS, **case}
    want = [composed_lr(int(s), **full) for s in steps]
    np.testing.assert_allclose(lrs, want, rtol=1e-12, atol=1e-18)


# The commands of the trial that found the phase table ending pieces at the next one's value;
# each table as the spec gives it, with lr = 1 (restarts end at E = 0, stages at their `end`,
# milestones are constant).
REPORTED = [
    (
        ["scheduler=cosine", "scheduler.lr=1", "scheduler.cycles=4", "scheduler.cycle_decay=0.5"],
        [
            "cycle 0  [0, 250)       1.000e+00    0.000e+00",
            "cycle 1  [250, 500)     5.000e-01    0.000e+00",
            "cycle 2  [500, 750)     2.500e-01    0.000e+00",
            "cycle 3  [750, 1000]    1.250e-01    0.000e+00",
        ],
    ),
    (
        [
            "scheduler=stages",
            "scheduler.lr=1",
            "scheduler.stages=[{steps:300,shape:cosine,end:0.1},"
            "{steps:200,shape:constant,start:0.5},{shape:linear,start:1.0,end:0.0}]",
        ],
        [
            "stage 0  [0, 300)       1.000e+00    1.000e-01",
            "stage 1  [300, 500)     5.000e-01    5.000e-01",
            "stage 2  [500, 1000]    1.000e+00    0.000e+00",
        ],
    ),
    (
        ["scheduler=multistep", "scheduler.lr=1", "scheduler.milestones=[300,600]"],
        [
            "main         [0, 300)       1.000e+00    1.000e+00",
            "milestone 1  [300, 600)     1.000e-01    1.000e-01",
            "milestone 2  [600, 1000]    1.000e-02    1.000e-02",
        ],
    ),
]


REPORTED_IDS = ["cycles", "stages", "multistep"]


@pytest.mark.parametrize(("overrides", "table"), REPORTED, ids=REPORTED_IDS)
def test_the_summary_of_a_composed_schedule_is_its_phase_table(overrides, table):
    """The summary lrview prints for these overrides, made in this process (the test below
    runs lrview on each)."""
    with initialize_config_module("hydra_optax_schedules.viewer.conf", version_base="1.3"):
        cfg = compose("viewer", overrides=overrides)
    nodes = list(app.schedule_nodes(cfg))
    steps = app.run_length(cfg, app.RUN_LENGTH_KEY, nodes)
    schedules = {key: app.build_with_run_length(node, steps) for key, node in nodes}
    _, summaries = app.preview(schedules, steps)
    lines = format_summary(summaries, overrides).splitlines()
    first = lines.index(table[0])
    assert lines[first : first + len(table)] == table


# An lrview process each: the first in the default lane, every one in the full lane.
@pytest.mark.parametrize(
    ("overrides", "table"),
    [
        pytest.param(*case, id=name, marks=[] if n == 0 else [pytest.mark.full])
        for n, (name, case) in enumerate(zip(REPORTED_IDS, REPORTED, strict=True))
    ],
)
def test_the_phase_table_ends_each_piece_at_the_value_its_own_curve_ends_at(
    tmp_path, overrides, table
):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    args = [
        sys.executable,
        "-m",
        "hydra_optax_schedules",
        *overrides,
        "terminal_plot=false",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    first = lines.index(table[0])
    assert lines[first : first + len(table)] == table
