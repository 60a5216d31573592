"""The example trainer (``examples/train.py``) really trains, on the schedule the config names.

The learning rate it logs is read back from the optimizer state, so comparing it with the
spec's float64 formula checks the whole path: Hydra config -> ``instantiate`` -> optax.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support.reference import reference_lr

REPO = Path(__file__).resolve().parents[2]
TRAIN = REPO / "examples" / "train.py"


def run_trainer(
    cwd: Path,
    *overrides: str,
    pythonpath: Path | None = None,
    jax_platforms: str | None = "cpu",
    succeeds: bool = True,
):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYDRA_", "JAX_PLATFORMS"))}
    env["HYDRA_FULL_ERROR"] = "1"
    if jax_platforms is not None:
        env["JAX_PLATFORMS"] = jax_platforms
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    args = [
        sys.executable,
        str(TRAIN),
        *overrides,
        f"hydra.run.dir={cwd / 'run'}",
        f"hydra.sweep.dir={cwd / 'sweep'}",
    ]
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert (proc.returncode == 0) == succeeds, (
        f"trainer failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


COLUMNS = ["step", "lr", "loss", "weight_decay"]


def read_metrics(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    assert reader.fieldnames == COLUMNS
    return {key: np.array([float(row[key]) for row in rows]) for key in COLUMNS}


def assert_lr_is_the_schedule(metrics: dict[str, np.ndarray], **config) -> None:
    """Each update's LR is the schedule at its step, up to float32 rounding of the peak."""
    expected = [reference_lr(int(step), **config) for step in metrics["step"]]
    np.testing.assert_allclose(metrics["lr"], expected, rtol=1e-6, atol=1e-6 * config["lr"])


def test_training_lowers_the_loss_on_the_configured_schedule(tmp_path):
    proc = run_trainer(
        tmp_path,
        "steps=300",
        "scheduler=cosine",
        "scheduler.warmup_steps=30",
        "scheduler.cooldown_steps=60",
        "scheduler.end_lr_factor=0.1",
    )

    metrics = read_metrics(tmp_path / "run" / "metrics.csv")
    np.testing.assert_array_equal(metrics["step"], np.arange(300))
    assert_lr_is_the_schedule(
        metrics,
        name="cosine",
        lr=1e-2,
        decay_steps=300,
        warmup_steps=30,
        cooldown_steps=60,
        end_lr_factor=0.1,
    )
    assert metrics["lr"][0] == 0.0  # the first update runs at step 0 of the warmup
    # No weight-decay schedule: the constant of conf/train.yaml, as float32 in the state.
    np.testing.assert_array_equal(metrics["weight_decay"], np.float32(1e-4))
    loss = metrics["loss"]
    assert loss[-30:].mean() < 0.25 * loss[:30].mean()
    assert "300/300" in proc.stderr  # tqdm's progress bar


