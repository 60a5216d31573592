"""The sweep comparison callback, in process: which jobs it draws, in what order, how labelled."""

from __future__ import annotations

import os
import time
from pathlib import Path

import matplotlib.image
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import RunMode
from omegaconf import OmegaConf

from hydra_optax_schedules.viewer.comparison import SweepComparison, find_runs, labels_and_title


def write_job(sweep: Path, subdir: str, overrides: list[str], lrs: list[float]) -> None:
    """A job directory as the viewer and Hydra leave it: schedule.csv and .hydra/overrides.yaml."""
    job = sweep / subdir
    (job / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(overrides), job / ".hydra" / "overrides.yaml")
    rows = "".join(f"{step},{lr!r}\n" for step, lr in enumerate(lrs))
    (job / "schedule.csv").write_text("step,lr\n" + rows)


def sweep_config(sweep: Path):
    return OmegaConf.create(
        {"hydra": {"sweep": {"dir": str(sweep)}, "output_subdir": ".hydra"}, "terminal_plot": False}
    )


def test_runs_come_in_job_number_order_with_their_overrides(tmp_path):
    for job in range(12):
        write_job(tmp_path, str(job), [f"scheduler.lr={job}e-4", "steps=2"], [0.0, 1.0, 0.5])

    runs = find_runs(tmp_path)

    assert [run.job_dir.name for run in runs] == [str(job) for job in range(12)]
    assert runs[10].overrides == ("scheduler.lr=10e-4", "steps=2")
    assert list(runs[10].curves) == ["lr"]
    assert runs[10].curves["lr"].steps.tolist() == [0, 1, 2]
    assert runs[10].curves["lr"].values.tolist() == [0.0, 1.0, 0.5]


def test_without_saved_overrides_a_run_is_named_by_its_directory(tmp_path):
    write_job(tmp_path, "lr=1", ["x=1"], [1.0, 1.0])

    (run,) = find_runs(tmp_path, output_subdir=None)

    assert run.overrides == ("lr=1",)


def test_shared_overrides_go_to_the_title_and_the_rest_to_the_legend(tmp_path):
    write_job(tmp_path, "0", ["scheduler=cosine", "steps=10"], [1.0, 0.0])
    write_job(tmp_path, "1", ["scheduler=linear", "steps=10"], [1.0, 0.0])

    labels, title = labels_and_title(find_runs(tmp_path))

    assert labels == ["scheduler=cosine", "scheduler=linear"]
    assert title == "2 runs: steps=10"


def test_a_run_with_nothing_of_its_own_gets_every_label_in_full(tmp_path):
    write_job(tmp_path, "0", ["steps=10"], [1.0, 0.0])
    write_job(tmp_path, "1", ["steps=10", "scheduler=linear"], [1.0, 0.0])

    labels, title = labels_and_title(find_runs(tmp_path))

    assert labels == ["steps=10", "steps=10 scheduler=linear"]
    assert title == "2 runs"


def test_a_reused_sweep_dir_compares_only_this_sweeps_jobs(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    an_hour_ago = time.time_ns() - 3600 * 10**9
    for job in range(3):
        write_job(sweep, str(job), [f"earlier={job}"], [1.0, 0.0])
        os.utime(sweep / str(job) / "schedule.csv", ns=(an_hour_ago, an_hour_ago))
    callback = SweepComparison()

    callback.on_multirun_start(sweep_config(sweep))
    for job in range(2):  # this sweep rewrites jobs 0 and 1; job 2 is left from before
        write_job(sweep, str(job), [f"now={job}"], [0.5, 0.25])
    callback.on_multirun_end(sweep_config(sweep))

    assert f"wrote comparison.png (2 runs) in {sweep}" in capsys.readouterr().out
    assert (sweep / "comparison.png").read_bytes()[:4] == b"\x89PNG"


def test_a_job_with_several_schedules_is_read_column_by_column(tmp_path, capsys):
    callback = SweepComparison()
    callback.on_multirun_start(sweep_config(tmp_path))
    job = tmp_path / "0"
    (job / ".hydra").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create(["steps=2"]), job / ".hydra" / "overrides.yaml")
    (job / "schedule.csv").write_text("step,lr,wd_schedule\n0,0.001,0.05\n2,0.0,0.025\n")
    write_job(tmp_path, "1", ["steps=3"], [0.002, 0.001, 0.0, 0.0])

    (run, _) = find_runs(tmp_path)
    callback.on_multirun_end(sweep_config(tmp_path))

    assert list(run.curves) == ["lr", "wd_schedule"]
    assert run.curves["wd_schedule"].steps.tolist() == [0, 2]
    assert run.curves["wd_schedule"].values.tolist() == [0.05, 0.025]
    assert "wrote comparison.png (2 runs)" in capsys.readouterr().out
    height, width = matplotlib.image.imread(tmp_path / "comparison.png").shape[:2]
    assert (width, height) == (1200, 1147)  # two panels, lr above wd_schedule (one: 675 high)


def test_a_failed_job_is_named_in_one_line(tmp_path, capsys):
    config = OmegaConf.create({"hydra": {"mode": RunMode.MULTIRUN, "job": {"num": 3}}})
    failed = JobReturn(overrides=["steps=0"], status=JobStatus.FAILED)
    failed.return_value = ValueError("steps=0 is invalid: expected ...")

    SweepComparison().on_job_end(config, failed)

    assert capsys.readouterr().err == ("job 3 failed (steps=0): steps=0 is invalid: expected ...\n")
