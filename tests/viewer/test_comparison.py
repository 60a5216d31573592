"""The sweep comparison callback, in process, called as Hydra calls it: ``on_multirun_start``
with the sweep's config, ``on_job_end`` with each job's own config and result (in a worker,
for joblib: it shares nothing with the sweep's process in memory), then ``on_multirun_end``.

Each job's curve, peak, final and mean are checked against the spec's float64 formulas in
``reference.py``; labels against the overrides written out here.
"""

from __future__ import annotations

import csv
import os
import pickle
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import RunMode
from omegaconf import OmegaConf

from hydra_optax_schedules.viewer.comparison import RECORDS_DIR, CompareSchedules, read_records

from support.reference import reference_lr

BUILDER = "hydra_optax_schedules.build_schedule"


def job_config(sweep: Path, number: int, **fields):
    """A job's config as Hydra hands it to ``on_job_end``: its ``hydra`` node and its task."""
    return OmegaConf.create(
        {
            "hydra": {
                "mode": RunMode.MULTIRUN,
                "job": {"num": number},
                "sweep": {"dir": str(sweep)},
            },
            **fields,
        }
    )


def completed(overrides: list[str], value=None) -> JobReturn:
    job_return = JobReturn(overrides=overrides, status=JobStatus.COMPLETED)
    job_return.return_value = value
    return job_return


def run_sweep(callback: CompareSchedules, sweep: Path, jobs: list[tuple[dict, list[str], object]]):
    """Call the callback as Hydra does for a sweep of ``(task config, overrides, return)``;
    the callback is sent to the jobs as a pickle, as the joblib launcher sends it."""
    callback.on_multirun_start(job_config(sweep, 0))
    for number, (fields, overrides, value) in enumerate(jobs):
        in_worker = pickle.loads(pickle.dumps(callback))
        in_worker.on_job_end(job_config(sweep, number, **fields), completed(overrides, value))
    callback.on_multirun_end(job_config(sweep, 0))


def read_comparison(sweep: Path) -> list[dict[str, str]]:
    with open(sweep / "comparison.csv", newline="") as file:
        return list(csv.DictReader(file))


def cosine(lr: float) -> dict:
    return {"_target_": BUILDER, "name": "cosine", "lr": lr}


def test_each_job_is_labelled_by_its_swept_values_and_objective(tmp_path, capsys):
    lrs = [0.00012188056684060332, 0.0031622776601683794, 0.012345]
    jobs = [
        ({"steps": 200, "scheduler": cosine(lr)}, [f"scheduler.lr={lr!r}", "steps=200"], loss)
        for lr, loss in zip(lrs, [0.25, 0.125, 0.5], strict=True)
    ]

    run_sweep(CompareSchedules(run_length_key="steps"), tmp_path, jobs)

    rows = read_comparison(tmp_path)
    # One notation for the three peaks, though 0.012345 alone would read as a decimal.
    assert [row["label"] for row in rows] == ["lr=1.22e-4", "lr=3.16e-3", "lr=1.23e-2"]
    assert [float(row["objective"]) for row in rows] == [0.25, 0.125, 0.5]
    for row, lr in zip(rows, lrs, strict=True):
        values = [reference_lr(step, name="cosine", lr=lr, decay_steps=200) for step in range(201)]
        assert float(row["peak"]) == pytest.approx(max(values), rel=1e-12)
        assert float(row["final"]) == pytest.approx(values[-1], abs=1e-18)
        assert float(row["mean"]) == pytest.approx(sum(values[:-1]) / 200, rel=1e-12)
        assert row["schedule"] == "lr" and row["name"] == "cosine"
    out = capsys.readouterr().out
    assert "3 runs: steps=200 (lr)" in out
    assert re.search(r"^job +run +objective +peak +final +mean$", out, re.MULTILINE)
    table = re.findall(r"^(\d) +(lr=\S+) +(\S+) +(\S+) +(\S+) +(\S+)$", out, re.MULTILINE)
    assert [row[:5] for row in table] == [
        ("0", "lr=1.22e-4", "0.25", "1.22e-4", "0"),
        ("1", "lr=3.16e-3", "0.125", "3.16e-3", "0"),
        ("2", "lr=1.23e-2", "0.5", "1.23e-2", "0"),
    ]
    for (*_, mean), lr in zip(table, lrs, strict=True):  # the cosine's mean: about lr / 2
        expected = sum(reference_lr(s, name="cosine", lr=lr, decay_steps=200) for s in range(200))
        assert float(mean) == pytest.approx(expected / 200, rel=5e-3)
    assert "lr=1.22e-4 (objective 0.25)" in out  # the terminal plot's legend, below the plot
    assert f"wrote comparison.csv and comparison.png (3 runs) in {tmp_path}" in out
    assert (tmp_path / "comparison.png").read_bytes()[:4] == b"\x89PNG"


def test_the_run_length_comes_from_each_jobs_own_config(tmp_path):
    jobs = [
        (
            {"trainer": {"max_steps": steps}, "scheduler": cosine(1.0)},
            [f"trainer.max_steps={steps}"],
            None,
        )
        for steps in (100, 300)
    ]

    run_sweep(CompareSchedules(run_length_key="trainer.max_steps"), tmp_path, jobs)

    records = read_records(tmp_path)
    assert [int(r.schedules[0].curve.steps[-1]) for r in records] == [100, 300]
    for record, steps in zip(records, (100, 300), strict=True):
        expected = [reference_lr(s, name="cosine", lr=1.0, decay_steps=steps) for s in range(steps)]
        assert record.schedules[0].mean == pytest.approx(sum(expected) / steps, rel=1e-12)
    assert [row["label"] for row in read_comparison(tmp_path)] == [
        "max_steps=100",
        "max_steps=300",
    ]


