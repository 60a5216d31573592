"""Sweeps beyond one process: the example trainer as real multiruns, with nothing lost.

Each sweep test runs ``examples/train.py -m`` in a subprocess, as a user would, on a tiny run
(30 steps, a small model), and checks the sweep directory: the sweeper's record of the sweep
(``multirun.yaml``, or Optuna's ``optimization_results.yaml``), exactly the expected jobs, and
in each job its ``metrics.csv`` whose learning rates are the spec's float64 formula
(``reference.py``) for that job's own saved config (the helpers are in ``sweeps.py``;
``test_slurm.py`` runs the same sweeps on a Slurm cluster). Launchers and sweepers pickle configs to
their workers, so the last test sends every schedule and config through a fresh interpreter
and back.
"""

from __future__ import annotations

import csv
import math
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.utils import JobStatus
from hydra.utils import instantiate
from omegaconf import OmegaConf

from hydra_optax_schedules import ScheduleConfigError, SchedulerConfig, build_lr_scheduler
from hydra_optax_schedules.config import SCHEDULE_NAMES

from support.sweeps import (
    LR_SEARCH,
    REPO,
    STEPS,
    assert_each_job_followed_its_schedule,
    assert_succeeded,
    final_loss,
    job_dirs,
    run_sweep,
)

# The full lane (CI): every sweep here starts launchers and worker processes.
pytestmark = pytest.mark.full

JOBLIB = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
SUBMITIT_LOCAL = (
    "hydra/launcher=submitit_local",
    "hydra.launcher.timeout_min=5",
    "hydra.launcher.cpus_per_task=1",
)


def test_joblib_runs_the_sweep_in_two_worker_processes(tmp_path):
    names = ["constant", "cosine", "linear", "exponential"]
    proc = run_sweep(
        tmp_path,
        *JOBLIB,
        f"scheduler={','.join(names)}",
        "scheduler.end_lr_factor=0.1",
        "scheduler.warmup_steps=5",
    )

    assert_succeeded(proc)
    sweep = tmp_path / "sweep"
    launcher = OmegaConf.load(sweep / "multirun.yaml").hydra.launcher
    assert launcher._target_.endswith(".JoblibLauncher")
    assert launcher.n_jobs == 2
    assert "Joblib.Parallel(n_jobs=2,backend=loky" in proc.stdout
    jobs = job_dirs(sweep)
    assert len(jobs) == len(names)
    configs = assert_each_job_followed_its_schedule(jobs)
    assert [config.scheduler.name for config in configs] == names
    # The trainer's callback compared the jobs, each labelled by its schedule and final loss,
    # though each ran in a worker process.
    rows = read_comparison(sweep)
    assert [row["label"] for row in rows] == [f"scheduler={name}" for name in names]
    for row, job in zip(rows, jobs, strict=True):
        assert float(row["objective"]) == pytest.approx(final_loss(job), abs=1e-5)
    assert (sweep / "comparison.png").is_file()


def read_comparison(sweep: Path) -> list[dict[str, str]]:
    """``comparison.csv``: a row per job (the trainer has one schedule)."""
    with open(sweep / "comparison.csv", newline="") as file:
        return list(csv.DictReader(file))


def test_submitit_local_runs_each_job_as_a_submitit_job_and_returns_its_result(tmp_path):
    names = ["wsd", "inverse_sqrt"]
    proc = run_sweep(
        tmp_path,
        *SUBMITIT_LOCAL,
        f"scheduler={','.join(names)}",
        "scheduler.warmup_steps=5",
        "scheduler.cooldown_steps=10",
    )

    assert_succeeded(proc)
    sweep = tmp_path / "sweep"
    launcher = OmegaConf.load(sweep / "multirun.yaml").hydra.launcher
    assert launcher._target_.endswith(".LocalLauncher")
    jobs = job_dirs(sweep)
    assert len(jobs) == len(names)
    configs = assert_each_job_followed_its_schedule(jobs)
    assert [config.scheduler.name for config in configs] == names

    # Each job's JobReturn comes back to the sweep process as submitit's result pickle.
    results = sorted(sweep.glob(".submitit/*/*_result.pkl"))
    assert len(results) == len(names)
    returns = {}
    for path in results:
        outcome, job_return = pickle.loads(path.read_bytes())
        assert outcome == "success"
        assert job_return.status is JobStatus.COMPLETED
        returns[Path(job_return.hydra_cfg.hydra.runtime.output_dir)] = job_return
    assert sorted(returns) == jobs
    assert len({r.hydra_cfg.hydra.job.id for r in returns.values()}) == len(names)
    for job, job_return in returns.items():
        assert job_return.return_value == pytest.approx(final_loss(job), abs=1e-5)
    # Each job's record came from a submitit process; the sweep's process compared them.
    rows = read_comparison(sweep)
    assert [row["label"] for row in rows] == [f"scheduler={name}" for name in names]
    assert [float(row["objective"]) for row in rows] == pytest.approx(
        [returns[job].return_value for job in jobs]
    )


