"""The sweep comparison as any app gets it: ``hydra.callbacks.compare_schedules`` in its own
config, with the basic launcher, joblib's worker processes, and the Optuna sweeper (on
``lrview`` itself, whose objective is the mean learning rate).

Each job's compared curve is the curve the app itself built (its ``values.json``) and the
spec's float64 formula (``reference.py``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from omegaconf import OmegaConf

from support.reference import reference_lr
from support.user_app import USER_CONFIG

CALLBACK = """
hydra:
  callbacks:
    compare_schedules:
      _target_: hydra_optax_schedules.viewer.CompareSchedules
      run_length_key: trainer.max_steps
      terminal_plot: false
"""
JOBLIB = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")


def read_comparison(sweep) -> list[dict[str, str]]:
    with open(sweep / "comparison.csv", newline="") as file:
        return list(csv.DictReader(file))


def read_record(sweep, job: int) -> dict:
    return json.loads((sweep / ".schedules" / f"{job}.json").read_text())


@pytest.mark.parametrize(
    "launcher",
    [pytest.param((), id="basic"), pytest.param(JOBLIB, id="joblib", marks=pytest.mark.full)],
)
def test_an_app_that_enables_the_callback_gets_its_sweep_compared(user_app, launcher):
    user_app.write("conf/config.yaml", USER_CONFIG + textwrap.dedent(CALLBACK))
    lrs = ["1e-3", "0.00012188056684060332"]
    proc = user_app.run("-m", *launcher, "scheduler=cosine,linear", f"scheduler.lr={','.join(lrs)}")

    sweep = user_app.root / "sweep"
    rows = read_comparison(sweep)
    assert [row["label"] for row in rows] == [
        "scheduler=cosine lr=1e-3",
        "scheduler=cosine lr=1.22e-4",
        "scheduler=linear lr=1e-3",
        "scheduler=linear lr=1.22e-4",
    ]
    assert [row["objective"] for row in rows] == [""] * 4  # the app returns nothing
    for job, row in enumerate(rows):
        name, lr = (
            row["name"],
            float(OmegaConf.load(sweep / str(job) / ".hydra/config.yaml").scheduler.lr),
        )
        expected = [reference_lr(s, name=name, lr=lr, decay_steps=100) for s in range(101)]
        assert float(row["mean"]) == pytest.approx(np.mean(expected[:-1]), rel=1e-12)
        record = read_record(sweep, job)["schedules"][0]
        assert record["steps"] == list(range(101))
        built_by_the_app = user_app.result(f"sweep/{job}")["values"][:101]
        np.testing.assert_allclose(record["values"], built_by_the_app, rtol=1e-12, atol=1e-18)
    assert (sweep / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert re.search(r"^job +run +peak +final +mean$", proc.stdout, re.MULTILINE)


@pytest.mark.full  # the full lane (CI): an Optuna sweep
def test_optuna_on_lrview_minimizes_the_mean_learning_rate(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hydra_optax_schedules",
            "-m",
            "hydra/sweeper=optuna",
            "hydra.sweeper.n_trials=3",
            "hydra.sweeper.sampler.seed=0",
            "scheduler=choice(cosine, linear)",
            "scheduler.lr=tag(log, interval(1e-4, 1e-1))",
            "steps=100",
            "terminal_plot=false",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    sweep = tmp_path / "sweep"
    rows = read_comparison(sweep)
    assert len(rows) == 3
    means = []
    for row in rows:
        config = OmegaConf.load(sweep / row["job"] / ".hydra" / "config.yaml").scheduler
        expected = [
            reference_lr(s, name=config.name, lr=config.lr, decay_steps=100) for s in range(100)
        ]
        means.append(np.mean(expected))
        assert float(row["objective"]) == pytest.approx(means[-1], rel=1e-12)
        # The swept values only, in one notation: lr=1.22e-4, never lr=0.00012188056684060332.
        assert re.fullmatch(
            r"scheduler=(cosine|linear) lr=(\d(\.\d+)?e-\d|0\.\d{1,3})", row["label"]
        )
    results = OmegaConf.load(sweep / "optimization_results.yaml")
    assert results.best_value == pytest.approx(min(means), rel=1e-12)
