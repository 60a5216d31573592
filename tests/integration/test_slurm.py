"""Sweeps on a real Slurm cluster: each job of the example trainer's sweep is a task of a Slurm
job array, sent by Hydra's submitit launcher (``hydra/launcher=submitit_slurm``).

Each test runs ``examples/train.py -m`` from a temp directory as a user would, checks the jobs'
results as ``test_sweeps.py`` does, and asks Slurm's accounting (``sacct``) which array tasks
it ran, in which partition, and how they ended. CI starts a single-node cluster with
``.ci/slurm-cluster.sh up``; to run these tests on your machine:

    sudo .ci/slurm-cluster.sh up
    export SLURM_CONF=/tmp/hydra-optax-slurm/slurm.conf
    pytest tests/integration/test_slurm.py

They use the cluster's default partition. Where no Slurm answers they skip, except under
``CI=true``, where they fail: CI must not lose them silently.
"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from support.sweeps import (
    STEPS,
    assert_each_job_followed_its_schedule,
    assert_succeeded,
    final_loss,
    job_dirs,
    run_sweep,
)

# The full lane (CI): Slurm jobs, on CI's single-node cluster.
pytestmark = pytest.mark.full

CLUSTER_CONF = "/tmp/hydra-optax-slurm/slurm.conf"  # where .ci/slurm-cluster.sh writes it
SLURM_TIMEOUT = 120  # seconds for Slurm to answer, run a job, or account for it
UNFINISHED = {"PENDING", "RUNNING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED"}


def slurm(*args: str) -> str:
    """Run a Slurm command; its standard output."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=SLURM_TIMEOUT, check=True)
    return proc.stdout


@pytest.fixture(scope="session")
def partition() -> str:
    """The default partition of the Slurm cluster that answers ``sinfo``."""
    try:
        partitions = slurm("sinfo", "--noheader", "--format=%P").split()
    except FileNotFoundError:
        reason = "sinfo is not installed"
    except subprocess.CalledProcessError as error:
        reason = (error.stderr.strip().splitlines() or [f"sinfo exited {error.returncode}"])[-1]
    except subprocess.TimeoutExpired:
        reason = f"sinfo did not answer within {SLURM_TIMEOUT}s"
    else:
        if partitions:
            default = [name for name in partitions if name.endswith("*")]
            return (default or partitions)[0].rstrip("*")
        reason = "sinfo lists no partition"
    message = (
        f"no Slurm cluster ({reason}); start one: sudo .ci/slurm-cluster.sh up && "
        f"export SLURM_CONF={CLUSTER_CONF}"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the Slurm tests must run)")
    pytest.skip(message)


def on_slurm(partition: str, name: str) -> tuple[str, ...]:
    """The launcher overrides: a small job (1 CPU, 1 GB, 5 minutes) named ``name``."""
    return (
        "hydra/launcher=submitit_slurm",
        f"hydra.launcher.partition={partition}",
        "hydra.launcher.timeout_min=5",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=1",
        f"hydra.launcher.name={name}",
    )


def slurm_job_id(job: Path) -> str:
    """The Slurm job that ran this Hydra job (``<array>_<task>``), as the job recorded it."""
    return OmegaConf.load(job / ".hydra" / "hydra.yaml").hydra.job.id