def test_the_shipped_lr_search_minimizes_the_final_loss_with_optuna(tmp_path):
    search = OmegaConf.load(LR_SEARCH)
    proc = run_sweep(
        tmp_path, "hydra/sweeper=lr_search", "hydra.sweeper.n_trials=4", "scheduler.warmup_steps=3"
    )

    assert_succeeded(proc)
    sweep = tmp_path / "sweep"
    jobs = job_dirs(sweep)
    assert len(jobs) == 4
    # The Optuna sweeper writes no multirun.yaml; each job's hydra.yaml holds its config.
    sweeper = OmegaConf.load(jobs[0] / ".hydra" / "hydra.yaml").hydra.sweeper
    assert sweeper._target_.endswith(".OptunaSweeper")
    assert sweeper.params == search.params
    assert sweeper.n_trials == 4
    assert sweeper.storage is None  # the in-memory study
    configs = assert_each_job_followed_its_schedule(jobs)
    choices = re.fullmatch(r"choice\((.*)\)", search.params.scheduler).group(1).split(", ")
    for config in configs:
        assert config.scheduler.name in choices
        assert 1e-4 <= config.scheduler.lr <= 1e-1

    results = OmegaConf.load(sweep / "optimization_results.yaml")
    assert math.isfinite(results.best_value)
    assert set(results.best_params) == {"scheduler", "scheduler.lr"}
    losses = [final_loss(job) for job in jobs]
    best = int(np.argmin(losses))
    assert results.best_value == pytest.approx(losses[best], abs=1e-5)
    assert results.best_params.scheduler == configs[best].scheduler.name
    assert results.best_params["scheduler.lr"] == pytest.approx(configs[best].scheduler.lr)
    # Each trial compared, labelled by its suggested values and its objective, the final loss.
    rows = read_comparison(sweep)
    assert [float(row["objective"]) for row in rows] == pytest.approx(losses, abs=1e-5)
    for row, config in zip(rows, configs, strict=True):
        assert row["label"].startswith(f"scheduler={config.scheduler.name} lr=")
        assert len(row["label"]) < 40  # lr=1.22e-4, not lr=0.00012188056684060332


@pytest.mark.parametrize(
    "launcher", [(), JOBLIB, SUBMITIT_LOCAL], ids=["basic", "joblib", "submitit_local"]
)
def test_an_invalid_job_reports_its_error_and_the_other_jobs_complete(tmp_path, launcher):
    # Job 0 is invalid: warmup 25 + cooldown 10 > the run's 30 steps. Jobs 1 and 2 come after
    # it and still run: Hydra's run_job catches a job's exception, every launcher finishes the
    # batch, and only then does the sweeper raise the first failure.
    proc = run_sweep(
        tmp_path,
        *launcher,
        "scheduler.warmup_steps=25,5,0",
        "scheduler.cooldown_steps=10",
        full_error=False,  # what a user sees by default
    )

    assert proc.returncode == 1
    assert "Error executing job with overrides:" in proc.stderr
    assert "'scheduler.warmup_steps=25'" in proc.stderr
    assert (
        f"scheduler.warmup_steps=25 + scheduler.cooldown_steps=10 > scheduler.decay_steps={STEPS}"
        f" is invalid: warmup and cooldown must fit in decay_steps (scheduler.decay_steps is the "
        f"run length, run_steps={STEPS})"
    ) in proc.stderr
    jobs = job_dirs(tmp_path / "sweep")
    assert len(jobs) == 3
    invalid, *valid = jobs
    # The schedule is built before training starts: no update was made, nothing logged.
    assert not (invalid / "metrics.csv").exists()
    assert not re.search(r"step \d+/|final loss", (invalid / "train.log").read_text())
    configs = assert_each_job_followed_its_schedule(valid)
    assert [config.scheduler.warmup_steps for config in configs] == [5, 0]


