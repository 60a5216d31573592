"""The example trainer (``examples/train.py``) really trains, with the optimizer the config names.

The learning rate and weight decay it logs per parameter group are read back from the optimizer
state, so comparing them with the spec's float64 formula checks the whole path: Hydra config ->
``instantiate`` -> the ``optimizer`` group -> optax.
"""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import re
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


COLUMNS = ["step", "loss", "lr", "weight_decay"]


def read_metrics(path: Path, groups: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """``metrics.csv``'s columns: those of every run, then each group's two, in order."""
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        rows = list(reader)
    per_group = [f"{name}[{group}]" for group in groups for name in ("lr", "weight_decay")]
    assert reader.fieldnames == [*COLUMNS, *per_group]
    return {key: np.array([float(row[key]) for row in rows]) for key in reader.fieldnames}


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
    # AdamW's decoupled decay follows the schedule: the weights shrank by schedule(step) * 1e-4.
    np.testing.assert_allclose(metrics["weight_decay"], metrics["lr"] * 1e-4, rtol=1e-6)
    assert metrics["weight_decay"].max() > 0
    # The parameter-group table, printed before training.
    assert re.search(
        r"default +1 +1 +6 +4,801 +6 +head\.bias, head\.kernel, layers\.0\.bias, ", proc.stdout
    )
    loss = metrics["loss"]
    assert loss[-30:].mean() < 0.25 * loss[:30].mean()
    assert "300/300" in proc.stderr  # tqdm's progress bar


@pytest.mark.full  # a subprocess or a real model: the full lane (CI)
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


@pytest.mark.full  # the full lane (CI): another training run
def test_each_groups_learning_rate_and_weight_decay_are_logged_as_applied(tmp_path):
    """A head at 10x the LR with its own weight decay, a frozen first layer: each group's
    columns hold what the optimizer applied, the frozen layer's 0, and the table lists them."""
    proc = run_trainer(
        tmp_path,
        "steps=120",
        "progress=false",
        "optimizer.weight_decay=0.01",
        "+optimizer.param_groups={head:{match:['^head'],lr_mult:10,wd_mult:0.5},"
        "first:{match:['^layers\\.0\\.'],freeze:true}}",
    )

    metrics = read_metrics(tmp_path / "run" / "metrics.csv", groups=("first", "head"))
    expected = np.array(
        [
            reference_lr(int(step), name="cosine", lr=1e-2, decay_steps=120, warmup_steps=50)
            for step in metrics["step"]
        ]
    )
    np.testing.assert_allclose(metrics["lr"], expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(metrics["lr[head]"], 10 * expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(metrics["weight_decay"], 0.01 * expected, rtol=1e-6, atol=1e-10)
    assert metrics["weight_decay[head]"].max() > 0
    np.testing.assert_array_equal(metrics["lr[first]"], 0.0)
    np.testing.assert_array_equal(metrics["weight_decay[first]"], 0.0)
    table = proc.stdout
    assert re.search(r"head +10 +0\.5 +2 +65 +2 +head\.bias, head\.kernel", table)
    assert re.search(r"first +frozen +- +2 +576 +0 +layers\.0\.bias, layers\.0\.kernel", table)


@pytest.mark.full  # the full lane (CI): another training run
def test_a_weight_decay_schedule_is_refused_before_training(tmp_path):
    """The trainer's weight decay is the optimizer's: a ``wd_schedule`` it would ignore stops
    the run with a message naming it, before any update."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [
            sys.executable,
            str(TRAIN),
            "steps=20",
            "progress=false",
            "+scheduler@wd_schedule=cosine",
            "wd_schedule.lr=1e-3",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert "wd_schedule is not used by this trainer" in proc.stderr
    assert not (tmp_path / "run" / "metrics.csv").exists()


@pytest.mark.full  # the full lane (CI): another training run
def test_jax_looking_for_a_tpu_does_not_clutter_the_log(tmp_path):
    """Without JAX_PLATFORMS, JAX probes for a TPU and logs its failure at INFO: kept quiet."""
    proc = run_trainer(tmp_path, "steps=100", "progress=false", jax_platforms=None)
    log = (tmp_path / "run" / "train.log").read_text()
    assert "Unable to initialize backend" not in proc.stdout + proc.stderr + log
    assert "final loss" in log  # the trainer's own INFO lines are still there
