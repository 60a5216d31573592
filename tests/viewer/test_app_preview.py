"""``lrview --config-path conf --config-name config``: a user's own app's schedule, previewed.

The app (``support/user_app.py``) composes its ``scheduler`` node from its own config, which
sets ``decay_steps: ${trainer.max_steps}`` and has no ``steps``. The viewer must read that node
exactly as the app composes it, with the app's overrides: each test runs the app itself with
the same overrides and compares the app's own values with the viewer's ``schedule.csv``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from hydra_optax_schedules.viewer.app import app_arguments

from support.reference import reference_lr

CALLBACK = "++hydra.callbacks.compare_schedules"


def run_lrview(user_app, *args: str, status: int = 0) -> subprocess.CompletedProcess:
    """``python -m hydra_optax_schedules --config-path conf --config-name config ...``, run
    from the app's directory, as its user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYDRA_")}
    command = [
        sys.executable,
        "-m",
        "hydra_optax_schedules",
        "--config-path",
        "conf",
        "--config-name",
        "config",
        *args,
        f"hydra.run.dir={user_app.root}/preview",
        f"hydra.sweep.dir={user_app.root}/preview-sweep",
    ]
    proc = subprocess.run(
        command, cwd=user_app.root, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == status, proc.stdout + proc.stderr
    return proc


def previewed(user_app, job_dir: str = "preview") -> tuple[list[int], np.ndarray]:
    header, *lines = (user_app.root / job_dir / "schedule.csv").read_text().splitlines()
    assert header == "step,lr"
    rows = [line.split(",") for line in lines]
    return [int(step) for step, _ in rows], np.array([float(lr) for _, lr in rows])


def test_the_apps_schedule_is_previewed_as_the_app_builds_it(user_app):
    proc = run_lrview(user_app)
    user_app.run()

    steps, lrs = previewed(user_app)
    assert steps == list(range(101))  # the run length: the app's trainer.max_steps
    app_values = user_app.result()["values"]
    np.testing.assert_allclose(lrs, app_values[:101], rtol=1e-12, atol=1e-15)
    expected = [reference_lr(s, name="cosine", lr=1e-3, decay_steps=100) for s in steps]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
    assert proc.stdout.startswith("cosine schedule over 100 steps")


@pytest.mark.full  # the full lane (CI): two more processes, of the kind the first test runs
def test_the_apps_overrides_apply_to_its_schedule_and_its_run_length(user_app):
    overrides = ["scheduler=linear", "scheduler.warmup_steps=10", "trainer.max_steps=60"]
    run_lrview(user_app, *overrides)
    user_app.run(*overrides)

    steps, lrs = previewed(user_app)
    assert steps == list(range(61))
    app_values = user_app.result()["values"]
    np.testing.assert_allclose(lrs, app_values[:61], rtol=1e-12, atol=1e-15)
    config = dict(name="linear", lr=1e-3, decay_steps=60, warmup_steps=10)
    np.testing.assert_allclose(lrs, [reference_lr(s, **config) for s in steps], atol=1e-15)


@pytest.mark.full  # a subprocess or a real model: the full lane (CI)
def test_a_run_length_the_app_gives_at_runtime_is_asked_for_in_one_line(user_app):
    proc = run_lrview(user_app, "scheduler.decay_steps=null", status=1)

    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "scheduler.decay_steps=None" in lines[0]
    assert "steps=10000 or 'steps=${trainer.max_steps}'" in lines[0]

    run_lrview(user_app, "scheduler.decay_steps=null", "steps=${trainer.max_steps}")
    steps, lrs = previewed(user_app)
    assert steps == list(range(101))
    expected = [reference_lr(s, name="cosine", lr=1e-3, decay_steps=100) for s in steps]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.full  # the full lane (CI): a multirun
def test_a_sweep_of_the_apps_config_is_compared(user_app):
    proc = run_lrview(user_app, "-m", "trainer.max_steps=50,100", "terminal_plot=false")

    sweep = user_app.root / "preview-sweep"
    for job, steps in enumerate((50, 100)):
        got, lrs = previewed(user_app, f"preview-sweep/{job}")
        assert got == list(range(steps + 1))
        expected = [reference_lr(s, name="cosine", lr=1e-3, decay_steps=steps) for s in got]
        np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
    labels = [line.split(",")[1] for line in (sweep / "comparison.csv").read_text().splitlines()]
    assert labels == ["label", "max_steps=50", "max_steps=100"]
    assert f"wrote comparison.csv and comparison.png (2 runs) in {sweep}" in proc.stdout


@pytest.mark.full  # the full lane (CI): one more process
def test_the_help_names_the_command():
    proc = subprocess.run(
        [sys.executable, "-m", "hydra_optax_schedules", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--config-path conf --config-name train" in proc.stdout


def test_without_an_apps_config_the_command_line_is_left_alone():
    args = ["-m", "steps=10,20", "scheduler=wsd"]
    assert app_arguments(args) == args


@pytest.mark.parametrize("form", ["--config-path conf", "-cp conf", "--config-path=conf"])
def test_an_apps_config_path_is_read_from_here_and_the_viewers_options_always_apply(
    tmp_path, monkeypatch, form
):
    monkeypatch.chdir(tmp_path)
    given = [*form.split(), "--config-name", "train", "steps=300", "log_scale=true", "x.y=1"]

    rewritten = app_arguments(given)

    path = str(tmp_path / "conf")
    expected_path = [f"--config-path={path}"] if "=" in form else [form.split()[0], path]
    assert rewritten == [
        *expected_path,
        "--config-name",
        "train",
        "++steps=300",
        "++log_scale=true",
        "x.y=1",
        f"{CALLBACK}._target_=hydra_optax_schedules.viewer.comparison.CompareSchedules",
        f"{CALLBACK}.run_length_key=steps",
        f"{CALLBACK}.log_scale=true",
    ]