# Run in a fresh interpreter: loads what the test sent, evaluates every schedule there (on
# Python ints, on a NumPy array and under jax.jit) and pickles everything back.
FRESH_PROCESS = """
import pickle
import sys
from pathlib import Path

directory, start, stop = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sent = pickle.loads((directory / "sent.pkl").read_bytes())

import jax
import jax.numpy as jnp
import numpy as np

from hydra_optax_schedules import Schedule

values = {}
for key, value in sent["objects"].items():
    if isinstance(value, Schedule):
        values[key] = {
            "host": [value(step) for step in range(start, stop)],
            "numpy": value(np.arange(start, stop)),
            "jit": np.asarray(jax.jit(value)(jnp.arange(start, stop))),
        }
(directory / "received.pkl").write_bytes(pickle.dumps({**sent, "values": values}))
"""


#: What the options that have no default main phase need (train.yaml: 500 steps, warmup 50).
OWN_FIELDS = {
    "multistep": ["scheduler.milestones=[200,300]"],
    "stages": ["scheduler.stages=[{steps:100,shape:cosine,end:0.1},{}]"],
}


def configs_and_schedules() -> dict[str, object]:
    """Every option composed as the trainer's config, as its dataclass and as its schedule,
    and a ``SchedulerConfig`` using every shape, with its schedule."""
    objects: dict[str, object] = {}
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        for name in SCHEDULE_NAMES:
            cfg = compose(
                "train",
                overrides=[
                    f"scheduler={name}",
                    "scheduler.end_lr_factor=0.1",
                    "scheduler.cooldown_steps=100",
                    *OWN_FIELDS.get(name, []),
                ],
            )
            objects[f"{name} composed config"] = cfg
            objects[f"{name} option"] = OmegaConf.to_object(cfg.scheduler)
            objects[f"{name} schedule"] = instantiate(cfg.scheduler, run_steps=cfg.steps)
    config = SchedulerConfig(
        lr=3e-4,
        name="polynomial",
        decay_steps=500,
        end_lr=3e-5,
        warmup_start_lr=1e-5,
        warmup_shape="cosine",
        warmup_fraction=0.1,
        cooldown_shape="sqrt",
        cooldown_fraction=0.2,
        power=1.5,
    )
    objects["SchedulerConfig"] = config
    objects["SchedulerConfig schedule"] = build_lr_scheduler(config)
    return objects


def test_schedules_and_configs_pickle_to_equal_values_in_a_fresh_process(tmp_path):
    objects = configs_and_schedules()
    with pytest.raises(ScheduleConfigError) as caught:
        build_lr_scheduler(
            SchedulerConfig(
                lr=1.0, name="cosine", decay_steps=30, warmup_steps=25, cooldown_steps=10
            )
        )
    error = caught.value
    steps = range(-2, 620)  # before the start, every phase and boundary, past the end

    for key, value in objects.items():
        assert pickle.loads(pickle.dumps(value)) == value, key
    (tmp_path / "sent.pkl").write_bytes(pickle.dumps({"objects": objects, "error": error}))
    proc = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(tmp_path), str(steps.start), str(steps.stop)],
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr

    received = pickle.loads((tmp_path / "received.pkl").read_bytes())
    assert received["objects"] == objects  # unpickled there, pickled back: still equal
    assert type(received["error"]) is ScheduleConfigError
    assert received["error"].args == error.args
    assert error.field is not None
    assert received["error"].field == error.field
    schedules = {key: value for key, value in objects.items() if key.endswith("schedule")}
    assert set(received["values"]) == set(schedules)
    for key, schedule in schedules.items():
        values = received["values"][key]
        assert values["host"] == [schedule(step) for step in steps], key
        np.testing.assert_array_equal(values["numpy"], schedule(np.array(steps)), err_msg=key)
        np.testing.assert_allclose(
            values["jit"], values["host"], rtol=1e-6, atol=1e-6 * schedule.config.lr, err_msg=key
        )
