"""The example trainer's checkpoints (orbax): a run killed with SIGKILL and resumed writes the
``metrics.csv`` of the run that was never interrupted, every row and every column; a resume
whose config moves the learning rate (the main schedule's, or a parameter group's own) stops
before any update; a cooldown branched at the resume step from the command line
(``scheduler.cooldown_start=resume``) starts from the saved run's value, and a run so branched,
killed during its cooldown and resumed with the same command line, continues that cooldown.
"""

from __future__ import annotations

import csv
import os
import random
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support.reference import reference_lr

REPO = Path(__file__).resolve().parents[2]
TRAIN = REPO / "examples" / "train.py"
STEPS, EVERY = 120, 10
RUN = ["scheduler=cosine", f"steps={STEPS}", f"checkpoint_every={EVERY}", "progress=false"]
SAVED = re.compile(r"saved a checkpoint at step (\d+)")

pytest.importorskip("orbax.checkpoint")


def command(run_dir: Path, *overrides: str) -> list[str]:
    return [sys.executable, str(TRAIN), *overrides, f"hydra.run.dir={run_dir}"]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYDRA_", "JAX_PLATFORMS"))}
    return {**env, "HYDRA_FULL_ERROR": "1", "JAX_PLATFORMS": "cpu"}


def train(run_dir: Path, *overrides: str, succeeds: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        command(run_dir, *overrides),
        cwd=run_dir.parent,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert (proc.returncode == 0) == succeeds, f"{proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


def kill_after_checkpoint(run_dir: Path, at_least: int, *overrides: str) -> int:
    """Run the trainer and SIGKILL it as soon as it has saved a checkpoint at a step >=
    ``at_least``: it dies wherever it is then (an update, the next save). Returns that step."""
    proc = subprocess.Popen(
        command(run_dir, *overrides),
        cwd=run_dir.parent,
        env=environment(),
        stdout=subprocess.PIPE,  # Hydra logs to stdout
        stderr=subprocess.DEVNULL,
        text=True,
    )
    saved = None
    try:
        for line in proc.stdout:
            found = SAVED.search(line)
            if found and int(found.group(1)) >= at_least:
                saved = int(found.group(1))
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert saved is not None, "the trainer ended before the checkpoint it was to be killed after"
    assert proc.returncode == -signal.SIGKILL
    return saved


def metrics(run_dir: Path) -> list[list[str]]:
    with open(run_dir / "metrics.csv", newline="") as file:
        return list(csv.reader(file))


@pytest.mark.full  # the full lane (CI): five training runs with a checkpoint every 10 steps
def test_a_run_killed_several_times_and_resumed_writes_the_uninterrupted_metrics(tmp_path):
    whole = tmp_path / "whole"
    train(whole, *RUN)
    expected = metrics(whole)
    assert len(expected) == STEPS + 1  # the header, and a row per update

    killed = tmp_path / "killed"
    rng = random.Random(20)
    saved = kill_after_checkpoint(killed, rng.randrange(EVERY, 50), *RUN)
    assert not (killed / "metrics.csv").exists()  # it died mid-run
    for _ in range(2):  # killed again while resuming, later each time
        saved = kill_after_checkpoint(
            killed, rng.randrange(saved + EVERY, 100), *RUN, "resume=true"
        )
        assert not (killed / "metrics.csv").exists()
    proc = train(killed, *RUN, "resume=true")
    assert "the schedule is unchanged" in proc.stdout
    assert metrics(killed) == expected  # every row, the lr column included, digit for digit


SHORT = ["scheduler=cosine", "scheduler.warmup_steps=10", "checkpoint_every=20", "progress=false"]


@pytest.mark.full  # the full lane (CI): four training runs
def test_a_new_run_in_a_directory_with_checkpoints_is_refused_before_training(tmp_path):
    # orbax keeps a step it holds and skips the save: the run logged saves it never made.
    run = tmp_path / "run"
    train(run, *SHORT, "steps=40")
    proc = train(run, *SHORT, "steps=40", succeeds=False)
    assert "holds checkpoints of an earlier run (the latest at step 40)" in proc.stderr
    assert "add resume=true" in proc.stderr
    # A resume at the run's end trains nothing, and says so; a run length before it is refused.
    proc = train(run, *SHORT, "steps=40", "resume=true")
    assert "the run already ended at step 40: nothing left to train" in proc.stdout
    assert len(metrics(run)) == 40 + 1
    proc = train(run, *SHORT, "steps=30", "resume=true", "resume_policy=checkpoint", succeeds=False)
    assert proc.stderr.strip().endswith(
        "error: steps=30 ends this run before the step the checkpoint resumes at (40): "
        "give steps >= 40 to continue it"
    )


@pytest.mark.full  # the full lane (CI): three training runs
def test_a_resume_that_moves_the_lr_stops_before_training_and_a_branch_starts_from_it(tmp_path):
    run = tmp_path / "run"
    train(run, *SHORT, "steps=60")
    first = metrics(run)
    # Resume from step 40, as if the run had been killed there.
    (run / "metrics.csv").unlink()
    shutil.rmtree(run / "checkpoints" / "60")

    # A longer cosine moves the values after the warmup: refused before any update.
    proc = train(run, *SHORT, "steps=90", "resume=true", succeeds=False)
    message = re.search(
        r"scheduler\.decay_steps 60 -> 90 moves lr at step 40 from .* first at step (\d+), .*",
        proc.stderr,
    )
    assert message, proc.stderr[-3000:]
    old = {"lr": 1e-2, "name": "cosine", "warmup_steps": 10, "decay_steps": 60}
    differs = [
        s
        for s in range(41)
        if reference_lr(s, **old) != reference_lr(s, **{**old, "decay_steps": 90})
    ]
    assert int(message.group(1)) == differs[0]
    assert "(the resume step; " in message.group(0)
    assert "resume_policy=config" in message.group(0)
    assert not (run / "metrics.csv").exists()

    # One override: a cooldown of 20 steps branched off the resume step; the run ends at 60.
    branch = ["resume=true", "scheduler.cooldown_start=resume", "scheduler.cooldown_steps=20"]
    proc = train(run, *SHORT, "steps=60", "checkpoint_every=10", *branch)
    assert "scheduler.cooldown_start None -> 40 reshapes the future" in proc.stdout
    branched = metrics(run)
    assert branched[:41] == first[:41]  # the header and the saved run's 40 rows, as they were
    column = branched[0].index("lr")  # the header names the columns
    lr = np.array([float(row[column]) for row in branched[1:]])
    assert len(lr) == 60
    at = reference_lr(40, **old)
    expected = [at * (1 - (s - 40) / 20) for s in range(40, 60)]  # linear, to 0
    np.testing.assert_allclose(lr[40:], expected, rtol=1e-6, atol=1e-6 * 1e-2)

    # Killed during its cooldown (after its checkpoint at 50) and resumed with the same
    # command line: the cooldown stays branched off step 40, and the rows are the same.
    (run / "metrics.csv").unlink()
    shutil.rmtree(run / "checkpoints" / "60")
    proc = train(run, *SHORT, "steps=60", "checkpoint_every=10", *branch)
    assert "resuming at step 50: the schedule is unchanged" in proc.stdout
    assert metrics(run) == branched


HEAD = "+optimizer.param_groups={head:{match:[head],scheduler:{lr:0.02,name:cosine}}}"


@pytest.mark.full  # the full lane (CI): three training runs
def test_a_groups_own_schedule_is_checked_on_resume_and_branches_off_it(tmp_path):
    run = tmp_path / "run"
    train(run, *SHORT, "steps=40", HEAD)
    (run / "metrics.csv").unlink()
    shutil.rmtree(run / "checkpoints" / "40")  # resume at 20
    proc = train(
        run,
        *SHORT,
        "steps=40",
        HEAD,
        "resume=true",
        "++optimizer.param_groups.head.scheduler.warmup_steps=5",
        succeeds=False,
    )
    assert re.search(
        r"optimizer\.param_groups\.head\.scheduler\.warmup_steps 0 -> 5 moves lr at step 20 from ",
        proc.stderr,
    ), proc.stderr[-3000:]
    group = "optimizer.param_groups.head.scheduler"
    branch = [f"++{group}.cooldown_start=resume", f"++{group}.cooldown_steps=10"]
    proc = train(run, *SHORT, "steps=40", HEAD, "resume=true", *branch)
    assert f"{group}.cooldown_start None -> 20 reshapes the future" in proc.stdout
    rows = metrics(run)
    column = rows[0].index("lr[head]")
    lr = [float(row[column]) for row in rows[1:]]
    assert len(lr) == 40  # the run length is the main schedule's: a group's branch keeps it
    fields = {"lr": 0.02, "name": "cosine", "decay_steps": 40}
    at = reference_lr(20, **fields)
    expected = [reference_lr(s, **fields) for s in range(20)] + [
        at * (1 - min(s - 20, 10) / 10) for s in range(20, 40)
    ]
    np.testing.assert_allclose(lr, expected, rtol=1e-6, atol=1e-8)