def test_without_a_run_length_key_a_schedules_own_decay_steps_is_the_run(tmp_path):
    node = {**cosine(1.0), "decay_steps": 50}
    jobs = [({"scheduler": node}, ["seed=1"], None), ({"scheduler": node}, ["seed=2"], None)]

    run_sweep(CompareSchedules(), tmp_path, jobs)

    assert [int(r.schedules[0].curve.steps[-1]) for r in read_records(tmp_path)] == [50, 50]


def test_a_job_whose_schedule_cannot_be_compared_is_named_and_left_out(tmp_path, capsys):
    jobs = [
        ({"steps": 100, "scheduler": cosine(1.0)}, ["scheduler.warmup_steps=0"], None),
        (
            {"steps": 100, "scheduler": {**cosine(1.0), "warmup_steps": 500}},
            ["scheduler.warmup_steps=500"],
            None,
        ),
    ]

    run_sweep(CompareSchedules(run_length_key="steps"), tmp_path, jobs)

    captured = capsys.readouterr()
    assert "job 1 not compared: scheduler.warmup_steps=500" in captured.err
    assert "job 1 left out: not compared: scheduler.warmup_steps=500" in captured.out
    assert [row["job"] for row in read_comparison(tmp_path)] == ["0"]


def test_a_failed_job_is_named_in_one_line_and_left_out(tmp_path, capsys):
    callback = CompareSchedules(run_length_key="steps")
    callback.on_multirun_start(job_config(tmp_path, 0))
    callback.on_job_end(
        job_config(tmp_path, 0, steps=10, scheduler=cosine(1.0)), completed(["steps=10"])
    )
    failed = JobReturn(overrides=["steps=0"], status=JobStatus.FAILED)
    failed.return_value = ValueError("steps=0 is invalid: expected ...")
    callback.on_job_end(job_config(tmp_path, 1, steps=0), failed)
    callback.on_multirun_end(job_config(tmp_path, 0))

    captured = capsys.readouterr()
    assert captured.err == "job 1 failed (steps=0): steps=0 is invalid: expected ...\n"
    assert [row["job"] for row in read_comparison(tmp_path)] == ["0"]


def test_a_reused_sweep_dir_compares_only_this_sweeps_jobs(tmp_path, capsys):
    earlier = [({"steps": 10, "scheduler": cosine(1.0)}, [f"earlier={n}"], None) for n in range(3)]
    run_sweep(CompareSchedules(run_length_key="steps"), tmp_path, earlier)
    an_hour_ago = time.time_ns() - 3600 * 10**9
    for path in (tmp_path / RECORDS_DIR).glob("*.json"):
        os.utime(path, ns=(an_hour_ago, an_hour_ago))
    capsys.readouterr()

    now = [({"steps": 10, "scheduler": cosine(0.5)}, [f"now={n}"], None) for n in range(2)]
    run_sweep(CompareSchedules(run_length_key="steps"), tmp_path, now)

    assert f"(2 runs) in {tmp_path}" in capsys.readouterr().out
    assert [row["label"] for row in read_comparison(tmp_path)] == ["now=0", "now=1"]


def test_several_schedules_are_compared_column_by_column(tmp_path):
    linear = {"_target_": BUILDER, "name": "linear", "lr": 0.05}
    jobs = [
        ({"steps": steps, "scheduler": cosine(1e-3), "wd_schedule": linear}, [f"steps={steps}"], 1)
        for steps in (100, 200)
    ]

    run_sweep(CompareSchedules(run_length_key="steps"), tmp_path, jobs)

    rows = read_comparison(tmp_path)
    assert [(row["job"], row["schedule"]) for row in rows] == [
        ("0", "lr"),
        ("0", "wd_schedule"),
        ("1", "lr"),
        ("1", "wd_schedule"),
    ]
    assert float(rows[3]["mean"]) == pytest.approx(
        sum(reference_lr(s, name="linear", lr=0.05, decay_steps=200) for s in range(200)) / 200
    )


@pytest.mark.parametrize("value", [1000, "", 1.5])
def test_a_run_length_key_that_is_not_a_key_is_refused_when_the_callback_is_made(value):
    with pytest.raises(ValueError, match=r"run_length_key=.* is invalid: expected the key"):
        CompareSchedules(run_length_key=value)


def test_outside_a_multirun_the_callback_records_nothing(tmp_path):
    config = job_config(tmp_path, 0, steps=10, scheduler=cosine(1.0))
    config.hydra.mode = RunMode.RUN

    CompareSchedules(run_length_key="steps").on_job_end(config, completed([]))

    assert not (tmp_path / RECORDS_DIR).exists()


def test_importing_the_callback_imports_no_plotting_library():
    code = (
        "import sys; import hydra_optax_schedules.viewer.comparison; "
        "print(sorted(m for m in ('matplotlib', 'plotext') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_a_failed_instantiation_is_named_by_its_root_cause(tmp_path, capsys):
    try:
        try:
            raise ValueError("scheduler.warmup_steps=50 + ... > scheduler.decay_steps=30")
        except ValueError as cause:
            raise RuntimeError(
                "Error in call to target 'build_schedule':\nValueError(...)"
            ) from cause
    except RuntimeError as error:
        wrapped = error
    failed = JobReturn(overrides=["steps=30"], status=JobStatus.FAILED)
    failed.return_value = wrapped

    CompareSchedules().on_job_end(job_config(tmp_path, 2), failed)

    assert capsys.readouterr().err == (
        "job 2 failed (steps=30): scheduler.warmup_steps=50 + ... > scheduler.decay_steps=30\n"
    )