def accounted(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Slurm's accounting of the arrays of these jobs, once these jobs have ended:
    ``{array task: (partition, state)}``."""
    arrays = ",".join(sorted({job_id.split("_")[0] for job_id in job_ids}))
    deadline = time.monotonic() + SLURM_TIMEOUT
    while True:
        rows = slurm(
            "sacct",
            "--noheader",
            "--parsable2",
            "--allocations",
            f"--jobs={arrays}",
            "--format=JobID,Partition,State",
        ).splitlines()
        # A cancelled job's state reads "CANCELLED by <uid>".
        fields = (row.split("|") for row in rows)
        states = {job: (where, state.split()[0]) for job, where, state in fields}
        # slurmdbd may record a job's end before its partition: wait for both.
        ended = all(
            states.get(job_id, ("", "PENDING"))[1] not in UNFINISHED and states[job_id][0]
            for job_id in job_ids
        )
        if ended or time.monotonic() > deadline:
            return states
        time.sleep(1)


def test_a_sweep_runs_as_a_slurm_job_array_and_each_job_follows_its_schedule(tmp_path, partition):
    names = ["cosine", "wsd", "polynomial"]
    proc = run_sweep(
        tmp_path,
        *on_slurm(partition, "sweep"),
        f"scheduler={','.join(names)}",
        "scheduler.warmup_steps=5",
        "scheduler.cooldown_steps=10",
    )

    assert_succeeded(proc)
    sweep = tmp_path / "sweep"
    launcher = OmegaConf.load(sweep / "multirun.yaml").hydra.launcher
    assert launcher._target_.endswith(".SlurmLauncher")
    jobs = job_dirs(sweep)
    assert len(jobs) == len(names)
    configs = assert_each_job_followed_its_schedule(jobs)
    assert [config.scheduler.name for config in configs] == names

    ids = [slurm_job_id(job) for job in jobs]
    array = ids[0].split("_")[0]
    assert ids == [f"{array}_{task}" for task in range(len(names))]
    assert accounted(ids) == {job_id: (partition, "COMPLETED") for job_id in ids}


def test_an_invalid_job_on_slurm_reports_its_error_and_the_other_jobs_complete(tmp_path, partition):
    # Job 0 is invalid: warmup 25 + cooldown 10 > the run's 30 steps.
    proc = run_sweep(
        tmp_path,
        *on_slurm(partition, "invalid"),
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
    assert not (invalid / "metrics.csv").exists()
    configs = assert_each_job_followed_its_schedule(valid)
    assert [config.scheduler.warmup_steps for config in configs] == [5, 0]
    # The error is the job's result, not a failure of the Slurm job.
    ids = [slurm_job_id(job) for job in jobs]
    assert accounted(ids) == {job_id: (partition, "COMPLETED") for job_id in ids}


def started(job: Path) -> str:
    """The Slurm job id of this Hydra job, once it started: Hydra saved its configs, the last of
    them ``overrides.yaml``, after ``hydra.yaml`` (whose job id we read) is complete."""
    deadline = time.monotonic() + SLURM_TIMEOUT
    while not (job / ".hydra" / "overrides.yaml").exists():
        assert time.monotonic() < deadline, f"{job} did not start within {SLURM_TIMEOUT}s"
        time.sleep(0.5)
    return slurm_job_id(job)


def test_a_job_that_slurm_cancels_fails_the_sweep_and_the_other_jobs_complete(tmp_path, partition):
    # Jobs 0 and 1 are short; job 2 would train for ten million steps: we cancel it once it runs.
    name = f"cancel-{os.getpid()}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        sweep = pool.submit(
            run_sweep,
            tmp_path,
            *on_slurm(partition, name),
            f"steps={STEPS},{STEPS + 1},10000000",
            "scheduler.warmup_steps=5",
            full_error=False,
        )
        try:
            cancelled = started(tmp_path / "sweep" / "2")
            assert (
                slurm("squeue", "--noheader", f"--jobs={cancelled}", "--format=%T") == "RUNNING\n"
            )
            slurm("scancel", cancelled)
            proc = sweep.result()  # bounded by run_sweep's own timeout
        finally:
            slurm("scancel", f"--name={name}")  # nothing is left running if the test failed

    assert proc.returncode == 1
    assert "submitit.core.utils.UncompletedJobError" in proc.stderr
    assert f"Job {cancelled} " in proc.stderr
    assert "has not produced any output (state: CANCELLED" in proc.stderr
    jobs = job_dirs(tmp_path / "sweep")
    assert len(jobs) == 3
    *completed, killed = jobs
    assert not (killed / "metrics.csv").exists()
    configs = assert_each_job_followed_its_schedule(completed)
    assert [config.steps for config in configs] == [STEPS, STEPS + 1]
    ids = [slurm_job_id(job) for job in jobs]
    assert ids[2] == cancelled
    assert accounted(ids) == {
        ids[0]: (partition, "COMPLETED"),
        ids[1]: (partition, "COMPLETED"),
        cancelled: (partition, "CANCELLED"),
    }


def test_the_lr_search_runs_its_optuna_trials_as_slurm_jobs(tmp_path, partition):
    # Three trials, asked two at a time (lr_search's n_jobs): a job array of two tasks, then the
    # third trial alone, which submitit sends as a plain job.
    proc = run_sweep(
        tmp_path,
        *on_slurm(partition, "lr-search"),
        "hydra/sweeper=lr_search",
        "hydra.sweeper.n_trials=3",
        "scheduler.warmup_steps=3",
    )

    assert_succeeded(proc)
    sweep = tmp_path / "sweep"
    jobs = job_dirs(sweep)
    assert len(jobs) == 3
    hydra = OmegaConf.load(jobs[0] / ".hydra" / "hydra.yaml").hydra
    assert hydra.sweeper._target_.endswith(".OptunaSweeper")
    assert hydra.launcher._target_.endswith(".SlurmLauncher")
    assert_each_job_followed_its_schedule(jobs)

    ids = [slurm_job_id(job) for job in jobs]
    array = ids[0].split("_")[0]
    assert ids[:2] == [f"{array}_0", f"{array}_1"]
    assert ids[2].isdigit() and int(ids[2]) > int(array)
    assert accounted(ids) == {job_id: (partition, "COMPLETED") for job_id in ids}
    results = OmegaConf.load(sweep / "optimization_results.yaml")
    assert results.best_value == pytest.approx(min(final_loss(job) for job in jobs), abs=1e-5)