def test_a_decay_steps_other_than_the_trainers_steps_fails_naming_both(tmp_path):
    # 0.2.0 trained this command line over 300 steps (lr 0.00933 at step 50) while lrview drew
    # a 100-step schedule (0.005): the trainer and lrview now refuse it with the same message.
    overrides = [
        "steps=300",
        "scheduler.decay_steps=100",
        "scheduler.cooldown_start=50",
        "scheduler.cooldown_steps=20",
    ]
    proc = run_trainer(tmp_path, *overrides, succeeds=False)
    message = (
        "scheduler.decay_steps=100 (set in the config) and run_steps=300 (the run length passed "
        "when the schedule is built) disagree: leave scheduler.decay_steps unset to take the run "
        "length, or set it to 300"
    )
    assert message in proc.stderr
    assert not (tmp_path / "run" / "metrics.csv").exists()
    viewer = subprocess.run(
        [sys.executable, "-m", "hydra_optax_schedules", *overrides, f"hydra.run.dir={tmp_path}/v"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert viewer.returncode == 1
    assert viewer.stderr.startswith(message), viewer.stderr


@pytest.mark.full  # the full lane (CI): several training runs
def test_the_documented_sweep_compares_four_schedules_without_tqdm(tmp_path):
    hidden = tmp_path / "hidden" / "tqdm"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'tqdm'\", name='tqdm')\n"
    )
    names = ["constant", "cosine", "linear", "exponential"]
    proc = run_trainer(
        tmp_path,
        "-m",
        f"scheduler={','.join(names)}",
        "scheduler.end_lr_factor=0.1",
        "steps=100",
        pythonpath=hidden.parent,
    )

    for job, name in enumerate(names):
        metrics = read_metrics(tmp_path / "sweep" / str(job) / "metrics.csv")
        np.testing.assert_array_equal(metrics["step"], np.arange(100))
        assert_lr_is_the_schedule(
            metrics, name=name, lr=1e-2, decay_steps=100, warmup_steps=50, end_lr_factor=0.1
        )
    assert proc.stdout.count("step 100/100") == len(names)  # logged instead of a bar


def test_train_returns_the_final_loss_for_a_sweeper(tmp_path):
    from hydra import compose, initialize_config_dir

    spec = importlib.util.spec_from_file_location("example_train", TRAIN)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["steps=60", "scheduler.warmup_steps=6", "progress=false"])

    final_loss = example.train(cfg, tmp_path)

    assert isinstance(final_loss, float)
    assert math.isfinite(final_loss)
    assert final_loss < read_metrics(tmp_path / "metrics.csv")["loss"][0]


@pytest.mark.full  # the full lane (CI): several training runs
def test_a_weight_decay_schedule_sets_each_updates_weight_decay(tmp_path):
    """Issue 13: ``+scheduler@wd_schedule=cosine`` schedules AdamW's weight decay."""
    run_trainer(
        tmp_path,
        "steps=200",
        "progress=false",
        "+scheduler@wd_schedule=cosine",
        "wd_schedule.lr=1e-3",
        "wd_schedule.warmup_steps=20",
    )

    metrics = read_metrics(tmp_path / "run" / "metrics.csv")
    np.testing.assert_array_equal(metrics["step"], np.arange(200))
    expected = [
        reference_lr(int(step), name="cosine", lr=1e-3, decay_steps=200, warmup_steps=20)
        for step in metrics["step"]
    ]
    np.testing.assert_allclose(metrics["weight_decay"], expected, rtol=1e-6, atol=1e-9)
    assert metrics["weight_decay"][0] == 0.0
    assert_lr_is_the_schedule(metrics, name="cosine", lr=1e-2, decay_steps=200, warmup_steps=50)


@pytest.mark.full  # the full lane (CI): several training runs
def test_the_weight_decay_schedule_changes_training_only_through_the_weight_decay(tmp_path):
    """A schedule that holds the configured constant trains exactly as the constant does."""
    constant = tmp_path / "constant"
    scheduled = tmp_path / "scheduled"
    constant.mkdir()
    scheduled.mkdir()
    common = ["steps=60", "progress=false", "optimizer.weight_decay=0.5"]
    run_trainer(constant, *common)
    run_trainer(scheduled, *common, "+scheduler@wd_schedule=constant", "wd_schedule.lr=0.5")

    expected = read_metrics(constant / "run" / "metrics.csv")
    got = read_metrics(scheduled / "run" / "metrics.csv")
    for column in COLUMNS:
        np.testing.assert_array_equal(got[column], expected[column])


@pytest.mark.full  # the full lane (CI): another training run
def test_jax_looking_for_a_tpu_does_not_clutter_the_log(tmp_path):
    """Without JAX_PLATFORMS, JAX probes for a TPU and logs its failure at INFO: kept quiet."""
    proc = run_trainer(tmp_path, "steps=100", "progress=false", jax_platforms=None)
    log = (tmp_path / "run" / "train.log").read_text()
    assert "Unable to initialize backend" not in proc.stdout + proc.stderr + log
    assert "final loss" in log  # the trainer's own INFO lines are still there
