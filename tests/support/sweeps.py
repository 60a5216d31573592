"""Sweeps of the example trainer run as a user would, and checks of their job directories.

Shared by ``test_sweeps.py`` (one machine) and ``test_slurm.py`` (a Slurm cluster): a tiny run
(30 steps, a small model) of ``examples/train.py -m`` in a subprocess, and the check that each
job's ``metrics.csv`` holds the spec's float64 learning rates (``reference.py``) for that job's
own saved config.
"""

from __future__ import annotations

import csv
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from .composed_reference import composed_lr

#: The fields that the reference takes.
REFERENCE_FIELDS = set(inspect.signature(composed_lr).parameters) - {"step"}


def counted_in_steps(units):
    """Whether a ``units`` node (every option carries one) is at its defaults: a run counted
    in steps, no batch size, no ramp, no length in a unit (what no node means)."""
    if not isinstance(units, dict) or units.get("unit", "steps") != "steps":
        return False
    unset = ("batch_size", "sequence_length", "samples_per_epoch", "ramp", "decay")
    return (
        all(units.get(key) is None for key in (*unset, "cooldown_start"))
        and all(units.get(key) in (None, 0) for key in ("warmup", "cooldown"))
        and units.get("lr_scaling") in (None, "none")
    )


REPO = Path(__file__).resolve().parents[2]
TRAIN = REPO / "examples" / "train.py"
LR_SEARCH = REPO / "conf" / "hydra" / "sweeper" / "lr_search.yaml"

STEPS = 30
TINY_RUN = (f"steps={STEPS}", "progress=false", "data.size=256", "model.hidden=16")
JOBLIB = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
SUBMITIT_LOCAL = (
    "hydra/launcher=submitit_local",
    "hydra.launcher.timeout_min=5",
    "hydra.launcher.cpus_per_task=1",
)
FINAL_LOSS = re.compile(r"final loss over the whole data set: (\S+) ")


def run_sweep(cwd: Path, *overrides: str, full_error: bool = True) -> subprocess.CompletedProcess:
    """``train.py -m`` on a tiny run, its sweep directory ``cwd/sweep``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    env["JAX_PLATFORMS"] = "cpu"
    if full_error:
        env["HYDRA_FULL_ERROR"] = "1"
    args = [
        sys.executable,
        str(TRAIN),
        "-m",
        *TINY_RUN,
        *overrides,
        f"hydra.sweep.dir={cwd / 'sweep'}",
        f"hydra.run.dir={cwd / 'run'}",
    ]
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def assert_succeeded(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"sweep failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"


def job_dirs(sweep: Path) -> list[Path]:
    """The sweep's job directories (``0``, ``1``, ...), in job order."""
    return sorted((d for d in sweep.iterdir() if d.name.isdigit()), key=lambda d: int(d.name))


def read_metrics(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return {key: np.array([float(row[key]) for row in rows]) for key in ("step", "lr", "loss")}


def assert_each_job_followed_its_schedule(jobs: list[Path]) -> list[DictConfig]:
    """Each job trained for the whole run at the schedule its own saved config describes.

    Returns the jobs' configs, as Hydra saved them in ``.hydra/config.yaml``.
    """
    configs = []
    for job in jobs:
        config = OmegaConf.load(job / ".hydra" / "config.yaml")
        fields = {
            key: value
            for key, value in OmegaConf.to_container(config.scheduler).items()
            if not key.startswith("_")
        }
        # Every option has every field; the reference takes those of the built-in families.
        unknown = {key: fields.pop(key) for key in set(fields) - REFERENCE_FIELDS}
        assert all(value is None for value in unknown.values() if not counted_in_steps(value)), (
            unknown
        )
        fields["decay_steps"] = config.steps  # what the trainer passes at runtime
        metrics = read_metrics(job / "metrics.csv")
        np.testing.assert_array_equal(metrics["step"], np.arange(config.steps), err_msg=str(job))
        expected = [composed_lr(int(step), **fields) for step in metrics["step"]]
        np.testing.assert_allclose(
            metrics["lr"], expected, rtol=1e-6, atol=1e-6 * fields["lr"], err_msg=str(job)
        )
        configs.append(config)
    return configs


def final_loss(job: Path) -> float:
    """The final loss the job returned, as its log reports it (5 decimals)."""
    return float(FINAL_LOSS.search((job / "train.log").read_text()).group(1))
