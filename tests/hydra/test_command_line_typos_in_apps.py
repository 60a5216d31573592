"""A key that is no field, given on the command line of a real app, fails before anything runs,
naming the key and the fields it may mean, as from Python and YAML (issue 19): in a user's app
(a run, a basic multirun, an Optuna sweep), in the example trainer and in ``lrview`` (the
``scheduler`` and ``optimizer`` groups, the ``units`` node, a multirun).

Every case is a subprocess (seconds each): the full lane. The in-process checks of every
builder are ``test_command_line_typos.py``'s, in the default lane.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.full

REPO = Path(__file__).resolve().parents[2]
WARMUP = (
    "scheduler.warmup is not a scheduler field; did you mean warmup_steps, warmup_shape, "
    "warmup_start_lr or warmup_fraction? valid fields: lr, name, "
)
BETA3 = "optimizer.beta3 is not an optimizer field; did you mean beta1 or beta2? "
UNTI = "scheduler.units.unti is not a units field; did you mean unit? "


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``python <args>`` from ``cwd`` as a user runs it (no ``HYDRA_FULL_ERROR``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env["JAX_PLATFORMS"] = "cpu"
    return subprocess.run(
        [sys.executable, *args, f"hydra.run.dir={cwd}/run", f"hydra.sweep.dir={cwd}/sweep"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_refused(proc: subprocess.CompletedProcess, message: str, root: Path) -> None:
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert message in proc.stderr, proc.stderr
    assert not list(root.glob("**/values.json")), "a job ran"


@pytest.mark.parametrize(
    "overrides",
    [
        ("scheduler.warmup=10",),
        ("-m", "scheduler=cosine,wsd", "scheduler.warmup=10"),
        (
            "-m",
            "hydra/sweeper=optuna",
            "hydra.sweeper.n_trials=2",
            "scheduler.lr=tag(log, interval(1e-4, 1e-1))",
            "scheduler.warmup=10",
        ),
    ],
    ids=["run", "basic-multirun", "optuna"],
)
def test_a_users_app_refuses_the_typo_before_its_job_runs(user_app, overrides):
    assert_refused(user_app.run(*overrides, check=False), WARMUP, user_app.root)


def test_the_example_trainer_refuses_the_typo_before_training(tmp_path):
    proc = run(tmp_path, str(REPO / "examples" / "train.py"), "steps=5", "scheduler.warmup=10")
    assert_refused(proc, WARMUP, tmp_path)
    assert not list(tmp_path.glob("**/metrics.csv"))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("scheduler.warmup=10",), WARMUP),
        (("optimizer=adamw", "optimizer.beta3=0.9"), BETA3),
        (("scheduler.units.unti=tokens",), UNTI),
        (("-m", "scheduler=cosine,linear", "scheduler.warmup=10"), WARMUP),
    ],
    ids=["scheduler", "optimizer", "units", "multirun"],
)
def test_lrview_refuses_the_typo_before_drawing(tmp_path, overrides, message):
    proc = run(tmp_path, "-m", "hydra_optax_schedules", *overrides, "terminal_plot=false")
    assert_refused(proc, message, tmp_path)
    assert not list(tmp_path.glob("**/schedule.csv"))
